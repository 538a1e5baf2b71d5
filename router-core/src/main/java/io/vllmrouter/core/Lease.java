package io.vllmrouter.core;

import io.vllmrouter.api.BackendLease;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.time.Ticker;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

/** A backend held by a host that forwards the request itself; see {@link BackendLease}. */
final class Lease implements BackendLease {

    private final Attempt attempt;
    private final RequestInfo info;
    private final String requestId;
    private final RouterListener listener;
    private final Ticker ticker;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Attempt.Result result;

    Lease(Attempt attempt, RequestInfo info, String requestId, RouterListener listener, Ticker ticker) {
        this.attempt = attempt;
        this.info = info;
        this.requestId = requestId;
        this.listener = listener;
        this.ticker = ticker;
    }

    @Override public URI baseUrl() { return attempt.backend.url(); }
    @Override public String apiKey() { return attempt.backend.apiKey(); }
    @Override public String backendId() { return attempt.backend.id(); }

    @Override
    public void success() {
        if (attempt.record(Attempt.Result.SUCCESS, null)) {
            result = Attempt.Result.SUCCESS;
        }
    }

    @Override
    public void failure(Throwable cause) {
        if (attempt.record(Attempt.Result.FAILURE, cause)) {
            result = Attempt.Result.FAILURE;
        }
    }

    @Override
    public Duration elapsed() {
        return Duration.ofNanos(attempt.elapsedNanos());
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (attempt.record(Attempt.Result.CANCELLED, null)) {
            result = Attempt.Result.CANCELLED;
        }
        attempt.release();
        Attempt.Result r = result;
        int status = r == Attempt.Result.SUCCESS ? 200 : r == Attempt.Result.FAILURE ? 502 : 499;
        RequestOutcome outcome = r == Attempt.Result.SUCCESS ? RequestOutcome.SUCCESS
                : r == Attempt.Result.FAILURE ? RequestOutcome.UPSTREAM_ERROR : RequestOutcome.CANCELLED;
        listener.onRequestComplete(new RouterListener.RequestRecord(requestId, info.model(), info.stream(),
                backendId(), status, outcome, ticker.nanoTime() - attempt.startNanos, -1, 0, 0));
    }

    @Override
    public String toString() {
        return "BackendLease[" + backendId() + "]";
    }
}
