package io.vllmrouter.core;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.core.metrics.BackendProbe;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.api.ModelInfo;
import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/** Shared helpers for the engine's tests. */
final class TestSupport {

    private TestSupport() {
    }

    /** Always the first candidate: makes which backend a request hits predictable. */
    static final class FirstStrategy implements BalancingStrategy {
        @Override
        public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
            return candidates.get(0);
        }
    }

    /** Fewest in flight, ties broken with the context's random source. */
    static final class FewestInFlight implements BalancingStrategy {
        @Override
        public BackendView pick(List<? extends BackendView> candidates, RouteContext context) {
            BackendView best = null;
            int ties = 0;
            for (BackendView b : candidates) {
                if (best == null || b.inFlight() < best.inFlight()) {
                    best = b;
                    ties = 1;
                } else if (b.inFlight() == best.inFlight() && context.random().nextInt(++ties) == 0) {
                    best = b;
                }
            }
            return best;
        }
    }

    /** Registered in the test resources' META-INF/services as {@code test-first}. */
    public static final class FirstProvider implements io.vllmrouter.api.spi.BalancingStrategyProvider {
        @Override public String name() { return "test-first"; }
        @Override public BalancingStrategy create() { return new FirstStrategy(); }
    }

    /** Registered as {@code test-fewest}. */
    public static final class FewestProvider implements io.vllmrouter.api.spi.BalancingStrategyProvider {
        @Override public String name() { return "test-fewest"; }
        @Override public BalancingStrategy create() { return new FewestInFlight(); }
    }

    /** A port nothing listens on (bound, then released). */
    static int unusedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /**
     * A {@link BackendProbe} the test scripts per backend URL: answers are functions of the URL,
     * or pending futures the test completes.
     */
    static final class FakeProbe implements BackendProbe {
        final Map<String, Function<URI, CompletableFuture<Integer>>> health = new ConcurrentHashMap<>();
        final Map<String, Function<URI, CompletableFuture<LoadMetrics>>> metrics = new ConcurrentHashMap<>();
        final Map<String, Function<URI, CompletableFuture<List<ModelInfo>>>> models = new ConcurrentHashMap<>();
        final List<String> calls = new CopyOnWriteArrayList<>();

        void healthStatus(String url, int status) {
            health.put(url, u -> CompletableFuture.completedFuture(status));
        }

        void healthFails(String url) {
            health.put(url, u -> CompletableFuture.failedFuture(new java.net.ConnectException("Connection refused")));
        }

        @Override
        public CompletableFuture<LoadMetrics> scrapeMetrics(URI base, String apiKey, Duration timeout) {
            calls.add("metrics " + base);
            var f = metrics.get(base.toString());
            return f == null ? CompletableFuture.failedFuture(new IOException("no metrics")) : f.apply(base);
        }

        @Override
        public CompletableFuture<List<ModelInfo>> fetchModels(URI base, String apiKey, Duration timeout) {
            calls.add("models " + base);
            var f = models.get(base.toString());
            return f == null ? CompletableFuture.failedFuture(new IOException("no models")) : f.apply(base);
        }

        @Override
        public CompletableFuture<Integer> checkHealth(URI base, String apiKey, Duration timeout) {
            calls.add("health " + base);
            var f = health.get(base.toString());
            return f == null ? CompletableFuture.completedFuture(200) : f.apply(base);
        }
    }

    static ModelInfo model(String id) {
        return new ModelInfo(id, RouterJson.mapper().createObjectNode().put("id", id).put("object", "model").toString());
    }
}
