package io.vllmrouter.core;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.api.time.Ticker;
import io.vllmrouter.core.config.RouterConfig;
import java.lang.System.Logger.Level;
import java.time.Duration;

/**
 * The backends' passive circuit breakers as the fleet keeps them: each made with the settings of
 * the configuration in force ({@link #config}), on the router's clock; each transition carried to
 * the fleet's serial context, where the {@link Fleet} publishes it; an OPEN breaker moved to
 * HALF_OPEN after {@code circuit_breaker_wait}, since an OPEN backend gets no traffic that would
 * ask it to.
 *
 * <p>Threads: {@link #create} runs in the fleet's context (a configuration apply). A transition is
 * noticed on the request thread that recorded the call; there it is only queued to the context,
 * and drained on the scheduler's thread, so a request never rebuilds a snapshot. What follows a
 * transition (the log, the half-open timer, the fleet's publish) runs in the context.
 */
final class FleetBreakers {

    private static final System.Logger LOG = System.getLogger(FleetBreakers.class.getName());

    /** Breakers judge failures only: a long generation is not a slow call. */
    private static final Duration NEVER_SLOW = Duration.ofDays(3650);

    private final Fleet fleet;
    private final SerialContext context;
    private final Scheduler scheduler;

    FleetBreakers(Fleet fleet, SerialContext context, Scheduler scheduler) {
        this.fleet = fleet;
        this.context = context;
        this.scheduler = scheduler;
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

    /** Fleet context: a new breaker for {@code b} with {@code settings}, whose transitions reach the fleet. */
    Breaker create(Backend b, CircuitBreakerConfig settings) {
        Breaker[] self = new Breaker[1];
        // Transitions are noticed on request threads: queue them, and let the scheduler's thread drain.
        self[0] = new Breaker(CircuitBreaker.of(b.id(), settings), (from, to) -> {
            context.executeLater(() -> moved(b, self[0], from, to));
            try {
                scheduler.schedule(context::drain, Duration.ZERO);
            } catch (RuntimeException closedScheduler) {
                LOG.log(Level.DEBUG, "breaker event of {0} after close: {1} -> {2}", b.id(), from, to);
            }
        });
        return self[0];
    }

    /** Fleet context. */
    private void moved(Backend b, Breaker breaker, CircuitBreaker.State from, CircuitBreaker.State to) {
        LOG.log(Level.INFO, "circuit breaker of {0}: {1} -> {2}", b.id(), from, to);
        if (to == CircuitBreaker.State.OPEN && !fleet.closed()) {
            // OPEN backends get no traffic, so nothing would ask the breaker to half-open: we do, on time.
            scheduler.schedule(() -> context.execute(() -> halfOpen(b, breaker)), fleet.config().circuitBreakerWait());
        }
        fleet.breakerMoved(b, from, to);
    }

    /** Fleet context: unless {@code b} got another breaker since, or this one moved on by itself. */
    private void halfOpen(Backend b, Breaker breaker) {
        if (b.admission.breaker() == breaker && breaker.state() == CircuitBreaker.State.OPEN) {
            try {
                breaker.cb.transitionToHalfOpenState();
            } catch (RuntimeException e) {
                LOG.log(Level.DEBUG, "breaker of " + b.id() + " moved on by itself", e);
            }
            breaker.watch(); // its transition is queued and runs after this task
        }
    }
}
