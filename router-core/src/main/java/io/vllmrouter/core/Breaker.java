package io.vllmrouter.core;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;

/**
 * A backend's Resilience4j circuit breaker as the request path uses it, and the watch that tells the
 * fleet when its state moved.
 *
 * <p>The breaker's state moves on request threads, in the calls below. Rather than a Resilience4j
 * event consumer — with any consumer registered, the breaker builds an event, stamped with a
 * {@code ZonedDateTime}, for every recorded call — each call is followed by one volatile read of the
 * state: when it differs from the last state seen, the thread that notices first hands the
 * transition to {@code moved} (which posts it to the fleet's owner). States move only in these
 * calls, so none is missed in practice; two moves between looks would be reported as one.
 *
 * <p>Thread-safe. Recording a call takes the lock of Resilience4j's count-based window, briefly;
 * its lock-free window (a copy of the aggregation and a compare-and-set per call) measured slower
 * under two event loops, with a p99 three times as long (docs/benchmarks.md).
 */
final class Breaker {

    final CircuitBreaker cb;
    private final AtomicReference<CircuitBreaker.State> seen;
    private final BiConsumer<CircuitBreaker.State, CircuitBreaker.State> moved;

    /** @param moved hears each transition once, on the thread that noticed it; must not block */
    Breaker(CircuitBreaker cb, BiConsumer<CircuitBreaker.State, CircuitBreaker.State> moved) {
        this.cb = cb;
        this.seen = new AtomicReference<>(cb.getState());
        this.moved = moved;
    }

    /** Asks to send one call; on true, the call's outcome must be recorded (or its permission released). */
    boolean tryAcquire() {
        boolean ok = cb.tryAcquirePermission();
        watch();
        return ok;
    }

    void onSuccess(long nanos) {
        cb.onSuccess(nanos, TimeUnit.NANOSECONDS);
        watch();
    }

    void onError(long nanos, Throwable cause) {
        cb.onError(nanos, TimeUnit.NANOSECONDS, cause);
        watch();
    }

    /** The call counted for nothing (cancelled, refused for load). */
    void release() {
        cb.releasePermission();
        watch();
    }

    /** Reports a state the watch has not seen yet; also called after a transition forced from outside. */
    void watch() {
        CircuitBreaker.State now = cb.getState();
        CircuitBreaker.State was = seen.get();
        if (now != was && seen.compareAndSet(was, now)) {
            moved.accept(was, now);
        }
    }

    CircuitBreaker.State state() {
        return cb.getState();
    }
}
