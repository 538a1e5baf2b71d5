package io.vllmrouter.core;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.vllmrouter.api.time.Ticker;
import java.util.concurrent.TimeUnit;
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
    private final CircuitBreaker breaker;
    private final Ticker ticker;
    final long startNanos;
    private final AtomicBoolean recorded = new AtomicBoolean();
    private final AtomicBoolean released = new AtomicBoolean();

    /** Starts the attempt: the in-flight count goes up now. */
    Attempt(Backend backend, CircuitBreaker breaker, Ticker ticker) {
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
                case SUCCESS -> breaker.onSuccess(d, TimeUnit.NANOSECONDS);
                case FAILURE -> breaker.onError(d, TimeUnit.NANOSECONDS,
                        cause != null ? cause : new RuntimeException("backend failure"));
                case CANCELLED -> breaker.releasePermission();
            }
        }
        backend.counters.attemptEnded(result == Result.CANCELLED ? null : result == Result.FAILURE, d);
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
