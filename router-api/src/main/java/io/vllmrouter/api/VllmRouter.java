package io.vllmrouter.api;

import java.util.List;
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
 * <p>A router from {@code VllmRouters} (router-core) watches its configuration file; a host can also
 * hand it a new configuration ({@link #reconfigure(String)}) or ask for a re-read now
 * ({@link #reloadConfig()}). Configuration is TOML text here, the file's schema, so that this API
 * needs nothing but the JDK; router-core's {@code RouterConfig} is the typed form.
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
     * <p>Failures before any response byte (refused or reset connection, a status in
     * {@code retry_on_status}: 500/502/503/504/429 by default; for a stream, no first token within
     * {@code first_token_timeout}) are retried on another backend; other 4xx answers are returned as
     * they are. A stream returns once its first SSE data event arrived, not at its headers.
     *
     * @throws RouterException with the HTTP status a proxy should answer and the fleet's state:
     *     {@link NoBackendForModelException} (404), {@link NoHealthyBackendException} (503),
     *     {@link UpstreamException} (502), {@link UpstreamTimeoutException} (504), {@link BackendsBusyException} (429),
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

    /**
     * The models served by admitted backends, each id once, keeping the first backend's entry in
     * configuration order: the body of a proxy's {@code GET /v1/models}. Immutable; never null.
     */
    List<ModelInfo> models();

    /** The configuration running now (the last one applied). */
    RouterSettings config();

    /**
     * Applies a new configuration given as TOML text of the configuration file's schema (with the
     * environment overrides the router was built with). Servers are matched by URL: added ones join,
     * removed ones finish their in-flight requests, changed ones (capacity, models, API key) apply at
     * once. Returns when the new configuration is in force.
     *
     * @throws IllegalArgumentException when the text is invalid; the message names the key, the
     *     value and what is expected (an unknown strategy lists the known names). The running
     *     configuration stays.
     * @throws IllegalStateException when the router is closed
     */
    void reconfigure(String toml);

    /**
     * Re-reads the configuration file now instead of at the next {@code config_reload_interval},
     * and applies it if it changed and is valid (an invalid file is logged and reported to the
     * listener; the running configuration stays). Only a whole file is applied: a new content is
     * judged once it has stayed the same for a moment (a second, read again then), so a file
     * caught half written is never applied; a file rewritten in place with fewer servers than the
     * running configuration must stay the same for ten seconds more (a write stalled between two
     * servers looks like it), unless it was renamed over the old file.
     *
     * @return false when this router was not built from a file
     */
    boolean reloadConfig();

    /** Stops background work (scrapes, health checks, reload watch). In-flight responses may finish. */
    @Override
    void close();
}
