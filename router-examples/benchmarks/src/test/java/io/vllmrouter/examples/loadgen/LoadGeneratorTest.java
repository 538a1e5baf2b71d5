package io.vllmrouter.examples.loadgen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The load generator against a tiny local server whose answers it can count. */
class LoadGeneratorTest {

    /** Events per stream before [DONE]. */
    static final int EVENTS = 5;

    HttpServer server;
    ExecutorService executor;
    HttpClient client;
    final AtomicInteger served = new AtomicInteger();

    @BeforeEach
    void start() throws IOException {
        executor = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "loadgen-test-server");
            t.setDaemon(true);
            return t;
        });
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        client = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
    }

    @AfterEach
    void stop() throws InterruptedException {
        server.stop(0);
        executor.shutdownNow();
        executor.awaitTermination(5, TimeUnit.SECONDS);
    }

    /**
     * {@code /sse}: {@value #EVENTS} events, each flushed on its own, every other one ended by CRLF
     * pairs, then {@code [DONE]} (so EVENTS + 1 events in all); {@code /plain}: a JSON body;
     * {@code /fail}: 500.
     */
    private void handle(HttpExchange ex) throws IOException {
        try (ex) {
            ex.getRequestBody().readAllBytes();
            served.incrementAndGet();
            switch (ex.getRequestURI().getPath()) {
                case "/sse" -> {
                    ex.getResponseHeaders().set("Content-Type", "text/event-stream");
                    ex.sendResponseHeaders(200, 0);
                    OutputStream out = ex.getResponseBody();
                    for (int i = 0; i < EVENTS; i++) {
                        String end = i % 2 == 0 ? "\n\n" : "\r\n\r\n";
                        out.write(("data: {\"n\":" + i + "}" + end).getBytes(StandardCharsets.UTF_8));
                        out.flush();
                    }
                    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                }
                case "/plain" -> {
                    byte[] b = "{\"choices\":[]}\n\n{}".getBytes(StandardCharsets.UTF_8);
                    ex.sendResponseHeaders(200, b.length);
                    ex.getResponseBody().write(b);
                }
                default -> ex.sendResponseHeaders(500, -1);
            }
        }
    }

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    private LoadGenerator.Result run(String path, boolean stream, int concurrency) throws InterruptedException {
        return LoadGenerator.run(path, client, uri(path), "{}".getBytes(StandardCharsets.UTF_8), stream, concurrency,
                // A measured second: on a busy 2-core machine a cold JVM's first exchanges took longer
                // than the 300 ms this was, and the window held no completed request.
                Duration.ofMillis(200), Duration.ofMillis(1000));
    }

    @Test
    void countsStreamsAndTheirEvents() throws InterruptedException {
        LoadGenerator.Result r = run("/sse", true, 3);

        assertThat(r.requests()).isPositive();
        assertThat(r.errors()).isZero();
        assertThat(r.events()).isEqualTo(r.requests() * (EVENTS + 1));
        assertThat(r.latency().getTotalCount()).isEqualTo(r.requests());
        assertThat(r.ttfb().getTotalCount()).isEqualTo(r.requests());
        assertThat(r.firstEvent().getTotalCount()).isEqualTo(r.requests());
        // Gaps are recorded while reading, for every measured request, including the (at most
        // one per client) that ends after the window and is then not counted as a request.
        assertThat(r.eventGap().getTotalCount()).isBetween(r.requests() * EVENTS, (r.requests() + 3) * EVENTS);
        // The server also saw the warm-up requests and those cut off at the end.
        assertThat((long) served.get()).isGreaterThan(r.requests());
        assertThat(r.seconds()).isEqualTo(1.0);
        assertThat(r.throughput()).isEqualTo(r.requests() / 1.0);
    }

    @Test
    void plainAnswersHaveNoEventFigures() throws InterruptedException {
        LoadGenerator.Result r = run("/plain", false, 2);

        assertThat(r.requests()).isPositive();
        assertThat(r.errors()).isZero();
        assertThat(r.events()).isZero();
        assertThat(r.latency().getTotalCount()).isEqualTo(r.requests());
        assertThat(r.firstEvent().getTotalCount()).isZero();
        assertThat(LoadGenerator.Result.ms(r.firstEvent(), 50)).isNaN();
        assertThat(LoadGenerator.Result.ms(r.latency(), 50)).isPositive();
    }

    @Test
    void non2xxAnswersAreErrorsNotRequests() throws InterruptedException {
        LoadGenerator.Result r = run("/fail", false, 2);

        assertThat(r.requests()).isZero();
        assertThat(r.errors()).isPositive();
        assertThat(r.latency().getTotalCount()).isZero();
    }

    @Test
    void refusesZeroClients() {
        assertThatThrownBy(() -> run("/plain", false, 0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("concurrency: 0 (expected: >= 1)");
    }

    @Test
    void sseLinesSeesEveryEventAndTheEnd() throws Exception {
        HttpRequest req = HttpRequest.newBuilder(uri("/sse")).POST(HttpRequest.BodyPublishers.ofString("{}")).build();

        HttpResponse<SseLines> response = client.sendAsync(req, SseLines.handler()).get(10, TimeUnit.SECONDS);

        SseLines s = response.body();
        assertThat(s.events()).isEqualTo(EVENTS + 1);
        assertThat(s.done()).isTrue();
        assertThat(s.error()).isNull();
        assertThat(s.firstEventNanos()).isPositive().isLessThanOrEqualTo(s.lastEventNanos());
    }

    @Test
    void sseLinesNoticesAStreamWithoutDone() throws Exception {
        HttpRequest req = HttpRequest.newBuilder(uri("/plain")).POST(HttpRequest.BodyPublishers.ofString("{}")).build();

        SseLines s = client.sendAsync(req, SseLines.handler()).get(10, TimeUnit.SECONDS).body();

        assertThat(s.done()).isFalse();
        assertThat(s.events()).isZero();
        assertThat(s.firstEventNanos()).isEqualTo(-1);
    }
}
