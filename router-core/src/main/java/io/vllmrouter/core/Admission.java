package io.vllmrouter.core;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;

/**
 * Whether one backend may get traffic: the active health checks' verdict, its passive circuit
 * breaker, and whether a reload removed it (draining).
 *
 * <p>Threads: written only in the fleet's serial context (the breaker's own state moves on request
 * threads, but which breaker a backend has is the context's choice); read from any thread.
 */
final class Admission {

    final HealthTracker health = new HealthTracker();
    private volatile CircuitBreaker breaker;
    private volatile boolean draining;

    /** The breaker attempts ask for permission, or null when breakers are off. */
    CircuitBreaker breaker() {
        return breaker;
    }

    void breaker(CircuitBreaker b) {
        this.breaker = b;
    }

    boolean draining() {
        return draining;
    }

    void draining(boolean d) {
        this.draining = d;
    }

    /** Admitted: the health checks pass and the breaker lets traffic through. */
    boolean admitted() {
        return health.healthy() && breakerAdmits();
    }

    boolean breakerAdmits() {
        CircuitBreaker b = breaker;
        if (b == null) {
            return true;
        }
        CircuitBreaker.State s = b.getState();
        return s != CircuitBreaker.State.OPEN && s != CircuitBreaker.State.FORCED_OPEN;
    }

    CircuitState circuitState() {
        CircuitBreaker b = breaker;
        return b == null ? CircuitState.DISABLED : toCircuitState(b.getState());
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
