package io.vllmrouter.api;

import java.util.List;

/**
 * Hears what a router does, for metrics and logs. All methods default to doing nothing.
 *
 * <pre>{@code
 * VllmRouter router = VllmRouters.builder().configFile(file).listener(new RouterListener() {
 *     public void onRequestComplete(RequestRecord r) {
 *         requests.labels(r.outcome().label()).inc();
 *     }
 * }).build();
 * }</pre>
 *
 * <p>Threads: {@link #onRequestComplete} and {@link #onRetry} run on the thread that ended the
 * request or attempt (a request thread, the transport's thread, or the scheduler at a deadline).
 * The fleet events ({@link #onHealthCheck}, {@link #onHealthChange}, {@link #onCircuitStateChange},
 * {@link #onMetricsScraped}, {@link #onModelsRefreshed}, {@link #onConfigReload}) run in the
 * router's serial state context, one at a time and in the order the changes were applied, after
 * the new state is published: a request routed after the callback started sees it. Every method must return quickly and must not block or call back into
 * the router's reconfiguration; an exception it throws is logged and ignored.
 */
public interface RouterListener {

    /** A request ended: answered (any status), failed, timed out or cancelled. Called once per request. */
    default void onRequestComplete(RequestRecord record) {
    }

    /** An attempt failed before any byte reached the caller, and the request will be tried again. */
    default void onRetry(String requestId, String failedBackend, String reason) {
    }

    /**
     * One active health check's result was applied to {@code backend}.
     *
     * @param passed  2xx within {@code health_check_max_response_time}
     * @param reason  why it failed, or null when it passed
     */
    default void onHealthCheck(String backend, boolean passed, String reason) {
    }

    /** A backend was ejected ({@code healthy == false}, with the reason) or re-admitted by the health checks. */
    default void onHealthChange(String backend, boolean healthy, String reason) {
    }

    /** A backend's circuit breaker changed state. */
    default void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
    }

    /**
     * One {@code /metrics} scrape of {@code backend} was applied: its figures ({@code ok}) or a
     * failure, after which its old figures no longer steer routing.
     */
    default void onMetricsScraped(String backend, boolean ok) {
    }

    /**
     * One {@code /v1/models} answer of {@code backend} was applied; {@code models} are the ids the
     * backend is routed for now (its configured {@code models} when it has some).
     */
    default void onModelsRefreshed(String backend, List<String> models) {
    }

    /** A configuration was applied ({@code applied}, {@code error == null}) or refused with the reason. */
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
     *                      400/404/503/502/504), or 499 when the caller went away first
     * @param outcome       how it ended
     * @param latencyNanos  from route() to the body's end (or the failure)
     * @param ttfbNanos     from route() to the answer's start (the response headers; for a stream,
     *                      its first SSE data event), -1 when it never started
     * @param retries       attempts after the first
     * @param bytes         body bytes passed to the caller
     */
    record RequestRecord(String requestId, String model, boolean stream, String backend, int status,
                         RequestOutcome outcome, long latencyNanos, long ttfbNanos, int retries, long bytes) {
    }
}
