package io.vllmrouter.examples.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.config.FrontDoorSettings;
import io.vllmrouter.testing.RouterEvents;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A client that reads nothing of a stream the router cuts: what it finds when it reads at last is
 * an error (its connection reset), or the whole error event and then the end; never an end in the
 * middle of an event, which is what a close leaves when the socket had taken part of an event.
 */
@Timeout(60)
class CutStreamNeverReadTest {

    @Test
    void aClientThatReadNothingReadsAResetOrTheErrorEventNeverAnEndInsideAnEvent() throws Exception {
        RouterEvents events = new RouterEvents();
        try (FaultBackend backend = new FaultBackend();
             ProxyStack stack = ProxyStack.start(RouterConfig.builder().requestTimeout(Duration.ofSeconds(1))
                             .server(new ServerConfig(backend.url(), 8)).build(),
                     r -> r.listener(events), o -> o.closeGrace(Duration.ZERO))) {
            events.awaitUntil("the backend's model is known", () -> stack.router.models().size() == 1, Duration.ofSeconds(20));
            try (Socket s = new Socket()) {
                s.setReceiveBufferSize(4096);
                askForStream(s, stack.port(), "never-read", 1_000_000, "x-fault: ok\r\nx-interval-ms: 0\r\n");
                // Nothing read until the deadline cut the stream (the backend sends ~700-byte events
                // without pause, so the socket's buffers are full and a write is under way).
                events.await(RouterEvents.RequestComplete.class, e -> e.record().outcome() == RequestOutcome.TIMEOUT,
                        Duration.ofSeconds(20));
                assertThat(stack.router.stats().servers().get(0).requests().failed())
                        .as("the backend waited on a client that read nothing: not its failure").isZero();

                ByteArrayOutputStream got = new ByteArrayOutputStream();
                IOException failure = null;
                try {
                    InputStream in = s.getInputStream();
                    byte[] buf = new byte[64 * 1024];
                    for (int n; (n = in.read(buf)) >= 0; ) {
                        got.write(buf, 0, n);
                    }
                } catch (java.net.SocketException e) {
                    failure = e;
                }
                String text = got.toString(StandardCharsets.ISO_8859_1);
                if (failure == null) {
                    assertThat(text).startsWith("HTTP/1.1 200");
                    assertThat(text.stripTrailing()).as("a clean end comes only after the whole error event")
                            .endsWith("}").contains("The answer was cut short");
                } else {
                    // what the socket still held may come first, or not at all: the reset is what counts
                    assertThat(failure.getMessage()).containsIgnoringCase("reset");
                }
            }
        }
    }

    /**
     * A client that neither reads nor closes, although everything, the error event included, left
     * the router: its connection is reset once the grace is over, rather than closed with the
     * kernel keeping it (and what the client has not taken) for as long as the client holds on.
     */
    @Test
    void aClientThatNeitherReadsNorClosesIsResetAfterTheGrace() throws Exception {
        RouterEvents events = new RouterEvents();
        ResetLog resets = new ResetLog();
        try (FaultBackend backend = new FaultBackend();
             ProxyStack stack = ProxyStack.start(RouterConfig.builder().requestTimeout(Duration.ofSeconds(2))
                             .firstTokenTimeout(Duration.ofSeconds(1)) // silent for longer at the deadline: stalled
                             .server(new ServerConfig(backend.url(), 8)).build(),
                     r -> r.listener(events), o -> o.closeGrace(Duration.ofMillis(500)));
             Socket s = new Socket()) {
            events.awaitUntil("the backend's model is known", () -> stack.router.models().size() == 1, Duration.ofSeconds(20));
            // Four small events, then the backend stalls until the deadline cuts the stream: all of
            // it fits in the client's socket, so the error event's write completes.
            askForStream(s, stack.port(), "holds-on", 8, "x-fault: stall\r\n");
            events.await(RouterEvents.RequestComplete.class, e -> e.record().outcome() == RequestOutcome.TIMEOUT,
                    Duration.ofSeconds(20));
            assertThat(stack.router.stats().servers().get(0).requests().failed())
                    .as("the backend stalled while the proxy asked for more: its failure").isEqualTo(1);

            assertThat(resets.await("a cut stream")).as("the connection reset after the grace").isTrue();
            // What the client holds is still its own to read: the events and the error event, no end.
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            InputStream in = s.getInputStream();
            byte[] buf = new byte[64 * 1024];
            try {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    got.write(buf, 0, n);
                }
            } catch (java.net.SocketException e) {
                assertThat(e.getMessage()).containsIgnoringCase("reset");
            }
            String text = got.toString(StandardCharsets.ISO_8859_1);
            assertThat(text).startsWith("HTTP/1.1 200").contains("holds-on").contains("The answer was cut short")
                    .doesNotContain("[DONE]").doesNotEndWith("0\r\n\r\n");
        } finally {
            resets.close();
        }
    }

    /**
     * An HTTP/2 client that stops reading while its stream runs: the stream is cut at the deadline,
     * and once the connection has been idle for {@code client_idle_timeout} it gets a GOAWAY and the
     * proxy's end, and is reset when it has not closed by the grace. A client that reads closes its
     * end on the proxy's, and is not reset.
     */
    @Test
    void anHttp2ClientThatStopsReadingIsResetOnceIdleAndOneThatReadsIsNot() throws Exception {
        RouterEvents events = new RouterEvents();
        ResetLog resets = new ResetLog();
        FrontDoorConfig door = FrontDoorConfig.builder().clientIdleTimeout(Duration.ofSeconds(1)).build();
        try (FaultBackend backend = new FaultBackend();
             ProxyStack stack = ProxyStack.start(RouterConfig.builder().requestTimeout(Duration.ofSeconds(1))
                             .extension(FrontDoorSettings.INSTANCE, door)
                             .server(new ServerConfig(backend.url(), 8)).build(),
                     r -> r.listener(events), o -> o.closeGrace(Duration.ofSeconds(1)));
             H2TestClient deaf = H2TestClient.connect(stack.port())) {
            events.awaitUntil("the backend's model is known", () -> stack.router.models().size() == 1, Duration.ofSeconds(20));
            deaf.settings.get(20, TimeUnit.SECONDS);
            deaf.post("/v1/chat/completions", streamRequest("deaf", 1_000_000));
            deaf.stopReading();
            events.await(RouterEvents.RequestComplete.class, e -> e.record().outcome() == RequestOutcome.TIMEOUT,
                    Duration.ofSeconds(20));
            int readerPort;
            try (H2TestClient reader = H2TestClient.connect(stack.port())) {
                readerPort = reader.localPort();
                H2TestClient.Stream health = reader.request("GET", "/health", null);
                assertThat(health.headers().status().toString()).isEqualTo("200");
                assertThat(reader.closed().await(20, TimeUnit.SECONDS)).as("the reader's connection ended once idle").isTrue();
                assertThat(reader.goAway).as("told first").isCompletedWithValue(0L);
            }
            assertThat(resets.await(deaf.localPort(), "idle for client_idle_timeout"))
                    .as("the deaf client's connection reset").isTrue();
            deaf.readAgain();
            assertThat(deaf.closed().await(20, TimeUnit.SECONDS)).as("reading again, it finds its connection ended").isTrue();
            assertThat(resets.reset(readerPort)).as("a client that read the end closed its own: no reset").isFalse();
            assertThat(resets.count()).isEqualTo(1);
        } finally {
            resets.close();
        }
    }

    /** An HTTP/1.1 keep-alive client that reads nothing of its answer is reset once idle, past the grace. */
    @Test
    void anHttp1ClientThatReadsNothingIsResetOnceIdle() throws Exception {
        ResetLog resets = new ResetLog();
        FrontDoorConfig door = FrontDoorConfig.builder().clientIdleTimeout(Duration.ofSeconds(1)).build();
        try (FaultBackend backend = new FaultBackend();
             ProxyStack stack = ProxyStack.start(RouterConfig.builder().extension(FrontDoorSettings.INSTANCE, door)
                     .server(new ServerConfig(backend.url(), 8)).build(), r -> { }, o -> o.closeGrace(Duration.ofMillis(500)));
             Socket s = new Socket("127.0.0.1", stack.port())) {
            s.setSoTimeout(30_000);
            s.getOutputStream().write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
            assertThat(resets.await(s.getLocalPort(), "idle for client_idle_timeout")).isTrue();
            try {
                String got = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
                assertThat(got).as("its answer was still its own to read, before the end").startsWith("HTTP/1.1 200");
            } catch (java.net.SocketException reset) {
                assertThat(reset.getMessage()).containsIgnoringCase("reset");
            }
        } finally {
            resets.close();
        }
    }

    /** A streamed chat request for {@code user} of {@code events} events (FaultBackend's {@code max_tokens}). */
    private static String streamRequest(String user, int events) {
        return "{\"model\":\"m\",\"stream\":true,\"user\":\"" + user + "\",\"max_tokens\":" + events
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
    }

    /** Connects {@code s} and asks for a stream of {@code events} events (FaultBackend's {@code max_tokens}) for request {@code user}. */
    private static void askForStream(Socket s, int port, String user, int events, String faultHeaders) throws IOException {
        String body = streamRequest(user, events);
        s.connect(new InetSocketAddress("127.0.0.1", port));
        s.setSoTimeout(30_000);
        s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                + "Content-Type: application/json\r\n" + faultHeaders
                + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.ISO_8859_1));
        s.getOutputStream().flush();
    }
}
