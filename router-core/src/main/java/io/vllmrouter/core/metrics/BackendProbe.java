package io.vllmrouter.core.metrics;

import io.vllmrouter.api.ModelInfo;
import java.net.URI;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The calls to a backend besides forwarding: {@code /metrics}, {@code /v1/models}, {@code /health},
 * each with the backend's API key. The router's background probes use it, and so does a tool that
 * checks a configuration ({@code check-config}), so both ask the backends the same way.
 *
 * <pre>{@code
 * BackendProbe probe = new BackendClient(HttpClient.newHttpClient());
 * int status = probe.checkHealth(server.url(), server.apiKey(), Duration.ofSeconds(5)).join();
 * }</pre>
 *
 * <p>{@link BackendClient} is the implementation; tests fake it to drive health and scrapes with a
 * fake clock. Calls are asynchronous and bounded by {@code timeout}; futures may complete on any
 * thread; a call that throws is treated as a failed call.
 */
public interface BackendProbe {

    /** {@code GET /metrics}, parsed. */
    CompletableFuture<LoadMetrics> scrapeMetrics(URI base, String apiKey, Duration timeout);

    /** {@code GET /v1/models}: the entries, in order. */
    CompletableFuture<List<ModelInfo>> fetchModels(URI base, String apiKey, Duration timeout);

    /** Completes with the HTTP status of {@code GET /health}. */
    CompletableFuture<Integer> checkHealth(URI base, String apiKey, Duration timeout);
}
