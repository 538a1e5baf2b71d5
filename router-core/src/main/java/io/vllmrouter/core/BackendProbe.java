package io.vllmrouter.core;

import io.vllmrouter.core.metrics.BackendClient;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.core.metrics.ModelInfo;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The router's background calls to a backend: {@code /metrics}, {@code /v1/models}, {@code /health}.
 * Production uses {@link BackendClient}; tests fake it to drive health and scrapes with a fake clock.
 * Implementations are asynchronous and bounded by {@code timeout}; a call that throws is treated as
 * a failed call.
 */
interface BackendProbe {

    CompletableFuture<LoadMetrics> scrapeMetrics(URI base, String apiKey, Duration timeout);

    CompletableFuture<List<ModelInfo>> fetchModels(URI base, String apiKey, Duration timeout);

    /** Completes with the HTTP status of {@code GET /health}. */
    CompletableFuture<Integer> checkHealth(URI base, String apiKey, Duration timeout);

    static BackendProbe of(BackendClient client) {
        Objects.requireNonNull(client, "client");
        return new BackendProbe() {
            @Override
            public CompletableFuture<LoadMetrics> scrapeMetrics(URI base, String apiKey, Duration timeout) {
                return client.scrapeMetrics(base, apiKey, timeout);
            }

            @Override
            public CompletableFuture<List<ModelInfo>> fetchModels(URI base, String apiKey, Duration timeout) {
                return client.fetchModels(base, apiKey, timeout);
            }

            @Override
            public CompletableFuture<Integer> checkHealth(URI base, String apiKey, Duration timeout) {
                return client.checkHealth(base, apiKey, timeout);
            }
        };
    }
}
