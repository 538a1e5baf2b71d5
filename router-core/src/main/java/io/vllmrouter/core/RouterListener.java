package io.vllmrouter.core;

import io.vllmrouter.api.CircuitState;

/**
 * Hears what the router does, for metrics and logs (the proxy's {@code /metrics} and structured log
 * use it). Methods are called on request and background threads, must return quickly and must not
 * throw; a listener that throws is logged and ignored. All methods default to doing nothing.
 */
public interface RouterListener {

    /** A request ended: answered (any status), failed, timed out or cancelled. Called once per request. */
    default void onRequestComplete(RequestRecord record) {
    }

    /** An attempt failed and the request will be tried on another backend. */
    default void onRetry(String requestId, String failedBackend, String reason) {
    }

    /** A backend was ejected or re-admitted by the active health checks. */
    default void onHealthChange(String backend, boolean healthy, String reason) {
    }

    /** A backend's circuit breaker changed state. */
    default void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
    }

    /** A configuration reload was applied ({@code error == null}) or refused. */
    default void onConfigReload(boolean applied, String error) {
    }

    /**
     * One finished request.
     *
     * @param requestId     the request's id
     * @param model         its model, or null
     * @param stream        whether it was a streaming request
     * @param backend       the backend of the last attempt, or null when none was chosen
     * @param status        the HTTP status the caller got (from the backend, or the router's own
     *                      404/503/502/504), or 499 when the caller went away first
     * @param outcome       {@code "ok"}, {@code "client_error"}, {@code "upstream_error"},
     *                      {@code "timeout"}, {@code "cancelled"}, {@code "no_backend"}
     * @param latencyNanos  from route() to the body's end (or the failure)
     * @param ttfbNanos     from route() to the response headers, -1 when none arrived
     * @param retries       attempts after the first
     * @param bytes         body bytes passed to the caller
     */
    record RequestRecord(String requestId, String model, boolean stream, String backend, int status,
                         String outcome, long latencyNanos, long ttfbNanos, int retries, long bytes) {
    }
}
