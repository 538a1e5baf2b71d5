package io.vllmrouter.api;

import java.util.concurrent.CompletableFuture;

/**
 * Spreads OpenAI-compatible requests over a fleet of vLLM servers by their live load.
 *
 * <pre>{@code
 * try (VllmRouter router = VllmRouters.fromConfig(Path.of("servers.toml"))) {
 *     RouterRequest request = RouterRequest.post("/v1/chat/completions", jsonBytes).build();
 *     try (RouterResponse response = router.route(request)) {
 *         response.body().transferTo(out);      // streams as the backend produces it
 *     }
 * }
 * }</pre>
 *
 * <p>Implementations are thread-safe. {@link #route} and {@link #choose} read an immutable snapshot
 * of the fleet and take no global lock; scrapes, health checks and reloads publish new snapshots in
 * the background.
 */
public interface VllmRouter extends AutoCloseable {

    /**
     * Forwards {@code request} to the backend chosen by the configured strategy and returns once
     * the response status and headers have arrived. The body is then read from
     * {@link RouterResponse#body()} as the backend sends it; closing the response before the end
     * cancels the upstream request.
     *
     * <p>Failures before any response byte (refused or reset connection, timeout before headers,
     * 502/503/504) are retried on another backend; 4xx answers are returned as they are.
     *
     * @throws RouterException with the HTTP status a proxy should answer and the fleet's state:
     *     {@link NoBackendForModelException} (404), {@link NoHealthyBackendException} (503),
     *     {@link UpstreamException} (502), {@link UpstreamTimeoutException} (504),
     *     {@link InvalidRequestException} (400)
     */
    RouterResponse route(RouterRequest request) throws RouterException;

    /**
     * Non-blocking {@link #route}: the future completes when the response headers arrive, or
     * exceptionally with a {@link RouterException}. Cancelling the future cancels the upstream
     * request.
     */
    CompletableFuture<RouterResponse> routeAsync(RouterRequest request);

    /**
     * Only chooses a backend, for hosts that forward requests themselves. The returned lease counts
     * as one request in flight on that backend until it is closed; report the outcome on it so the
     * backend's circuit breaker and statistics stay true.
     */
    BackendLease choose(RouterRequest request) throws RouterException;

    /** An immutable snapshot of the fleet, shaped like the seed's {@code /load-stats}. */
    RouterStats stats();

    /** Stops background work (scrapes, health checks, reload watch). In-flight responses may finish. */
    @Override
    void close();
}
