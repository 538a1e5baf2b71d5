package io.vllmrouter.core;

import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Streams through a tiny real server: events pass one by one, caller cancels reach the backend. */
class StreamingTest {

    private static final byte[] STREAM_REQ = "{\"model\":\"llama\",\"stream\":true}".getBytes(StandardCharsets.UTF_8);

    private HttpServer server;
    private ExecutorService serverPool;
    private DefaultVllmRouter router;
    private final List<RouterListener.RequestRecord> records = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        if (server != null) {
            server.stop(0);
        }
        if (serverPool != null) {
            serverPool.shutdownNow();
        }
    }

    private String startServer(com.sun.net.httpserver.HttpHandler handler, int threads) throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 1024);
        serverPool = Executors.newFixedThreadPool(threads);
        server.setExecutor(serverPool);
        server.createContext("/", handler);
        server.start();
        return "http://127.0.0.1:" + server.getAddress().getPort();
    }

    private void router(String url) {
        router = VllmRouters.builder()
                .config(RouterConfig.builder()
                        .server(new ServerConfig(URI.create(url), 8, List.of(), null))
                        .enableActiveHealthCheck(false)
                        .build())
                .strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe())
                .listener(new RouterListener() {
                    @Override
                    public void onRequestComplete(RequestRecord r) {
                        records.add(r);
                    }
                })
                .buildRouter();
    }

    private static void sseHeaders(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().add("Content-Type", "text/event-stream");
        ex.sendResponseHeaders(200, 0);
    }

    private static void event(OutputStream out, String data) throws IOException {
        out.write(("data: " + data + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @Test
    void firstEventReachesTheCallerWhileTheBackendIsStillGenerating() throws Exception {
        CountDownLatch firstRead = new CountDownLatch(1);
        String url = startServer(ex -> {
            ex.getRequestBody().readAllBytes();
            sseHeaders(ex);
            try (OutputStream out = ex.getResponseBody()) {
                event(out, "{\"token\":\"Hello\"}");
                if (!firstRead.await(10, TimeUnit.SECONDS)) {
                    return; // the router buffered: the caller never saw the first event in time
                }
                event(out, "[DONE]");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, 4);
        router(url);

        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", STREAM_REQ).build())) {
            assertThat(r.isEventStream()).isTrue();
            BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
            assertThat(reader.readLine()).isEqualTo("data: {\"token\":\"Hello\"}");
            firstRead.countDown();
            assertThat(reader.readLine()).isEmpty();
            assertThat(reader.readLine()).isEqualTo("data: [DONE]");
            assertThat(reader.readLine()).isEmpty();
            assertThat(reader.readLine()).isNull();
        }
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.SUCCESS);
            assertThat(rec.stream()).isTrue();
            assertThat(rec.model()).isEqualTo("llama");
        });
        assertThat(router.stats().servers().get(0).inFlight()).isZero();
    }

    @Test
    void callerClosingMidStreamEndsTheUpstreamRequest() throws Exception {
        CompletableFuture<Throwable> upstreamEnded = new CompletableFuture<>();
        String url = startServer(ex -> {
            ex.getRequestBody().readAllBytes();
            sseHeaders(ex);
            OutputStream out = ex.getResponseBody();
            try {
                // generates until its write fails; without the cancel it would block once buffers fill
                for (long i = 0; ; i++) {
                    event(out, "{\"token\":" + i + "}");
                }
            } catch (IOException e) {
                upstreamEnded.complete(e);
            } finally {
                ex.close();
            }
        }, 4);
        router(url);

        RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", STREAM_REQ).build());
        BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
        assertThat(reader.readLine()).isEqualTo("data: {\"token\":0}");
        r.close();

        Throwable writeFailure = upstreamEnded.get(20, TimeUnit.SECONDS);
        assertThat(writeFailure).as("the backend's write failed because the router cancelled").isInstanceOf(IOException.class);
        assertThat(records).singleElement().satisfies(rec -> {
            assertThat(rec.outcome()).isEqualTo(RequestOutcome.CANCELLED);
            assertThat(rec.status()).isEqualTo(499);
        });
        var stats = router.stats().servers().get(0);
        assertThat(stats.inFlight()).isZero();
        assertThat(stats.requests().failed()).as("a caller's cancel is not the backend's fault").isZero();
    }

    @Test
    void fiveHundredConcurrentStreamsAllComplete() throws Exception {
        int events = 20;
        String url = startServer(ex -> {
            ex.getRequestBody().readAllBytes();
            sseHeaders(ex);
            try (OutputStream out = ex.getResponseBody()) {
                for (int i = 0; i < events; i++) {
                    event(out, "{\"token\":" + i + "}");
                }
                event(out, "[DONE]");
            }
        }, 64);
        router(url);

        int n = 500;
        ExecutorService callers = Executors.newFixedThreadPool(100);
        try {
            List<CompletableFuture<Integer>> results = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                results.add(router.routeAsync(RouterRequest.post("/v1/chat/completions", STREAM_REQ).build())
                        .thenApplyAsync(r -> {
                            try (r) {
                                BufferedReader reader = new BufferedReader(
                                        new InputStreamReader(r.body(), StandardCharsets.UTF_8));
                                int count = 0;
                                String line;
                                while ((line = reader.readLine()) != null) {
                                    if (line.startsWith("data: ")) {
                                        count++;
                                    }
                                }
                                return count;
                            } catch (IOException e) {
                                throw new java.io.UncheckedIOException(e);
                            }
                        }, callers));
            }
            CompletableFuture.allOf(results.toArray(CompletableFuture[]::new)).get(60, TimeUnit.SECONDS);
            for (CompletableFuture<Integer> f : results) {
                assertThat(f.join()).isEqualTo(events + 1);
            }
        } finally {
            callers.shutdownNow();
        }
        assertThat(records).hasSize(n).allSatisfy(rec -> assertThat(rec.outcome()).isEqualTo(RequestOutcome.SUCCESS));
        var stats = router.stats().servers().get(0);
        assertThat(stats.inFlight()).isZero();
        assertThat(stats.requests().succeeded()).isEqualTo(n);
    }

    /** A server that sends one event, a second once {@code more} opens, then nothing until {@code release}. */
    private String stallingServer(CountDownLatch more, CountDownLatch release) throws IOException {
        return startServer(ex -> {
            ex.getRequestBody().readAllBytes();
            sseHeaders(ex);
            try (OutputStream out = ex.getResponseBody()) {
                event(out, "first");
                if (more.await(10, TimeUnit.SECONDS)) {
                    event(out, "second");
                }
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (IOException ignored) {
                // the router cancelled
            }
        }, 4);
    }

    /** A router on {@code clock} in front of {@code url}, with a 30 s request timeout, recording each request. */
    private void routerOnClock(String url, io.vllmrouter.testing.FakeClock clock) {
        router = VllmRouters.builder()
                .config(RouterConfig.builder().server(new ServerConfig(URI.create(url), 8, List.of(), null))
                        .enableActiveHealthCheck(false).requestTimeout(Duration.ofSeconds(30)).build())
                .ticker(clock).scheduler(clock)
                .strategy(new TestSupport.FirstStrategy())
                .probe(new TestSupport.FakeProbe())
                .listener(new RouterListener() {
                    @Override
                    public void onRequestComplete(RequestRecord r) {
                        records.add(r);
                    }
                })
                .buildRouter();
    }

    @Test
    void deadlineAfterHeadersEndsTheStreamWithAnIOExceptionAndAReaderThatAskedNothingIsNotTheBackendsFault() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        var clock = new io.vllmrouter.testing.FakeClock();
        routerOnClock(stallingServer(release, release), clock); // no second event before the end
        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", STREAM_REQ).build())) {
            BufferedReader reader = new BufferedReader(new InputStreamReader(r.body(), StandardCharsets.UTF_8));
            assertThat(reader.readLine()).isEqualTo("data: first");
            assertThat(reader.readLine()).isEmpty();
            clock.advance(Duration.ofSeconds(31));
            org.assertj.core.api.Assertions.assertThatThrownBy(reader::readLine)
                    .isInstanceOf(IOException.class).hasMessageContaining("timed out");
        } finally {
            release.countDown();
        }
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome).isEqualTo(RequestOutcome.TIMEOUT);
        assertThat(router.stats().servers().get(0).requests().failed())
                .as("the reader had the event and asked for nothing more: the backend is not charged").isZero();
    }

    @Test
    void aDeadlineWhileTheBackendOwesAnEventChargesTheBackend() throws Exception {
        assertThat(deadlineWhileSubscribed(true, false)).isEqualTo(1);
    }

    @Test
    void aDeadlineWhileTheCallerHoldsTheStreamBackDoesNotChargeTheBackend() throws Exception {
        assertThat(deadlineWhileSubscribed(false, false)).as("a client that stops reading is not the backend's failure")
                .isZero();
    }

    @Test
    void aDeadlineThatCutsAStreamStillComingDoesNotChargeTheBackend() throws Exception {
        assertThat(deadlineWhileSubscribed(true, true)).as("a long generation is not the backend's failure").isZero();
    }

    /**
     * A stream whose backend sends one event and stalls, published to a subscriber that asks for
     * the next chunk after each ({@code askAgain}) or not; then the deadline. With {@code
     * secondNearTheEnd} a second event comes 2 s before the deadline (within the stall bound, the
     * first-token timeout of 30 s). Returns the failures held against the backend.
     */
    private long deadlineWhileSubscribed(boolean askAgain, boolean secondNearTheEnd) throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        CountDownLatch more = new CountDownLatch(1);
        var clock = new io.vllmrouter.testing.FakeClock();
        routerOnClock(stallingServer(more, release), clock);
        CountDownLatch first = new CountDownLatch(1);
        CountDownLatch second = new CountDownLatch(2);
        CompletableFuture<Throwable> ended = new CompletableFuture<>();
        try (RouterResponse r = router.route(RouterRequest.post("/v1/chat/completions", STREAM_REQ).build())) {
            r.bodyPublisher().subscribe(new java.util.concurrent.Flow.Subscriber<io.vllmrouter.api.BodyChunk>() {
                private java.util.concurrent.Flow.Subscription s;

                @Override
                public void onSubscribe(java.util.concurrent.Flow.Subscription s) {
                    this.s = s;
                    s.request(1);
                }

                @Override
                public void onNext(io.vllmrouter.api.BodyChunk item) {
                    item.release();
                    if (askAgain) {
                        s.request(1);
                    }
                    first.countDown();
                    second.countDown();
                }

                @Override
                public void onError(Throwable t) {
                    ended.complete(t);
                }

                @Override
                public void onComplete() {
                    ended.complete(null);
                }
            });
            assertThat(first.await(10, TimeUnit.SECONDS)).isTrue();
            if (secondNearTheEnd) {
                clock.advance(Duration.ofSeconds(28));
                more.countDown();
                assertThat(second.await(10, TimeUnit.SECONDS)).isTrue();
                clock.advance(Duration.ofSeconds(3));
            } else {
                clock.advance(Duration.ofSeconds(31));
            }
            assertThat(ended.get(10, TimeUnit.SECONDS)).isInstanceOf(IOException.class).hasMessageContaining("timed out");
        } finally {
            more.countDown();
            release.countDown();
        }
        assertThat(records).singleElement().extracting(RouterListener.RequestRecord::outcome).isEqualTo(RequestOutcome.TIMEOUT);
        return router.stats().servers().get(0).requests().failed();
    }
}
