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

    /**
     * A request was accepted by {@code route()} and is about to be tried; {@code request} carries the
     * caller's headers (a tracer continues the caller's trace from them). Runs on the caller's thread,
     * before the first attempt. Not called for requests refused before routing (a body that is not JSON).
     *
     * @param model the request's model, or null
     */
    default void onRequestStart(String requestId, String model, RouterRequest request) {
    }

    /**
     * Attempt {@code attempt} (1 for the first) of request {@code requestId} is about to be sent to
     * {@code backend}. {@code header} adds a header to this attempt's upstream request only, e.g. W3C
     * {@code traceparent}; it must not be kept after the call. Runs on the thread that sends the attempt.
     */
    default void onAttemptStart(String requestId, String backend, int attempt, java.util.function.BiConsumer<String, String> header) {
    }

    /**
     * That attempt ended: {@code status} is the backend's HTTP status, or -1 when none arrived;
     * {@code failure} says why the attempt counts as failed ({@code "connection refused"},
     * {@code "status 503"}, {@code "cut short: connection reset"}), {@code "cancelled"} when the router or the caller gave
     * it up, or null when it succeeded. Called once per started attempt, on whichever thread ended it.
     */
    default void onAttemptEnd(String requestId, String backend, int attempt, int status, String failure) {
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

    /** The {@code reason} of {@link #onHealthChange} when a backend's first health check passed and it became eligible. */
    String FIRST_CHECK_PASSED = "first health check passed";

    /** The {@code reason} of {@link #onHealthChange} when an ejected backend is re-admitted. */
    String RECOVERED = "recovered";

    /**
     * A backend became healthy ({@code healthy}, with reason {@link #FIRST_CHECK_PASSED} or
     * {@link #RECOVERED}) or was ejected ({@code healthy == false}, with the reason) by the active
     * health checks.
     */
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
