package io.vllmrouter.core;

import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.time.Ticker;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One try of a request on one backend, from the moment its breaker granted permission and its
 * in-flight count went up. Its outcome is recorded once ({@link #record}) and its in-flight slot
 * released once ({@link #release}); both are idempotent so racing endings (body end, caller close,
 * deadline) cannot count twice.
 */
final class Attempt {

    /** How an attempt ended, for the breaker and counters. */
    enum Result {
        /** Answered without a server-side failure (4xx included). */
        SUCCESS,
        /** A failure held against the backend: connect error, reset, 5xx, timeout. */
        FAILURE,
        /** The caller went away or the router gave up for its own reasons: not the backend's fault. */
        CANCELLED
    }

    final Backend backend;
    private final Breaker breaker;
    private final Ticker ticker;
    final long startNanos;
    private final AtomicBoolean recorded = new AtomicBoolean();
    private final AtomicBoolean released = new AtomicBoolean();
    /** The backend's status once its headers arrived, else -1; for {@link RouterListener#onAttemptEnd}. */
    volatile int status = -1;
    /** Who hears this attempt's end, or null (a lease's attempt); set once before the attempt is sent. */
    private volatile Traced traced;

    private record Traced(RouterListener listener, String requestId, int number) {
    }

    /** Makes {@code listener} hear this attempt's end as attempt {@code number} of {@code requestId}. */
    void traced(RouterListener listener, String requestId, int number) {
        this.traced = new Traced(listener, requestId, number);
    }

    /** Starts the attempt: the in-flight count goes up now. */
    Attempt(Backend backend, Breaker breaker, Ticker ticker) {
        this.backend = backend;
        this.breaker = breaker;
        this.ticker = ticker;
        this.startNanos = ticker.nanoTime();
        backend.load.inFlight.incrementAndGet();
        backend.counters.attemptStarted();
    }

    long elapsedNanos() {
        return ticker.nanoTime() - startNanos;
    }

    /** Records the outcome on the breaker (the same instance that granted permission) and counters. */
    boolean record(Result result, Throwable cause) {
        if (!recorded.compareAndSet(false, true)) {
            return false;
        }
        long d = elapsedNanos();
        if (breaker != null) {
            switch (result) {
                case SUCCESS -> breaker.onSuccess(d);
                case FAILURE -> breaker.onError(d, cause != null ? cause : new RuntimeException("backend failure"));
                case CANCELLED -> breaker.release();
            }
        }
        backend.counters.attemptEnded(result == Result.CANCELLED ? null : result == Result.FAILURE, d);
        Traced t = traced;
        if (t != null) {
            String failure = switch (result) {
                case SUCCESS -> null;
                case CANCELLED -> "cancelled";
                case FAILURE -> cause == null ? "failed" : (status >= 0 && status < 400 ? "cut short: " : "")
                        + io.vllmrouter.api.transport.TransportException.describe(cause);
            };
            t.listener().onAttemptEnd(t.requestId(), backend.id(), t.number(), status, failure);
        }
        return true;
    }

    /** Runs when the slot is given back (a queued request may take it); null when none waits. */
    volatile Runnable onRelease;

    /** Gives back the in-flight slot. */
    void release() {
        if (released.compareAndSet(false, true)) {
            backend.load.inFlight.decrementAndGet();
            Runnable r = onRelease;
            if (r != null) {
                r.run();
            }
        }
    }

    void end(Result result, Throwable cause) {
        record(result, cause);
        release();
    }
}
