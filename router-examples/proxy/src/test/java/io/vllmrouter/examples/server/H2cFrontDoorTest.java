package io.vllmrouter.examples.server;

import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2Settings;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.testing.RouterEvents;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The front door's HTTP/2 cleartext (h2c) side, end to end over a raw-socket backend: prior
 * knowledge and the HTTP/1.1 Upgrade, many streams on one connection, events one by one, an answer
 * cut short ending in RST_STREAM (never a clean END_STREAM), a client's RST_STREAM cancelling the
 * upstream request, flow control holding a backend back, GOAWAY on shutdown, and HTTP/1.1 on the
 * same port untouched.
 */
@Timeout(60)
class H2cFrontDoorTest {

    private static final Duration SAFETY = H2TestClient.SAFETY;
    private static final String CHAT = "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private static final String CHAT_STREAM = "{\"model\":\"llama\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    private RawProxy stack;
    private RawBackend backend;
    private VllmRouter router;
    private ProxyServer proxy;
    private H2TestClient client;
    private final RouterEvents events = new RouterEvents();

    @AfterEach
    void tearDown() throws Exception {
        if (client != null) {
            client.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    private void start() throws IOException {
        start(ProxyOptions.DEFAULT_MAX_CONCURRENT_STREAMS);
    }

    private void start(int maxConcurrentStreams) throws IOException {
        stack = RawProxy.start(500, ProxyStack::router, events, o -> o.maxConcurrentStreams(maxConcurrentStreams), SAFETY);
        backend = stack.backend;
        router = stack.router;
        proxy = stack.proxy;
        client = H2TestClient.connect(proxy.port());
    }

    private static void await(CountDownLatch latch) {
        RawBackend.await(latch);
    }

    private static void assertNoConnectionHeaders(Http2Headers h) {
        for (String name : List.of("connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection")) {
            assertThat(h.contains(name)).as("connection-specific header %s on HTTP/2", name).isFalse();
        }
    }

    @Test
    void priorKnowledgeCarriesAPlainChatCompletion() throws Exception {
        start();
        String[] upstreamHead = new String[1];
        backend.script = conn -> {
            upstreamHead[0] = conn.head;
            conn.json("{\"id\":\"chatcmpl-1\",\"choices\":[]}");
        };
        H2TestClient.Stream s = client.post("/v1/chat/completions", CHAT);
        Http2Headers h = s.headers();
        assertThat(h.status().toString()).isEqualTo("200");
        assertThat(h.get("content-type").toString()).startsWith("application/json");
        assertNoConnectionHeaders(h);
        H2TestClient.Body body = s.rest();
        assertThat(body.text()).isEqualTo("{\"id\":\"chatcmpl-1\",\"choices\":[]}");
        assertThat(body.complete()).isTrue();
        // The request went upstream as HTTP/1.1, without this hop's HTTP/2 details.
        assertThat(upstreamHead[0]).startsWith("POST /v1/chat/completions HTTP/1.1");
        assertThat(upstreamHead[0].toLowerCase(Locale.ROOT)).doesNotContain("x-http2").contains("host:");
    }

    @Test
    void theServerAnnouncesItsStreamAndHeaderLimits() throws Exception {
        start(7);
        Http2Settings settings = client.settings.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
        assertThat(settings.maxConcurrentStreams()).isEqualTo(7L);
        assertThat(settings.maxHeaderListSize()).isEqualTo((long) io.vllmrouter.examples.server.config.FrontDoorConfig.DEFAULT.maxHeaderBytes());
    }

    @Test
    void localEndpointsAnswerOnHttp2Too() throws Exception {
        start();
        H2TestClient.Stream s = client.request("GET", "/v1/models", null);
        assertThat(s.headers().status().toString()).isEqualTo("200");
        H2TestClient.Body body = s.rest();
        assertThat(body.text()).contains("\"llama\"");
        assertThat(body.complete()).isTrue();

        H2TestClient.Stream head = client.request("HEAD", "/v1/models", null);
        Http2Headers h = head.headers();
        assertThat(h.status().toString()).isEqualTo("200");
        assertThat(h.getInt("content-length")).isEqualTo(body.text().getBytes(java.nio.charset.StandardCharsets.UTF_8).length);
        H2TestClient.Body none = head.rest();
        assertThat(none.text()).as("no DATA for a HEAD").isEmpty();
        assertThat(none.complete()).isTrue();

        for (String[] refused : new String[][] {{"/nope", "404"}, {"/v1/files/file-1", "405"}}) {
            H2TestClient.Stream e = client.request("HEAD", refused[0], null);
            assertThat(e.headers().status().toString()).as(refused[0]).isEqualTo(refused[1]);
            H2TestClient.Body b = e.rest();
            assertThat(b.text()).as("no DATA for a HEAD's error either").isEmpty();
            assertThat(b.complete()).isTrue();
        }
    }

    @Test
    void upgradeFromHttp11CarriesRequestsOnHttp2() throws Exception {
        start();
        backend.script = conn -> conn.json("{\"id\":\"chatcmpl-2\",\"choices\":[]}");
        HttpClient jdk = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        HttpRequest post = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").timeout(SAFETY)
                .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build();
        for (int i = 0; i < 3; i++) {
            HttpResponse<String> r = jdk.send(post, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.version()).as("request %d", i).isEqualTo(HttpClient.Version.HTTP_2);
            assertThat(r.body()).isEqualTo("{\"id\":\"chatcmpl-2\",\"choices\":[]}");
        }
    }

    @Test
    void anUpgradeWhoseBodyIsLargeIsServedOnHttp11() throws Exception {
        start();
        int[] upstreamBody = {-1};
        backend.script = conn -> {
            upstreamBody[0] = conn.body.length;
            conn.json("{\"id\":\"big\",\"choices\":[]}");
        };
        String big = CHAT.replace("\"hi\"", "\"" + "x".repeat((64 * 1024) + 1) + "\"");
        HttpClient jdk = HttpClient.newBuilder().version(HttpClient.Version.HTTP_2).build();
        HttpRequest post = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").timeout(SAFETY)
                .POST(HttpRequest.BodyPublishers.ofString(big)).build();
        HttpResponse<String> r = jdk.send(post, HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
        assertThat(r.body()).contains("big");
        assertThat(upstreamBody[0]).isEqualTo(big.getBytes(StandardCharsets.UTF_8).length);
    }

    @Test
    void aStreamedCompletionArrivesEventByEvent() throws Exception {
        start();
        int n = 5;
        List<CountDownLatch> seen = RawBackend.latches(n);
        backend.script = RawBackend.eventsOneByOne(seen);
        H2TestClient.Stream s = client.post("/v1/chat/completions", CHAT_STREAM);
        Http2Headers h = s.headers();
        assertThat(h.status().toString()).isEqualTo("200");
        assertThat(h.get("content-type").toString()).startsWith("text/event-stream");
        assertNoConnectionHeaders(h);
        for (int i = 0; i < n; i++) {
            assertThat(s.until("t" + i + "\"")).startsWith("data: ");
            seen.get(i).countDown();
        }
        H2TestClient.Body rest = s.rest();
        assertThat(rest.text()).endsWith("data: [DONE]\n\n");
        assertThat(rest.complete()).isTrue();
    }

    @Test
    void manyStreamsShareOneConnection() throws Exception {
        start();
        int streams = 100;
        CountDownLatch allArrived = new CountDownLatch(streams);
        backend.script = conn -> {
            allArrived.countDown();
            await(allArrived); // every stream is in flight at once before any is answered
            conn.chunkedHead("text/event-stream");
            for (int i = 0; i < 3; i++) {
                conn.event("{\"choices\":[{\"delta\":{\"content\":\"t" + i + "\"}}]}");
            }
            conn.chunk("data: [DONE]\n\n");
            conn.endChunks();
        };
        List<H2TestClient.Stream> open = new ArrayList<>();
        for (int i = 0; i < streams; i++) {
            open.add(client.post("/v1/chat/completions", CHAT_STREAM));
        }
        for (H2TestClient.Stream s : open) {
            assertThat(s.headers().status().toString()).isEqualTo("200");
            H2TestClient.Body body = s.rest();
            assertThat(body.text()).contains("t0").contains("t2").endsWith("data: [DONE]\n\n");
            assertThat(body.complete()).isTrue();
        }
        assertThat(backend.posts.get()).isEqualTo(streams);
    }

    @Test
    void backendFailingMidStreamGivesAnErrorEventThenRstStream() throws Exception {
        start();
        CountDownLatch firstSeen = new CountDownLatch(1);
        backend.script = conn -> {
            conn.chunkedHead("text/event-stream");
            conn.event("{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
            await(firstSeen);
            conn.cut();
        };
        H2TestClient.Stream s = client.post("/v1/chat/completions", CHAT_STREAM);
        assertThat(s.headers().status().toString()).isEqualTo("200");
        assertThat(s.until("Hel")).contains("Hel");
        firstSeen.countDown();
        H2TestClient.Body rest = s.rest();
        assertThat(rest.text())
                .contains("data: {\"error\":")
                .contains("\"type\":\"upstream_error\"")
                .contains("\"code\":502")
                .endsWith("\n\n");
        assertThat(rest.end()).as("the stream must end with RST_STREAM, not END_STREAM")
                .isEqualTo(new H2TestClient.Reset(Http2Error.CANCEL.code()));
        // The connection itself is fine: another stream on it is served.
        backend.script = conn -> conn.json("{\"id\":\"after\",\"choices\":[]}");
        H2TestClient.Stream next = client.post("/v1/chat/completions", CHAT);
        assertThat(next.headers().status().toString()).isEqualTo("200");
        assertThat(next.rest().text()).contains("after");
    }

    @Test
    void clientResettingAStreamCancelsTheUpstreamRequest() throws Exception {
        start();
        CompletableFuture<Void> upstreamClosed = new CompletableFuture<>();
        backend.script = conn -> {
            conn.chunkedHead("text/event-stream");
            conn.event("{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
            conn.awaitPeerClose(); // a generating vLLM learns of the client's leaving only so
            upstreamClosed.complete(null);
        };
        H2TestClient.Stream s = client.post("/v1/chat/completions", CHAT_STREAM);
        assertThat(s.headers().status().toString()).isEqualTo("200");
        s.until("Hel");
        s.reset();
        upstreamClosed.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
        events.await(RouterEvents.RequestComplete.class, e -> e.record().outcome() == RequestOutcome.CANCELLED, SAFETY);
    }

    @Test
    void aStreamThatIsNotReadHoldsItsBackendBack() throws Exception {
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
        // The stream reads nothing, so its flow-control window is never opened again.
        H2TestClient.Stream s = client.request("POST", "/v1/chat/completions", CHAT_STREAM, true);
        long written = stalled.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
        assertThat(written).isLessThan(total);
        assertThat(bufferedWhenStalled[0]).isBetween(0L, 1024L * 1024);
        assertThat(proxy.maxBufferedResponseBytes()).isLessThanOrEqualTo(1024L * 1024);
        // Now it reads everything: nothing was lost, and the stream ends cleanly.
        s.resume();
        assertThat(s.headers().status().toString()).isEqualTo("200");
        long got = 0;
        while (true) {
            Object o = s.next();
            if (o instanceof String text) {
                got += text.getBytes(StandardCharsets.UTF_8).length;
            } else {
                assertThat(o).isEqualTo(H2TestClient.END);
                break;
            }
        }
        assertThat(got).isGreaterThanOrEqualTo(total);
        assertThat(proxy.maxBufferedResponseBytes()).isLessThanOrEqualTo(1024L * 1024);
    }

    @Test
    void stopSendsGoAwayAndLetsStreamsInFlightFinish() throws Exception {
        start();
        CountDownLatch release = new CountDownLatch(1);
        backend.script = conn -> {
            conn.chunkedHead("text/event-stream");
            conn.event("{\"choices\":[{\"delta\":{\"content\":\"Hel\"}}]}");
            await(release);
            conn.chunk("data: [DONE]\n\n");
            conn.endChunks();
        };
        H2TestClient.Stream s = client.post("/v1/chat/completions", CHAT_STREAM);
        assertThat(s.headers().status().toString()).isEqualTo("200");
        s.until("Hel");
        CompletableFuture<Void> stopped = CompletableFuture.runAsync(() -> proxy.stop(SAFETY));
        assertThat(client.goAway.get(SAFETY.toSeconds(), TimeUnit.SECONDS)).isEqualTo(Http2Error.NO_ERROR.code());
        release.countDown();
        H2TestClient.Body rest = s.rest();
        assertThat(rest.text()).endsWith("data: [DONE]\n\n");
        assertThat(rest.complete()).isTrue();
        stopped.get(SAFETY.toSeconds(), TimeUnit.SECONDS);
    }

    @Test
    void http11IsStillServedOnTheSamePort() throws Exception {
        start();
        backend.script = conn -> conn.json("{\"id\":\"chatcmpl-3\",\"choices\":[]}");
        HttpClient jdk = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        HttpRequest post = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + proxy.port() + "/v1/chat/completions"))
                .header("Content-Type", "application/json").timeout(SAFETY)
                .POST(HttpRequest.BodyPublishers.ofString(CHAT)).build();
        for (int i = 0; i < 2; i++) {
            HttpResponse<String> r = jdk.send(post, HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.version()).isEqualTo(HttpClient.Version.HTTP_1_1);
            assertThat(r.body()).isEqualTo("{\"id\":\"chatcmpl-3\",\"choices\":[]}");
        }
        HttpResponse<String> health = jdk.send(HttpRequest.newBuilder(
                URI.create("http://127.0.0.1:" + proxy.port() + "/health")).timeout(SAFETY).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(health.statusCode()).isEqualTo(200);
    }
}
