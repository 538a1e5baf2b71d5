package io.vllmrouter.core;

import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterListener;
import java.io.IOException;

/**
 * The end of one routed request, told once: the {@link RouterListener.RequestRecord} given to
 * {@code onRequestComplete} (status, {@link RequestOutcome}, backend, latency, time to headers,
 * retries, bytes), and, when an answer's body ends, the last attempt's breaker outcome.
 *
 * <p>Outcomes (this class is the one place they are decided): a body that completes is SUCCESS
 * below 400 (RESUMED when a stream went on on another backend), CLIENT_ERROR below 500 and
 * UPSTREAM_ERROR (counted against the backend) from 500; a body cut by the backend is CUT_SHORT, by
 * the deadline TIMEOUT, and by the caller CANCELLED (status 499, counted against nobody). A request
 * that fails before any headers maps its error's status: 404 and 503 are NO_BACKEND, 429 REJECTED,
 * 504 TIMEOUT, 400 CLIENT_ERROR, anything else UPSTREAM_ERROR.
 *
 * <p>Threads: any (the attempt's callback, the caller's {@code close}, the scheduler's deadline);
 * only the first report is passed on, and the listener is called holding no lock.
 */
final class RequestReport {

    private final Forwarder forwarder;
    private final RequestInfo info;
    private final String requestId;
    private final long startNanos;
    private final Failures failures;
    private final java.util.concurrent.atomic.AtomicBoolean reported = new java.util.concurrent.atomic.AtomicBoolean();
    private volatile boolean resumed;

    RequestReport(Forwarder forwarder, RequestInfo info, String requestId, long startNanos, Failures failures) {
        this.forwarder = forwarder;
        this.info = info;
        this.requestId = requestId;
        this.startNanos = startNanos;
        this.failures = failures;
    }

    /** The answer went on on another backend after its first one failed mid-stream. */
    void resumed() {
        resumed = true;
    }

    /** The answer's body ended with {@code outcome}: the attempt {@code a} ends, and the request is reported. */
    void bodyEnded(Attempt a, int status, StreamingBody.Outcome outcome, Throwable cause, long headersAt,
                   long bytes) {
        switch (outcome) {
            case COMPLETED -> {
                boolean serverError = status >= 500;
                a.end(serverError ? Attempt.Result.FAILURE : Attempt.Result.SUCCESS,
                        serverError ? new IOException("backend answered " + status) : null);
                report(status, status < 400 ? (resumed ? RequestOutcome.RESUMED : RequestOutcome.SUCCESS)
                        : status < 500 ? RequestOutcome.CLIENT_ERROR : RequestOutcome.UPSTREAM_ERROR, a.backend,
                        headersAt, bytes);
            }
            case FAILED -> {
                a.end(Attempt.Result.FAILURE, cause);
                report(status, RequestOutcome.CUT_SHORT, a.backend, headersAt, bytes);
            }
            case TIMED_OUT -> {
                a.end(Attempt.Result.FAILURE, cause);
                report(status, RequestOutcome.TIMEOUT, a.backend, headersAt, bytes);
            }
            case TIMED_OUT_NOT_STALLED -> {
                // The caller was not reading, or the answer was still coming: not the backend's failure.
                a.end(Attempt.Result.CANCELLED, null);
                report(status, RequestOutcome.TIMEOUT, a.backend, headersAt, bytes);
            }
            case CANCELLED -> {
                a.end(Attempt.Result.CANCELLED, null);
                report(499, RequestOutcome.CANCELLED, a.backend, headersAt, bytes);
            }
            case STOPPED -> {
                // Cut because the router is stopping: the caller's answer is cut, the backend is not to blame.
                a.end(Attempt.Result.CANCELLED, null);
                report(status, RequestOutcome.CUT_SHORT, a.backend, headersAt, bytes);
            }
        }
    }

    /** The request fails with {@code e} before any headers reached the caller; {@code last} may be null. */
    void failed(RouterException e, Backend last) {
        RequestOutcome outcome = switch (e.httpStatus()) {
            case 404, 503 -> RequestOutcome.NO_BACKEND;
            case 429 -> RequestOutcome.REJECTED;
            case 504 -> RequestOutcome.TIMEOUT;
            case 400 -> RequestOutcome.CLIENT_ERROR;
            default -> RequestOutcome.UPSTREAM_ERROR;
        };
        report(e.httpStatus(), outcome, last, -1, 0);
    }

    /** The caller gave up before any headers; {@code last} may be null. */
    void cancelled(Backend last) {
        report(499, RequestOutcome.CANCELLED, last, -1, 0);
    }

    private void report(int status, RequestOutcome outcome, Backend backend, long ttfbNanos, long bytes) {
        if (!reported.compareAndSet(false, true)) {
            return;
        }
        long latency = forwarder.ticker().nanoTime() - startNanos;
        forwarder.listener().onRequestComplete(new RouterListener.RequestRecord(requestId, info.model(), info.stream(),
                backend == null ? null : backend.id(), status, outcome, latency, ttfbNanos,
                Math.max(0, failures.attempts() - 1), bytes));
    }
}
