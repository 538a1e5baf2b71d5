package io.vllmrouter.core.metrics;

import java.net.URI;
import java.net.http.HttpClient;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * CONTRACT STUB: implemented by the metrics work (issue 2, items 5 and 6).
 *
 * <p>The router's calls to a backend other than forwarding: {@code /metrics}, {@code /v1/models},
 * {@code /health}. Every call is asynchronous on the shared {@link HttpClient} and bounded by its
 * timeout, so one hung backend never delays another. Thread-safe.
 */
public final class BackendClient {

    public BackendClient(HttpClient client) {
    }

    /**
     * {@code GET base/metrics}. Completes with the figures, or exceptionally with
     * {@link java.net.http.HttpTimeoutException}, an {@link java.io.IOException} (connect error or
     * non-200 status, named in the message) or {@link MetricsFormatException}.
     */
    public CompletableFuture<LoadMetrics> scrapeMetrics(URI base, String apiKey, Duration timeout) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /** {@code GET base/v1/models}: the {@code data} entries, in order. */
    public CompletableFuture<List<ModelInfo>> fetchModels(URI base, String apiKey, Duration timeout) {
        throw new UnsupportedOperationException("not implemented yet");
    }

    /**
     * {@code GET base/health}. Completes normally with the HTTP status (any status: the caller
     * judges) or exceptionally on connect errors and timeouts.
     */
    public CompletableFuture<Integer> checkHealth(URI base, String apiKey, Duration timeout) {
        throw new UnsupportedOperationException("not implemented yet");
    }
}
