package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.testing.FakeClock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The wait for an answer's start, and its hand-over to the body's deadline. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class FirstTokenTimerTest {

    private final FakeClock clock = new FakeClock();
    private final CompletableFuture<Object> call = new CompletableFuture<>();
    private final List<String> ran = new ArrayList<>();

    @Test
    void aDeadlineHandedOverRunsTheBodysExpiryAndFailsNothing() {
        FirstTokenTimer t = FirstTokenTimer.start(clock, null, Duration.ofSeconds(5), call);
        assertThat(t.isDeadline()).isTrue();
        assertThat(t.handOver(() -> ran.add("expired"), () -> ran.add("expired: stopped"))).isTrue();

        clock.advance(Duration.ofSeconds(5));
        assertThat(ran).containsExactly("expired");
        assertThat(call).isNotCancelled();
        assertThat(t.fired()).isFalse();
        assertThat(clock.scheduledTasks()).isEqualTo(1);
    }

    @Test
    void aTimerThatFiredIsNotHandedOver() {
        FirstTokenTimer t = FirstTokenTimer.start(clock, null, Duration.ofSeconds(5), call);
        clock.advance(Duration.ofSeconds(5));
        assertThat(t.fired()).isTrue();
        assertThat(call).isCancelled();
        assertThat(t.handOver(() -> ran.add("expired"), () -> ran.add("expired: stopped"))).isFalse();
        clock.advance(Duration.ofSeconds(60));
        assertThat(ran).isEmpty();
    }

    @Test
    void aFirstTokenTimerHandedOverRunsTheExpiryAtTheRequestsDeadline() {
        FirstTokenTimer t = FirstTokenTimer.start(clock, Duration.ofSeconds(2), Duration.ofSeconds(5), call);
        assertThat(t.isDeadline()).isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(t.handOver(() -> ran.add("expired"), () -> ran.add("expired: stopped"))).isTrue();

        clock.advance(Duration.ofSeconds(1)); // the first-token wait's end: the token came, nothing fails
        assertThat(t.fired()).isFalse();
        assertThat(call).isNotCancelled();
        assertThat(ran).isEmpty();
        clock.advance(Duration.ofMillis(2999));
        assertThat(ran).isEmpty();
        clock.advance(Duration.ofMillis(1)); // the request's deadline, 5 s after the start
        assertThat(ran).containsExactly("expired");
        assertThat(clock.scheduledTasks()).as("the wait's, then the rest of the request's time").isEqualTo(2);
    }

    @Test
    void aHandedOverExpiryThatTheClosedSchedulerRefusesRunsAtOnce() {
        boolean[] closed = {false};
        io.vllmrouter.api.time.Scheduler closing = new io.vllmrouter.api.time.Scheduler() {
            @Override
            public Cancellable schedule(Runnable task, Duration delay) {
                if (closed[0]) {
                    throw new java.util.concurrent.RejectedExecutionException("closed");
                }
                return clock.schedule(task, delay);
            }

            @Override
            public Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
                throw new UnsupportedOperationException();
            }

            @Override
            public void close() {
                closed[0] = true;
            }
        };
        FirstTokenTimer t = FirstTokenTimer.start(closing, Duration.ofSeconds(2), Duration.ofSeconds(5), call);
        assertThat(t.handOver(() -> ran.add("expired"), () -> ran.add("expired: stopped"))).isTrue();
        closing.close();

        clock.advance(Duration.ofSeconds(2)); // the wait's end cannot set the rest of the request's time
        assertThat(ran).as("the answer ends rather than go on untimed, and not as timed out").containsExactly("expired: stopped");
        assertThat(call).isNotCancelled();
        assertThat(t.fired()).isFalse();
        clock.advance(Duration.ofSeconds(10));
        assertThat(ran).hasSize(1);
    }

    @Test
    void aFirstTokenTimerHandedOverIsCancelledBeforeAndAfterItsWait() {
        FirstTokenTimer before = FirstTokenTimer.start(clock, Duration.ofSeconds(2), Duration.ofSeconds(5), call);
        assertThat(before.handOver(() -> ran.add("before"), () -> ran.add("before: stopped"))).isTrue();
        before.cancel();
        FirstTokenTimer after = FirstTokenTimer.start(clock, Duration.ofSeconds(2), Duration.ofSeconds(5), call);
        assertThat(after.handOver(() -> ran.add("after"), () -> ran.add("after: stopped"))).isTrue();
        clock.advance(Duration.ofSeconds(3));
        after.cancel(); // the answer ended after the wait: the expiry's own task is the one stopped
        clock.advance(Duration.ofSeconds(10));
        assertThat(ran).isEmpty();
        assertThat(clock.pendingTasks()).isZero();
    }

    @Test
    void aFirstTokenTimerThatRanOutOrWasCancelledIsNotHandedOver() {
        FirstTokenTimer t = FirstTokenTimer.start(clock, Duration.ofSeconds(2), Duration.ofSeconds(5), call);
        clock.advance(Duration.ofSeconds(2));
        assertThat(t.fired()).isTrue();
        assertThat(call).isCancelled();
        assertThat(t.handOver(() -> ran.add("expired"), () -> ran.add("expired: stopped"))).isFalse();

        FirstTokenTimer stopped = FirstTokenTimer.start(clock, Duration.ofSeconds(2), Duration.ofSeconds(5), new CompletableFuture<>());
        stopped.cancel(); // e.g. the attempt failed
        assertThat(stopped.handOver(() -> ran.add("stopped"), () -> ran.add("stopped: stopped"))).isFalse();
        clock.advance(Duration.ofSeconds(10));
        assertThat(ran).isEmpty();
    }

    @Test
    void cancellingAHandedOverTimerStopsTheExpiry() {
        FirstTokenTimer t = FirstTokenTimer.start(clock, null, Duration.ofSeconds(5), call);
        assertThat(t.handOver(() -> ran.add("expired"), () -> ran.add("expired: stopped"))).isTrue();
        t.cancel();
        clock.advance(Duration.ofSeconds(10));
        assertThat(ran).isEmpty();
        assertThat(clock.pendingTasks()).isZero();
    }
}
