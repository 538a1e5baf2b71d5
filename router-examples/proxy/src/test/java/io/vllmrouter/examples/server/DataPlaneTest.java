package io.vllmrouter.examples.server;

import io.vllmrouter.examples.server.upstream.NettyTransport;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.testing.RouterEvents;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The proxy's data plane end to end, byte by byte: a raw-socket backend ({@link RawBackend}) and a
 * raw-socket client that reads the chunked stream itself, so the tests see exactly what goes over
 * the wire: events one by one, the upstream connection closed when the client leaves, a stream cut
 * short never ending with the chunked terminator, and a client that stops reading holding its
 * backend back instead of filling the proxy's memory.
 */
@Timeout(60)
class DataPlaneTest {

    private static final Duration SAFETY = Duration.ofSeconds(20);
    private static final String CHAT_STREAM = "{\"model\":\"llama\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private RawProxy stack;
    private RawBackend backend;
    private VllmRouter router;
    private ProxyServer proxy;
    private final RouterEvents events = new RouterEvents();

    @AfterEach
    void tearDown() throws Exception {
        if (stack != null) {
            stack.close();
        }
    }

    private void start() throws IOException {
        stack = RawProxy.start(8, this::router, events, o -> o, SAFETY);
        backend = stack.backend;
        router = stack.router;
        proxy = stack.proxy;
    }

    /** The router under test: on the proxy's NettyTransport (the JDK transport in {@link DataPlaneOnJdkTransportTest}). */
    VllmRouter router(RouterConfig config, EventLoops loops, RouterListener listener) {
        return ProxyStack.router(config, loops, listener);
    }

    private static void await(CountDownLatch latch) {
        RawBackend.await(latch);
    }

    @Test
    void eachEventReachesTheClientBeforeTheBackendSendsTheNext() throws Exception {
        start();
        int events = 5;
        List<CountDownLatch> seen = RawBackend.latches(events);
        backend.script = RawBackend.eventsOneByOne(seen);
        try (RawClient client = RawClient.post(proxy.port(), CHAT_STREAM)) {
            assertThat(client.status).isEqualTo(200);
            assertThat(client.headers.get("content-type")).startsWith("text/event-stream");
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < events; i++) {
                while (!text.toString().contains("t" + i + "\"")) {
                    byte[] c = client.nextChunk();
                    assertThat(c).as("event %d", i).isNotNull();
                    text.append(new String(c, StandardCharsets.UTF_8));
                }
                seen.get(i).countDown();
            }
            while (true) {
                byte[] c = client.nextChunk();
                if (c == null) {
                    break; // the terminator: a complete stream
                }
                text.append(new String(c, StandardCharsets.UTF_8));
            }
            assertThat(text.toString()).endsWith("data: [DONE]\n\n");
        }
    }

    @Test
    void clientLeavingMidStreamClosesTheUpstreamConnection() throws Exception {
        start();
        CompletableFuture<Void> upstreamClosed = new CompletableFuture<>();
        backend.script = conn -> {
            conn.chunkedHead("text/event-stream");
            conn.event("{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
            conn.awaitPeerClose(); // a generating vLLM: it learns of the client's leaving only so
            upstreamClosed.complete(null);
        };
        try (RawClient client = RawClient.post(proxy.port(), CHAT_STREAM)) {
            assertThat(client.nextChunk()).isNotNull();
        }
        upstreamClosed.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
        events.await(RouterEvents.RequestComplete.class, e -> e.record().outcome() == RequestOutcome.CANCELLED, SAFETY);
    }

    @Test
    void backendFailingMidStreamGivesAnErrorEventAndNoTerminator() throws Exception {
        start();
        CountDownLatch firstSeen = new CountDownLatch(1);
        backend.script = conn -> {
            conn.chunkedHead("text/event-stream");
            conn.event("{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
            await(firstSeen);
            conn.cut();
        };
        try (RawClient client = RawClient.post(proxy.port(), CHAT_STREAM)) {
            assertThat(new String(client.nextChunk(), StandardCharsets.UTF_8)).contains("Hel");
            firstSeen.countDown();
            StringBuilder rest = new StringBuilder();
            assertThatThrownBy(() -> {
                while (true) {
                    byte[] c = client.nextChunk();
                    if (c == null) {
                        rest.append("<terminator>");
                        return;
                    }
                    rest.append(new String(c, StandardCharsets.UTF_8));
                }
            }).as("the stream must end without the chunked terminator").isInstanceOf(EOFException.class);
            assertThat(rest.toString())
                    .contains("data: {\"error\":")
                    .contains("\"type\":\"upstream_error\"")
                    .contains("\"code\":502")
                    .endsWith("\n\n")
                    .doesNotContain("<terminator>");
        }
    }

    @Test
    void aPlainAnswerKeepsTheBackendsLengthInsteadOfChunks() throws Exception {
        start();
        String answer = "{\"id\":\"chatcmpl-1\",\"choices\":[]}";
        backend.script = conn -> conn.json(answer);
        try (RawClient client = RawClient.post(proxy.port(), CHAT_STREAM.replace("true", "false"))) {
            assertThat(client.headers).containsEntry("content-length", String.valueOf(answer.length()))
                    .doesNotContainKey("transfer-encoding");
            assertThat(new String(client.body(answer.length()), StandardCharsets.UTF_8)).isEqualTo(answer);
        }
    }

    @Test
    void aPlainAnswerThatFailsBeforeAnyOfItsBodyIsTheRouters502NotABareClose() throws Exception {
        start();
        backend.script = conn -> {
            conn.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n");
            conn.cut(); // not a byte of the body
        };
        try (RawClient client = RawClient.post(proxy.port(), CHAT_STREAM.replace("true", "false"))) {
            assertThat(client.status).isEqualTo(502);
            assertThat(client.headers).containsEntry("connection", "close");
            String body = new String(client.body(Integer.parseInt(client.headers.get("content-length"))), StandardCharsets.UTF_8);
            assertThat(body).contains("\"code\":\"upstream_error\"").doesNotContain("chatcmpl");
        }
    }

    @Test
    void aBodyFramedByLengthThatEndsShortIsAbortedShortOfTheLength() throws Exception {
        start();
        CountDownLatch firstSeen = new CountDownLatch(1);
        backend.script = conn -> {
            conn.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n");
            conn.write("{\"id\":\"chatcmpl-1\",");
            await(firstSeen);
            conn.cut();
        };
        try (RawClient client = RawClient.post(proxy.port(), CHAT_STREAM.replace("true", "false"))) {
            assertThat(client.headers).containsEntry("content-length", "100");
            assertThat(new String(client.body(19), StandardCharsets.UTF_8)).isEqualTo("{\"id\":\"chatcmpl-1\",");
            firstSeen.countDown();
            assertThat(client.body(81)).as("the connection ends short of the announced length").isEmpty();
        }
    }

    @Test
    void backendFailingMidBodyAbortsAPlainResponse() throws Exception {
        start();
        CountDownLatch firstSeen = new CountDownLatch(1);
        backend.script = conn -> {
            conn.chunkedHead("application/json");
            conn.chunk("{\"id\":\"chatcmpl-1\",");
            await(firstSeen);
            conn.cut();
        };
        try (RawClient client = RawClient.post(proxy.port(), CHAT_STREAM.replace("true", "false"))) {
            assertThat(new String(client.nextChunk(), StandardCharsets.UTF_8)).startsWith("{\"id\"");
            firstSeen.countDown();
            assertThatThrownBy(() -> {
                while (client.nextChunk() != null) {
                    // nothing else may come but the end of the connection
                }
            }).isInstanceOf(EOFException.class);
        }
    }

    @Test
    void aClientThatStopsReadingHoldsItsBackendBack() throws Exception {
        start();
        long total = 32L * 1024 * 1024;
        CompletableFuture<Long> stalled = new CompletableFuture<>();
        long[] bufferedWhenStalled = {-1};
        backend.script = conn -> {
            conn.chunkedHead("text/event-stream");
            conn.flood(total, 16 * 1024, written -> {
                if (!stalled.isDone()) {
                    bufferedWhenStalled[0] = proxy.bufferedResponseBytes();
                    stalled.complete(written);
                }
            });
        };
        try (RawClient client = RawClient.post(proxy.port(), CHAT_STREAM, 64 * 1024)) {
            // The client reads nothing: the backend must reach a point where its socket takes no more.
            long written = stalled.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
            assertThat(written).isLessThan(total);
            assertThat(bufferedWhenStalled[0]).isBetween(0L, 1024L * 1024);
            assertThat(proxy.maxBufferedResponseBytes()).isLessThanOrEqualTo(1024L * 1024);
            // Now it reads everything: nothing was lost or reordered, and the stream ends cleanly.
            long got = 0;
            byte[] c;
            while ((c = client.nextChunk()) != null) {
                got += c.length;
            }
            assertThat(got).isGreaterThanOrEqualTo(total);
        }
        assertThat(proxy.maxBufferedResponseBytes()).isLessThanOrEqualTo(1024L * 1024);
    }

    @Test
    void aPlainAnswerInPiecesLeavesItsHeadWithItsFirstPiece() throws Exception {
        start();
        CountDownLatch headSeen = new CountDownLatch(1);
        backend.script = conn -> {
            conn.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 23\r\n\r\n");
            conn.write("{\"part\":1,");
            await(headSeen); // the rest only once the client has the head and the first piece
            conn.write("\"end\":true}  ");
        };
        try (RawClient client = RawClient.post(proxy.port(), "{\"model\":\"llama\",\"messages\":[]}")) {
            assertThat(client.status).isEqualTo(200);
            assertThat(client.headers.get("content-length")).isEqualTo("23");
            assertThat(new String(client.body(10), StandardCharsets.UTF_8)).isEqualTo("{\"part\":1,");
            headSeen.countDown();
            assertThat(new String(client.body(13), StandardCharsets.UTF_8)).isEqualTo("\"end\":true}  ");
        }
    }

    /** A client on a raw socket that reads the response's chunked framing itself. */
    static final class RawClient implements AutoCloseable {
        final Socket socket;
        final InputStream in;
        int status;
        final Map<String, String> headers = new LinkedHashMap<>();

        private RawClient(Socket socket) throws IOException {
            this.socket = socket;
            this.in = new java.io.BufferedInputStream(socket.getInputStream(), 1024);
        }

        static RawClient post(int port, String json) throws IOException {
            return post(port, json, -1);
        }

        static RawClient post(int port, String json, int receiveBuffer) throws IOException {
            Socket s = new Socket();
            if (receiveBuffer > 0) {
                s.setReceiveBufferSize(receiveBuffer);
            }
            s.connect(new java.net.InetSocketAddress("127.0.0.1", port));
            s.setSoTimeout((int) SAFETY.toMillis());
            RawClient c = new RawClient(s);
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            OutputStream out = s.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.write(body);
            out.flush();
            String statusLine = c.line();
            c.status = Integer.parseInt(statusLine.substring(9, 12));
            String h;
            while (!(h = c.line()).isEmpty()) {
                int colon = h.indexOf(':');
                c.headers.put(h.substring(0, colon).trim().toLowerCase(Locale.ROOT), h.substring(colon + 1).trim());
            }
            if (c.headers.containsKey("content-length")) {
                return c; // framed by length: read with body(n)
            }
            assertThat(c.headers.get("transfer-encoding")).isEqualTo("chunked");
            return c;
        }

        /** Up to {@code n} bytes of a body framed by its length: fewer when the connection ends first. */
        byte[] body(int n) throws IOException {
            return in.readNBytes(n);
        }

        private String line() throws IOException {
            ByteArrayOutputStream b = new ByteArrayOutputStream();
            int ch;
            while ((ch = in.read()) != '\n') {
                if (ch < 0) {
                    throw new EOFException("connection closed mid-line");
                }
                if (ch != '\r') {
                    b.write(ch);
                }
            }
            return b.toString(StandardCharsets.ISO_8859_1);
        }

        /** The next chunk's data; null at the zero-length terminator; EOFException when the connection ends first. */
        byte[] nextChunk() throws IOException {
            String size = line();
            int n = Integer.parseInt(size.split(";")[0].trim(), 16);
            if (n == 0) {
                line(); // the blank line after the terminator
                return null;
            }
            byte[] data = in.readNBytes(n);
            if (data.length < n) {
                throw new EOFException("connection closed mid-chunk");
            }
            line();
            return data;
        }

        @Override
        public void close() throws IOException {
            socket.close();
        }
    }
}
