package io.vllmrouter.core;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.core.metrics.SleepState;

/**
 * Whether one backend may get traffic: the active health checks' verdict, its passive circuit
 * breaker, whether a reload removed it (draining), and whether its engines are asleep (vLLM's
 * sleep mode, from its {@code /metrics}).
 *
 * <p>Threads: written only in the fleet's serial context (the breaker's own state moves on request
 * threads, but which breaker a backend has is the context's choice); read from any thread.
 */
final class Admission {

    final HealthTracker health = new HealthTracker();
    private volatile Breaker breaker;
    private volatile boolean draining;
    private volatile SleepState sleep = SleepState.UNKNOWN;

    /** The breaker attempts ask for permission, or null when breakers are off. */
    Breaker breaker() {
        return breaker;
    }

    void breaker(Breaker b) {
        this.breaker = b;
    }

    boolean draining() {
        return draining;
    }

    void draining(boolean d) {
        this.draining = d;
    }

    /**
     * The sleep state of the last good scrape, {@link SleepState#UNKNOWN} when none steers now.
     * Returns whether the backend went to sleep or woke (admission changed).
     */
    boolean sleep(SleepState s) {
        boolean was = sleep.asleep();
        sleep = s;
        return was != s.asleep();
    }

    SleepState sleep() {
        return sleep;
    }

    /** Admitted: the health checks pass, the breaker lets traffic through and the engines are not asleep. */
    boolean admitted() {
        return health.healthy() && breakerAdmits() && !sleep.asleep();
    }

    /** Why the backend gets no new requests, or null when it is admitted. */
    String ineligibleReason() {
        if (draining) {
            return "draining: removed from the configuration";
        }
        if (!health.healthy()) {
            return "ejected by the health checks: " + health.reason();
        }
        if (!breakerAdmits()) {
            return "circuit breaker open";
        }
        SleepState s = sleep;
        return s.asleep() ? "asleep (" + s.describe() + ")" : null;
    }

    boolean breakerAdmits() {
        Breaker b = breaker;
        if (b == null) {
            return true;
        }
        CircuitBreaker.State s = b.state();
        return s != CircuitBreaker.State.OPEN && s != CircuitBreaker.State.FORCED_OPEN;
    }

    CircuitState circuitState() {
        Breaker b = breaker;
        return b == null ? CircuitState.DISABLED : toCircuitState(b.state());
    }

    static CircuitState toCircuitState(CircuitBreaker.State s) {
        return switch (s) {
            case CLOSED -> CircuitState.CLOSED;
            case OPEN, FORCED_OPEN -> CircuitState.OPEN;
            case HALF_OPEN -> CircuitState.HALF_OPEN;
            case DISABLED, METRICS_ONLY -> CircuitState.DISABLED;
        };
    }

    BackendStats.HealthStats healthStats() {
        return new BackendStats.HealthStats(health.healthy(), health.lastCheckEpochMillis(),
                health.consecutiveFailures(), health.successRate(), health.lastResponseMillis(), health.reason(),
                health.everPassed());
    }
}
