package io.vllmrouter.examples.server;

import io.vllmrouter.examples.server.upstream.NettyTransport;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.testing.RouterEvents;
import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.config.FrontDoorSettings;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The proxy's front door: read timeouts, header and body-memory limits, protocol errors, client
 * keys and their limits, admin paths; driven with raw sockets where a well-behaved client cannot
 * show the case.
 */
@Timeout(120)
class FrontDoorTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Duration SAFETY = Duration.ofSeconds(20);
    private static final String CHAT = "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private final List<AutoCloseable> closeables = new ArrayList<>();
    private final HttpClient client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private VllmRouter router;
    private ProxyServer proxy;
    private EventLoops loops;
    private int loopThreads = 2;

    @AfterEach
    void tearDown() throws Exception {
        if (proxy != null) {
            proxy.stop(Duration.ZERO);
        }
        if (router != null) {
            router.close();
        }
        if (loops != null) {
            loops.close();
        }
        for (AutoCloseable c : closeables) {
            c.close();
        }
    }

    private FakeVllm backend() throws IOException {
        FakeVllm b = new FakeVllm(List.of(FakeVllm.model("llama", 8192)));
        closeables.add(b);
        return b;
    }

    private void start(UnaryOperator<FrontDoorConfig.Builder> access, FakeVllm backend) throws IOException {
        start(access, c -> c, backend, null);
    }

    private void start(UnaryOperator<FrontDoorConfig.Builder> access, UnaryOperator<RouterConfigBuilder> tweak,
                       FakeVllm backend, String backendKey) throws IOException {
        RouterConfigBuilder config = RouterConfig.builder()
                .healthCheckInterval(Duration.ofSeconds(30))
                .metricsInterval(Duration.ofSeconds(30))
                .modelsRefreshInterval(Duration.ofSeconds(30))
                .maxRetries(0)
                .requestTimeout(Duration.ofSeconds(30))
                .extension(FrontDoorSettings.INSTANCE, access.apply(FrontDoorConfig.builder()).build());
        config.server(new ServerConfig(URI.create(backend.url()), 4, List.of(), backendKey));
        loops = EventLoops.create(loopThreads);
        RouterEvents events = new RouterEvents();
        router = VllmRouters.builder().config(tweak.apply(config).build()).listener(events)
                .transport(NettyTransport.create(loops)).requestScheduler(loops.timers()).build();
        proxy = ProxyServer.start(router, ProxyOptions.builder().host("127.0.0.1").port(0).eventLoops(loops).build());
        events.awaitEligible(router, 1, SAFETY);
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + proxy.port() + path);
    }

    private HttpResponse<String> post(String path, String body, String key, String mode) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(SAFETY)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        if (mode != null) {
            b.header("X-Test-Mode", mode);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> get(String path, String key) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(SAFETY).GET();
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return client.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private static JsonNode assertOpenAiError(int status, String body, int expectedStatus, String code) throws IOException {
        assertThat(status).as(body).isEqualTo(expectedStatus);
        JsonNode e = JSON.readTree(body).get("error");
        assertThat(e).as(body).isNotNull();
        assertThat(e.get("message").asText()).isNotBlank();
        assertThat(e.get("type").asText()).isNotBlank();
        assertThat(e.get("code").asText()).isEqualTo(code);
        return e;
    }

    @Test
    void methodsAreCaseSensitiveSoAnAnswersFramingMatchesWhatTheCodecWrites() throws Exception {
        start(b -> b, backend());
        // "head" is not HEAD (RFC 9110): refused with its body, as many bytes as announced, and the
        // pipelined request after it is read as a request, not as the rest of a body.
        String answer = raw(ascii("head /health HTTP/1.1\r\nHost: x\r\n\r\n"
                + "HEAD /health HTTP/1.1\r\nHost: x\r\n\r\n"
                + "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        List<String> answers = new ArrayList<>();
        int at = 0;
        while (at < answer.length()) {
            int headEnd = answer.indexOf("\r\n\r\n", at) + 4;
            String head = answer.substring(at, headEnd);
            java.util.regex.Matcher m = java.util.regex.Pattern.compile("(?i)content-length: *(\\d+)").matcher(head);
            assertThat(m.find()).as(head).isTrue();
            boolean isHead = answers.size() == 1; // the second request is the real HEAD: no body follows
            int end = headEnd + (isHead ? 0 : Integer.parseInt(m.group(1)));
            answers.add(answer.substring(at, end));
            at = end;
        }
        assertThat(answers).hasSize(3);
        assertThat(status(answers.get(0))).isEqualTo(405);
        assertThat(body(answers.get(0))).contains("method_not_allowed");
        assertThat(status(answers.get(1))).isEqualTo(200);
        assertThat(body(answers.get(1))).isEmpty();
        assertThat(status(answers.get(2))).isEqualTo(200);
        assertThat(body(answers.get(2))).isNotEmpty();
    }

    /** Sends raw bytes and reads until the proxy closes the connection. */
    private String raw(byte[] request) throws IOException {
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout((int) SAFETY.toMillis());
            OutputStream out = s.getOutputStream();
            CompletableFuture<Void> writing = CompletableFuture.runAsync(() -> {
                try {
                    out.write(request);
                    out.flush();
                } catch (IOException e) {
                    // the proxy stopped reading after answering: fine
                }
            }, task -> {
                Thread t = new Thread(task, "raw-writer");
                t.setDaemon(true);
                t.start();
            });
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            writing.cancel(true);
            return answer;
        }
    }

    private static int status(String response) {
        assertThat(response).startsWith("HTTP/1.1 ");
        return Integer.parseInt(response.substring(9, 12));
    }

    private static String body(String response) {
        return response.substring(response.indexOf("\r\n\r\n") + 4);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    @Test
    void aBadChunkSizeIsAnswered400AndTheAnswerIsNotLostToAReset() throws Exception {
        FakeVllm a = backend();
        start(b -> b, a);
        // A bad chunk size, then more than one read's worth of input the proxy will not take: the
        // connection must end after the 400 without a reset that could drop the answer.
        String head = "POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\nzz\r\n";
        byte[] rest = new byte[4 << 20];
        java.util.Arrays.fill(rest, (byte) 'x');
        byte[] request = java.nio.ByteBuffer.allocate(head.length() + rest.length).put(ascii(head)).put(rest).array();
        String answer = raw(request);
        assertThat(status(answer)).isEqualTo(400);
        assertOpenAiError(400, body(answer), 400, "invalid_request");
        assertThat(a.chatRequests.get()).isZero();
    }

    // ---- slow and broken clients --------------------------------------------------------------

    @Test
    void halfOpenConnectionsDoNotDelayOthersAndAreTimedOut() throws Exception {
        FakeVllm a = backend();
        start(b -> b.clientHeaderTimeout(Duration.ofSeconds(2)), a);
        int n = 2000;
        InetSocketAddress address = new InetSocketAddress("127.0.0.1", proxy.port());
        Map<SocketChannel, ByteArrayOutputStream> answers = new HashMap<>();
        try (Selector selector = Selector.open()) {
            for (int i = 0; i < n; i++) {
                SocketChannel ch = SocketChannel.open(address);
                ch.write(ByteBuffer.wrap(ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Le")));
                ch.configureBlocking(false);
                ch.register(selector, SelectionKey.OP_READ);
                answers.put(ch, new ByteArrayOutputStream());
            }

            // A normal request is served while they hang (the request's own timeout would fail it otherwise).
            HttpResponse<String> r = post("/v1/chat/completions", CHAT, null, null);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(a.chatRequests.get()).isEqualTo(1);

            // Each half-open connection gets 408 and is closed by the proxy: wait for every end of stream.
            int open = n;
            ByteBuffer buf = ByteBuffer.allocate(4096);
            while (open > 0) {
                selector.select();
                Iterator<SelectionKey> it = selector.selectedKeys().iterator();
                while (it.hasNext()) {
                    SelectionKey k = it.next();
                    it.remove();
                    SocketChannel ch = (SocketChannel) k.channel();
                    buf.clear();
                    int read;
                    try {
                        read = ch.read(buf);
                    } catch (IOException reset) {
                        read = -1;
                    }
                    if (read > 0) {
                        answers.get(ch).write(buf.array(), 0, read);
                    } else if (read < 0) {
                        k.cancel();
                        ch.close();
                        open--;
                    }
                }
            }
        }
        for (ByteArrayOutputStream answer : answers.values()) {
            String text = answer.toString(StandardCharsets.ISO_8859_1);
            assertThat(status(text)).isEqualTo(408);
            assertThat(JSON.readTree(body(text)).at("/error/code").asText()).isEqualTo("request_timeout");
        }
        assertThat(a.chatRequests.get()).isEqualTo(1);
    }

    @Test
    void truncatedRequestIsNeverForwarded() throws Exception {
        FakeVllm a = backend();
        loopThreads = 1; // one event loop: the closed connections are handled before the request that follows is answered
        start(b -> b, a);
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.getOutputStream().write(ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Content-Length: " + CHAT.length() + "\r\n\r\n" + CHAT.substring(0, 20)));
            s.getOutputStream().flush();
        }
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.getOutputStream().write(ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + "Transfer-Encoding: chunked\r\n\r\n" + Integer.toHexString(CHAT.length()) + "\r\n" + CHAT + "\r\n"));
            s.getOutputStream().flush();
        }
        assertThat(post("/v1/chat/completions", CHAT, null, null).statusCode()).isEqualTo(200);
        // stop() returns once no exchange is in flight: a forwarded request would be answered first.
        proxy.stop(SAFETY);

        assertThat(proxy.activeExchanges()).isZero();
        assertThat(a.chatRequests.get()).isEqualTo(1); // the complete request only
        assertThat(proxy.bufferedBodyBytes()).isZero();
    }

    @Test
    void chunkedBodyWithTrailersIsForwardedWholeAndTheConnectionGoesOn() throws Exception {
        FakeVllm a = backend();
        start(b -> b, a);
        String first = CHAT.substring(0, 25);
        String rest = CHAT.substring(25);
        // More trailers than the decoder's trailer table has slots: they still fit, and are not forwarded.
        String chunked = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Transfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(first.length()) + "\r\n" + first + "\r\n"
                + Integer.toHexString(rest.length()) + "\r\n" + rest + "\r\n"
                + "0\r\nX-T1: a\r\nX-T2: b\r\nX-T3: c\r\nX-T4: d\r\nX-T5: e\r\n\r\n";
        String next = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

        String answer = raw(ascii(chunked + next));

        assertThat(status(answer)).as(answer).isEqualTo(200);
        int second = answer.indexOf("HTTP/1.1 ", 1);
        assertThat(second).as(answer).isPositive();
        assertThat(status(answer.substring(second))).isEqualTo(200); // the next request on the connection
        assertThat(a.chatRequests.get()).isEqualTo(1);
        assertThat(a.lastBody).isEqualTo(CHAT);
    }

    @Test
    void slowBodyIsTimedOutAndNotForwarded() throws Exception {
        FakeVllm a = backend();
        start(b -> b.clientBodyTimeout(Duration.ofSeconds(1)), a);
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout((int) SAFETY.toMillis());
            s.getOutputStream().write(ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"
                    + "Content-Length: " + CHAT.length() + "\r\n\r\n" + CHAT.substring(0, 20)));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

            assertOpenAiError(status(answer), body(answer), 408, "request_timeout");
        }
        assertThat(a.chatRequests.get()).isZero();
    }

    @Test
    void idleKeepAliveConnectionIsClosed() throws Exception {
        start(b -> b.clientIdleTimeout(Duration.ofSeconds(1)), backend());
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout((int) SAFETY.toMillis());
            s.getOutputStream().write(ascii("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);

            assertThat(status(answer)).isEqualTo(200); // answered, then closed once idle
        }
    }

    @Test
    void aRequestSentAfterTheProxyEndedTheConnectionIsNotServed() throws Exception {
        FakeVllm a = backend();
        start(b -> b.clientIdleTimeout(Duration.ofSeconds(1)), a);
        byte[] chat = ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: " + CHAT.length() + "\r\n\r\n" + CHAT);
        try (Socket s = new Socket("127.0.0.1", proxy.port())) {
            s.setSoTimeout((int) SAFETY.toMillis());
            s.getOutputStream().write(chat);
            String answer = new String(s.getInputStream().readAllBytes(), StandardCharsets.ISO_8859_1);
            assertThat(status(answer)).as("answered, then the proxy's end once idle").isEqualTo(200);
            s.getOutputStream().write(chat); // sent on the ended connection, which still reads
            s.getOutputStream().flush();
        }
        // A request on a new connection, after the ended one's bytes arrived, is served as usual.
        assertThat(post("/v1/chat/completions", CHAT, null, null).statusCode()).isEqualTo(200);

        assertThat(a.chatRequests.get()).as("the request after the end was dropped, not forwarded").isEqualTo(2);
    }

    @Test
    void oversizedOrTooManyHeadersGet431() throws Exception {
        start(b -> b.maxHeaderCount(50), backend());
        String big = "x".repeat(1024 * 1024);
        String answer = raw(ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nX-Big: " + big + "\r\n\r\n"));
        assertOpenAiError(status(answer), body(answer), 431, "request_header_fields_too_large");

        StringBuilder many = new StringBuilder("GET /v1/models HTTP/1.1\r\nHost: x\r\n");
        for (int i = 0; i < 200; i++) {
            many.append("X-H").append(i).append(": v\r\n");
        }
        answer = raw(ascii(many.append("\r\n").toString()));
        assertOpenAiError(status(answer), body(answer), 431, "request_header_fields_too_large");
    }

    @Test
    void protocolErrorsAreAnsweredInOpenAisShape() throws Exception {
        FakeVllm a = backend();
        start(b -> b, a);
        String answer = raw(ascii("GET /v1/models HTTP/1.1 extra\r\nHost: x\r\n\r\n"));
        assertOpenAiError(status(answer), body(answer), 400, "invalid_request");
        assertThat(answer).containsIgnoringCase("content-type: application/json").doesNotContain("<html");

        answer = raw(ascii("POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"));
        assertOpenAiError(status(answer), body(answer), 400, "invalid_request");
        assertThat(a.chatRequests.get()).isZero();
    }

    @Test
    void bodyMemoryAcrossConnectionsIsCapped() throws Exception {
        FakeVllm a = backend();
        start(b -> b.maxBufferedBodyBytes(180_000), a); // holds the big body (~150 kB), not a second of 50 kB
        String padding = "x".repeat(150_000);
        String big = "{\"model\":\"llama\",\"pad\":\"" + padding + "\",\"messages\":[]}";
        CompletableFuture<HttpResponse<String>> held = CompletableFuture.supplyAsync(() -> {
            try {
                return post("/v1/chat/completions", big, null, "hang");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, task -> {
            Thread t = new Thread(task, "held-request");
            t.setDaemon(true);
            t.start();
        });
        a.hanging.get(20, TimeUnit.SECONDS); // its body's memory is held until it ends
        String medium = "{\"model\":\"llama\",\"pad\":\"" + "y".repeat(50_000) + "\",\"messages\":[]}";

        HttpResponse<String> refused = post("/v1/chat/completions", medium, null, null);
        assertOpenAiError(refused.statusCode(), refused.body(), 503, "server_overloaded");
        assertThat(refused.headers().firstValue("retry-after")).hasValue("1");
        assertThat(post("/v1/chat/completions", CHAT, null, null).statusCode()).isEqualTo(200); // small bodies fit

        a.release.countDown();
        assertThat(held.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(post("/v1/chat/completions", medium, null, null).statusCode()).isEqualTo(200);
        assertThat(proxy.bufferedBodyBytes()).isZero();
    }

    // ---- keys, limits, admin paths ------------------------------------------------------------

    @Test
    void aRefusedRequestWaitingFor100ContinueHearsTheRefusalAtOnce() throws Exception {
        FakeVllm a = backend();
        start(b -> b.apiKey("sk-good").clientBodyTimeout(Duration.ofSeconds(1)), a);
        String answer = raw(("POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer sk-bad\r\n"
                + "Content-Type: application/json\r\nContent-Length: 20\r\nExpect: 100-continue\r\n\r\n")
                .getBytes(StandardCharsets.US_ASCII)); // the body waits for 100 Continue, which must not come
        assertThat(answer).startsWith("HTTP/1.1 401 ").doesNotContain("100 Continue")
                .containsIgnoringCase("connection: close");
        assertThat(a.chatRequests.get()).as("nothing reached the backend").isZero();
    }

    @Test
    void keysAreRequiredAndNeverForwarded() throws Exception {
        FakeVllm a = backend();
        start(b -> b.apiKey("sk-good"), a);

        HttpResponse<String> none = post("/v1/chat/completions", CHAT, null, null);
        assertOpenAiError(none.statusCode(), none.body(), 401, "invalid_api_key");
        assertThat(JSON.readTree(none.body()).at("/error/type").asText()).isEqualTo("invalid_request_error");
        assertThat(none.headers().firstValue("www-authenticate")).hasValue("Bearer");
        HttpResponse<String> wrong = post("/v1/chat/completions", CHAT, "sk-bad", null);
        assertOpenAiError(wrong.statusCode(), wrong.body(), 401, "invalid_api_key");
        assertThat(a.chatRequests.get()).isZero();

        HttpResponse<String> ok = post("/v1/chat/completions", CHAT, "sk-good", null);
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(a.lastAuthorization).isNull(); // the client's key stays here

        assertThat(get("/health", null).statusCode()).isEqualTo(200);
        assertThat(get("/metrics", null).statusCode()).isEqualTo(401);
        assertThat(get("/load-stats", null).statusCode()).isEqualTo(401);
        assertThat(get("/metrics", "sk-good").statusCode()).isEqualTo(200);
    }

    @Test
    void anAdminKeyOpensTheFleetsFiguresAndNothingElse() throws Exception {
        FakeVllm a = backend();
        start(b -> b.apiKey("sk-client").adminKey("sk-ops"), a);

        assertThat(get("/dashboard", null).statusCode()).as("the page holds no data: open to all").isEqualTo(200);
        for (String figures : List.of("/dashboard/data", "/load-stats", "/metrics", "/")) {
            assertThat(get(figures, null).statusCode()).as(figures + " without a key").isEqualTo(401);
            assertThat(get(figures, "sk-ops").statusCode()).as(figures + " with the admin key").isEqualTo(200);
            assertThat(get(figures, "sk-client").statusCode()).as(figures + " with a client key").isEqualTo(200);
        }
        HttpResponse<String> chat = post("/v1/chat/completions", CHAT, "sk-ops", null);
        assertOpenAiError(chat.statusCode(), chat.body(), 401, "invalid_api_key");
        assertThat(a.chatRequests.get()).as("an admin key is not a client key").isZero();
        assertThat(get("/v1/models", "sk-ops").statusCode()).isEqualTo(401);
    }

    @Test
    void adminKeysAloneProtectTheFiguresAndLeaveTheApiOpen() throws Exception {
        FakeVllm a = backend();
        start(b -> b.adminKey("sk-ops"), a);

        assertThat(get("/load-stats", null).statusCode()).isEqualTo(401);
        assertThat(get("/load-stats", "sk-ops").statusCode()).isEqualTo(200);
        assertThat(post("/v1/chat/completions", CHAT, null, null).statusCode()).isEqualTo(200);
    }

    @Test
    void backendKeyReplacesTheClientsKeyAndStatsCanBeOpen() throws Exception {
        FakeVllm a = backend();
        String digest = java.util.HexFormat.of().formatHex(
                java.security.MessageDigest.getInstance("SHA-256").digest(ascii("sk-hashed")));
        start(b -> b.apiKey("sha256:" + digest).protectStats(false), c -> c, a, "backend-secret");

        assertThat(post("/v1/chat/completions", CHAT, "sk-hashed", null).statusCode()).isEqualTo(200);
        assertThat(a.lastAuthorization).isEqualTo("Bearer backend-secret");
        assertThat(get("/metrics", null).statusCode()).isEqualTo(200);
        assertThat(get("/load-stats", null).statusCode()).isEqualTo(200);
    }

    @Test
    void requestsPerMinuteAndConcurrencyPerKeyGet429() throws Exception {
        FakeVllm a = backend();
        start(b -> b.apiKey("sk-a").apiKey("sk-b").requestsPerMinute(2), a);
        assertThat(post("/v1/chat/completions", CHAT, "sk-a", null).statusCode()).isEqualTo(200);
        assertThat(post("/v1/chat/completions", CHAT, "sk-a", null).statusCode()).isEqualTo(200);

        HttpResponse<String> limited = post("/v1/chat/completions", CHAT, "sk-a", null);
        assertOpenAiError(limited.statusCode(), limited.body(), 429, "rate_limit_exceeded");
        assertThat(Integer.parseInt(limited.headers().firstValue("retry-after").orElseThrow())).isBetween(1, 60);
        assertThat(post("/v1/chat/completions", CHAT, "sk-b", null).statusCode()).isEqualTo(200); // per key
    }

    @Test
    void concurrencyPerKeyGets429() throws Exception {
        FakeVllm a = backend();
        start(b -> b.apiKey("sk-a").maxConcurrent(1), a);
        CompletableFuture<HttpResponse<String>> held = CompletableFuture.supplyAsync(() -> {
            try {
                return post("/v1/chat/completions", CHAT, "sk-a", "hang");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, task -> {
            Thread t = new Thread(task, "held-request");
            t.setDaemon(true);
            t.start();
        });
        a.hanging.get(20, TimeUnit.SECONDS);

        HttpResponse<String> limited = post("/v1/chat/completions", CHAT, "sk-a", null);
        assertOpenAiError(limited.statusCode(), limited.body(), 429, "rate_limit_exceeded");

        a.release.countDown();
        assertThat(held.get(20, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        assertThat(post("/v1/chat/completions", CHAT, "sk-a", null).statusCode()).isEqualTo(200);
    }

    @Test
    void adminPathsAreRefusedUnlessAllowed() throws Exception {
        FakeVllm a = backend();
        start(b -> b, a);
        for (String path : List.of("/v1/load_lora_adapter", "/v1/unload_lora_adapter", "/reset_prefix_cache",
                "/start_profile", "/stop_profile", "/sleep", "/wake_up",
                // the backend decodes these to admin paths: so do the rules
                "/v1/load_lora_%61dapter", "/v1/unload%5Flora_adapter", "/%73leep", "/reset_prefix_cach%65",
                // vLLM's server sends a trailing slash on to the path without it (a redirect)
                "/v1/load_lora_adapter/", "/v1/load_lora_%61dapter/", "/sleep/", "/v1/unload_lora_adapter/?x=1")) {
            HttpResponse<String> r = post(path, "{\"lora_name\":\"x\",\"lora_path\":\"/tmp\"}", null, null);
            assertOpenAiError(r.statusCode(), r.body(), 403, "admin_path_forbidden");
        }
        // vLLM's server drops a fragment from the path and routes what comes before it: refused whole.
        for (String target : List.of("/v1/load_lora_adapter#x", "/v1/unload_lora_adapter#", "/sleep#a/b",
                "/v1/chat/completions?a=1#x",
                // Starlette's route patterns end in "$", which matches before a final newline
                "/v1/load_lora_adapter%0a", "/v1/load_lora_%61dapter%0A", "/sleep%0d%0a")) {
            String answer = raw(ascii("POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                    + "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"));
            assertOpenAiError(status(answer), body(answer), 400, "invalid_path");
        }
        assertThat(a.otherRequests.get()).as("no administration request reached the backend").isZero();
        assertThat(a.chatRequests.get()).isZero();
        proxy.stop(Duration.ZERO);
        router.close();
        loops.close();

        start(b -> b.allowAdminPaths(true), a);
        HttpResponse<String> forwarded = post("/v1/load_lora_adapter", "{}", null, null);
        assertThat(forwarded.body()).isEqualTo("{\"error\":{\"message\":\"not found\"}}"); // FakeVllm's own answer
        assertThat(get("/is_sleeping", null).statusCode()).as("vLLM's /is_sleeping is a GET").isNotEqualTo(405);
        assertThat(get("/server_info", null).statusCode()).as("vLLM's /server_info is a GET").isNotEqualTo(405);
    }
}
