package io.vllmrouter.core;

import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.api.time.Ticker;
import java.time.Duration;

/** The passive circuit breakers' settings, from the configuration. */
final class Breakers {

    /** Breakers judge failures only: a long generation is not a slow call. */
    private static final Duration NEVER_SLOW = Duration.ofDays(3650);

    private Breakers() {
    }

    /** Count-based breakers on the router's clock; every recorded error counts. */
    static CircuitBreakerConfig config(RouterConfig c, Ticker ticker) {
        return CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(c.circuitBreakerWindow())
                .minimumNumberOfCalls(c.circuitBreakerMinimumCalls())
                .failureRateThreshold((float) c.circuitBreakerFailureRate())
                .waitDurationInOpenState(c.circuitBreakerWait())
                .permittedNumberOfCallsInHalfOpenState(c.circuitBreakerHalfOpenCalls())
                .slowCallDurationThreshold(NEVER_SLOW)
                .recordException(t -> true)
                .clock(ticker.asClock())
                .build();
    }

    /** Whether a reload from {@code a} to {@code b} needs new breakers. */
    static boolean settingsChanged(RouterConfig a, RouterConfig b) {
        return a.circuitBreakerFailureRate() != b.circuitBreakerFailureRate()
                || a.circuitBreakerMinimumCalls() != b.circuitBreakerMinimumCalls()
                || a.circuitBreakerWindow() != b.circuitBreakerWindow()
                || !a.circuitBreakerWait().equals(b.circuitBreakerWait())
                || a.circuitBreakerHalfOpenCalls() != b.circuitBreakerHalfOpenCalls();
    }
}
