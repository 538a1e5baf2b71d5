package io.vllmrouter.examples.bench;

import io.vllmrouter.api.BackendLease;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.api.time.Scheduler;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The router's whole decision for one request, with the real engine: read {@code model} and
 * {@code stream} from a chat-completion body, take the snapshot's candidates for the model, let
 * the strategy pick among {@code backends} real backend objects (live load estimates), ask the
 * chosen backend's circuit breaker, and release the lease. Each backend's load comes from one real
 * {@code /metrics} scrape of a small server on 127.0.0.1 (seeded figures, so the estimates are
 * fresh as in production); after it, background work is parked, so every backend stays admitted
 * and nothing but the request path runs. Run with {@code -prof gc} to see the bytes allocated per
 * request.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(1)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class RouteChooseBenchmark {

    @Param({"weighted-score", "least-loaded", "round-robin"})
    public String strategy;

    @Param({"128"})
    public int backends;

    private VllmRouter router;
    private MetricsServer metrics;
    private RouterRequest request;

    @Setup
    public void setup() {
        metrics = new MetricsServer(backends);
        RouterConfigBuilder config = RouterConfig.builder().strategy(strategy).enableActiveHealthCheck(false)
                .metricsInterval(Duration.ofHours(1));
        for (int i = 0; i < backends; i++) {
            config.server(new ServerConfig(URI.create(metrics.base() + "/b" + i), 8, List.of("llama-3-8b"), null));
        }
        IdleScheduler scheduler = new IdleScheduler();
        router = VllmRouters.builder().config(config.build()).scheduler(scheduler).build();
        scheduler.runScrapeRoundOnce(router);
        byte[] body = ("{\"model\":\"llama-3-8b\",\"stream\":true,\"max_tokens\":256,"
                + "\"messages\":[{\"role\":\"system\",\"content\":\"You are a helpful assistant.\"},"
                + "{\"role\":\"user\",\"content\":\"Explain quantum computing in simple terms.\"}]}")
                .getBytes(StandardCharsets.UTF_8);
        request = RouterRequest.post("/v1/chat/completions", body).build();
    }

    @TearDown
    public void tearDown() {
        router.close();
        metrics.close();
    }

    @Benchmark
    public Object chooseOne() {
        try (BackendLease lease = router.choose(request)) {
            lease.success();
            return lease;
        }
    }

    @Benchmark
    @Threads(2)
    public Object chooseTwoThreads() {
        try (BackendLease lease = router.choose(request)) {
            lease.success();
            return lease;
        }
    }

    /**
     * Holds background tasks without running them, except one scrape round at set-up: the benchmark
     * measures the request path only.
     */
    static final class IdleScheduler implements Scheduler {
        private final List<Runnable> periodic = new java.util.ArrayList<>();

        @Override
        public Cancellable schedule(Runnable task, Duration delay) {
            return () -> { };
        }

        @Override
        public synchronized Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
            if (period.equals(Duration.ofHours(1))) {
                periodic.add(task); // the scrape round (metrics_interval)
            }
            return () -> { };
        }

        void runScrapeRoundOnce(VllmRouter router) {
            periodic.forEach(Runnable::run);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (router.stats().servers().stream().anyMatch(s -> s.detailedMetrics().stale())) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("scrapes did not arrive: " + router.stats());
                }
                java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
            }
        }

        @Override
        public void close() {
        }
    }

    /** Serves {@code /bN/metrics} for N in 0..n-1 with seeded vLLM V1 figures, on 127.0.0.1. */
    static final class MetricsServer implements AutoCloseable {
        private final com.sun.net.httpserver.HttpServer server;

        MetricsServer(int n) {
            try {
                server = com.sun.net.httpserver.HttpServer.create(
                        new java.net.InetSocketAddress("127.0.0.1", 0), 64);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
            java.util.SplittableRandom seed = new java.util.SplittableRandom(20250101L);
            for (int i = 0; i < n; i++) {
                byte[] page = ("vllm:num_requests_running{engine=\"0\",model_name=\"llama-3-8b\"} " + seed.nextInt(9) + "\n"
                        + "vllm:num_requests_waiting{engine=\"0\",model_name=\"llama-3-8b\"} " + seed.nextInt(5) + "\n"
                        + "vllm:kv_cache_usage_perc{engine=\"0\",model_name=\"llama-3-8b\"} " + seed.nextDouble() + "\n")
                        .getBytes(StandardCharsets.UTF_8);
                server.createContext("/b" + i + "/metrics", ex -> {
                    ex.sendResponseHeaders(200, page.length);
                    ex.getResponseBody().write(page);
                    ex.close();
                });
            }
            server.start();
        }

        String base() {
            return "http://127.0.0.1:" + server.getAddress().getPort();
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }
}
