package io.vllmrouter.examples.server;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.RouterEvents;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
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
                     r -> r.listener(events), o -> o.cutStreamGrace(Duration.ZERO))) {
            events.awaitUntil("the backend's model is known", () -> stack.router.models().size() == 1, Duration.ofSeconds(20));
            String body = "{\"model\":\"m\",\"stream\":true,\"user\":\"never-read\",\"max_tokens\":1000000,"
                    + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}";
            try (Socket s = new Socket()) {
                s.setReceiveBufferSize(4096);
                s.connect(new InetSocketAddress("127.0.0.1", stack.port()));
                s.setSoTimeout(30_000);
                s.getOutputStream().write(("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                        + "Content-Type: application/json\r\nx-fault: ok\r\nx-interval-ms: 0\r\n"
                        + "Content-Length: " + body.length() + "\r\n\r\n" + body).getBytes(StandardCharsets.ISO_8859_1));
                s.getOutputStream().flush();
                // Nothing read until the deadline cut the stream (the backend sends ~700-byte events
                // without pause, so the socket's buffers are full and a write is under way).
                events.await(RouterEvents.RequestComplete.class, e -> e.record().outcome() == RequestOutcome.TIMEOUT,
                        Duration.ofSeconds(20));

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
}
