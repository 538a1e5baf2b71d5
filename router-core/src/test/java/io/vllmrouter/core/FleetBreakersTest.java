package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import io.vllmrouter.testing.RouterEvents;
import java.io.IOException;
import java.time.Duration;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The fleet's breakers driven directly, with the fleet's own context and a fake clock: no requests. */
class FleetBreakersTest {

    private static final String A = "http://gpu-a:8000";

    private final FakeClock clock = new FakeClock();
    private final RouterEvents events = new RouterEvents();
    private Fleet fleet;

    @AfterEach
    void close() {
        if (fleet != null) {
            fleet.close();
        }
    }

    private static RouterConfigBuilder config() {
        return RouterConfig.builder().enableActiveHealthCheck(false).server(new ServerConfig(A, 4))
                .circuitBreakerMinimumCalls(2).circuitBreakerWindow(2).circuitBreakerWait(Duration.ofSeconds(15));
    }

    private Fleet fleet(RouterConfig c) {
        fleet = new Fleet(c, clock, clock, events, null, new TestSupport.FirstStrategy(), new TestSupport.FakeProbe());
        return fleet;
    }

    private Backend backend() {
        return fleet.snapshot().all.get(0);
    }

    /** Two failures, as a request thread records them. */
    private static void fail(Breaker breaker) {
        for (int i = 0; i < 2; i++) {
            assertThat(breaker.tryAcquire()).isTrue();
            breaker.onError(1_000_000, new IOException("reset"));
        }
    }

    @Test
    void aTransitionReachesTheFleetOnTheSchedulerAndOpenHalfOpensOnTime() {
        fleet(config().build());
        Backend a = backend();
        fail(a.admission.breaker());
        assertThat(a.admission.breaker().state()).isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(fleet.snapshot().candidates(null)).as("not published on the request thread").containsExactly(a);
        assertThat(events.events(RouterEvents.CircuitChange.class)).isEmpty();

        clock.runDueTasks();
        assertThat(fleet.snapshot().candidates(null)).isEmpty();
        assertThat(events.events(RouterEvents.CircuitChange.class))
                .containsExactly(new RouterEvents.CircuitChange(A, CircuitState.CLOSED, CircuitState.OPEN));

        clock.advance(Duration.ofSeconds(14));
        assertThat(a.admission.breaker().state()).isEqualTo(CircuitBreaker.State.OPEN);
        clock.advance(Duration.ofSeconds(1));
        assertThat(a.admission.breaker().state()).isEqualTo(CircuitBreaker.State.HALF_OPEN);
        assertThat(fleet.snapshot().candidates(null)).containsExactly(a);
        assertThat(events.events(RouterEvents.CircuitChange.class)).last()
                .isEqualTo(new RouterEvents.CircuitChange(A, CircuitState.OPEN, CircuitState.HALF_OPEN));
    }

    @Test
    void aBreakerReplacedByAReloadIsNotHalfOpenedByItsOldTimer() {
        fleet(config().build());
        Backend a = backend();
        Breaker old = a.admission.breaker();
        fail(old);
        clock.runDueTasks();
        assertThat(clock.pendingTasks()).as("the half-open timer").isPositive();

        fleet.apply(config().circuitBreakerWait(Duration.ofSeconds(60)).build(), false);
        Breaker renewed = a.admission.breaker();
        assertThat(renewed).isNotSameAs(old);
        assertThat(renewed.state()).isEqualTo(CircuitBreaker.State.CLOSED);

        clock.advance(Duration.ofSeconds(15));
        assertThat(old.state()).as("the old timer found another breaker and left it").isEqualTo(CircuitBreaker.State.OPEN);
        assertThat(renewed.state()).isEqualTo(CircuitBreaker.State.CLOSED);
        assertThat(events.events(RouterEvents.CircuitChange.class)).hasSize(1);
    }

    @Test
    void noHalfOpenTimerOnceTheFleetIsClosed() {
        fleet(config().build());
        Breaker breaker = backend().admission.breaker();
        fleet.close();
        fail(breaker);
        clock.runDueTasks();
        assertThat(events.events(RouterEvents.CircuitChange.class)).hasSize(1);
        clock.advance(Duration.ofSeconds(60));
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
    }

    @Test
    void aWindowFilledFromManyThreadsAtOnceCountsItsLastCalls() throws Exception {
        fleet(config().circuitBreakerWindow(20).circuitBreakerMinimumCalls(20).circuitBreakerFailureRate(100).build());
        Breaker breaker = backend().admission.breaker();
        Thread[] threads = new Thread[4];
        Queue<Throwable> thrown = new ConcurrentLinkedQueue<>();
        AtomicInteger refused = new AtomicInteger();
        for (int t = 0; t < threads.length; t++) {
            threads[t] = new Thread(() -> {
                try {
                    for (int i = 0; i < 5_000; i++) {
                        if (!breaker.tryAcquire()) {
                            refused.incrementAndGet();
                        }
                        breaker.onSuccess(1_000);
                    }
                } catch (RuntimeException e) {
                    thrown.add(e);
                }
            });
            threads[t].start();
        }
        for (Thread t : threads) {
            t.join();
        }
        assertThat(thrown).isEmpty();
        assertThat(refused).hasValue(0);
        CircuitBreaker.Metrics m = breaker.cb.getMetrics();
        assertThat(m.getNumberOfBufferedCalls()).isEqualTo(20);
        assertThat(m.getNumberOfSuccessfulCalls()).isEqualTo(20);
        for (int i = 0; i < 19; i++) {
            breaker.onError(1_000, new IOException("reset"));
        }
        assertThat(breaker.state()).as("one success still in the window").isEqualTo(CircuitBreaker.State.CLOSED);
        breaker.onError(1_000, new IOException("reset"));
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
    }

    @Test
    void aWindowOfOneCallTakesCallAfterCall() {
        fleet(config().circuitBreakerWindow(1).circuitBreakerMinimumCalls(1).build());
        Breaker breaker = backend().admission.breaker();
        for (int i = 0; i < 3; i++) {
            assertThat(breaker.tryAcquire()).isTrue();
            breaker.onSuccess(1_000);
        }
        assertThat(breaker.cb.getMetrics().getNumberOfBufferedCalls()).isEqualTo(1);
        assertThat(breaker.tryAcquire()).isTrue();
        breaker.onError(1_000, new IOException("reset"));
        assertThat(breaker.state()).isEqualTo(CircuitBreaker.State.OPEN);
    }
}
