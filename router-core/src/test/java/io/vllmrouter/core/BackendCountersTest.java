package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.testing.FakeClock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A backend's request counters, averages and completion rate, striped over the threads that update them. */
class BackendCountersTest {

    private static final long MS = 1_000_000L;

    private final FakeClock clock = new FakeClock();
    private final BackendCounters counters = new BackendCounters(clock);

    @Test
    void countsAttemptsAndTheirEnds() {
        for (int i = 0; i < 5; i++) {
            counters.attemptStarted();
        }
        counters.attemptEnded(false, 10 * MS);
        counters.attemptEnded(true, 10 * MS);
        counters.attemptEnded(null, 10 * MS); // cancelled: counted against nobody

        BackendStats.RequestStats s = counters.stats();
        assertThat(s.total()).isEqualTo(5);
        assertThat(s.succeeded()).isEqualTo(1);
        assertThat(s.failed()).isEqualTo(1);
    }

    @Test
    void averagesAreNaNUntilTheFirstSampleThenWeighted() {
        assertThat(counters.stats().meanLatencyMillis()).isNaN();
        assertThat(counters.stats().meanTtfbMillis()).isNaN();

        counters.attemptEnded(false, 100 * MS);
        counters.headersArrived(40 * MS);
        assertThat(counters.stats().meanLatencyMillis()).isEqualTo(100.0);
        assertThat(counters.stats().meanTtfbMillis()).isEqualTo(40.0);

        counters.attemptEnded(false, 200 * MS); // 100 + 0.2 * (200 - 100)
        assertThat(counters.stats().meanLatencyMillis()).isCloseTo(120.0, within(1e-9));
        counters.attemptEnded(true, 5000 * MS); // a failure's latency is not an answer's
        assertThat(counters.stats().meanLatencyMillis()).isCloseTo(120.0, within(1e-9));
    }

    @Test
    void rateCountsTheLastFiveWholeSeconds() {
        clock.advance(Duration.ofSeconds(100));
        for (int i = 0; i < 10; i++) {
            counters.attemptEnded(false, MS);
        }
        assertThat(counters.stats().requestsPerSecond()).isZero(); // the current second is not whole yet

        clock.advance(Duration.ofSeconds(1));
        for (int i = 0; i < 5; i++) {
            counters.attemptEnded(true, MS);
        }
        clock.advance(Duration.ofSeconds(1));
        assertThat(counters.stats().requestsPerSecond()).isEqualTo(15 / 5.0);

        clock.advance(Duration.ofSeconds(4)); // the first second has left the window, the second not yet
        assertThat(counters.stats().requestsPerSecond()).isEqualTo(5 / 5.0);
        clock.advance(Duration.ofSeconds(1));
        assertThat(counters.stats().requestsPerSecond()).isZero();

        counters.attemptEnded(false, MS); // a slot used again starts from zero
        clock.advance(Duration.ofSeconds(1));
        assertThat(counters.stats().requestsPerSecond()).isEqualTo(1 / 5.0);
    }

    @Test
    void threadsMergeTheirCountsAndRecentThreadsWeighTheAverage() throws InterruptedException {
        clock.advance(Duration.ofSeconds(50));
        // A thread that carried one slow request, long ago.
        runOn(() -> counters.attemptEnded(false, 1000 * MS));
        assertThat(counters.stats().meanLatencyMillis()).isEqualTo(1000.0);

        clock.advance(Duration.ofSeconds(60));
        // Two busy threads now (ids differ: stripes differ, or share one and still add up).
        runOn(() -> {
            for (int i = 0; i < 100; i++) {
                counters.attemptEnded(false, 10 * MS);
            }
        });
        runOn(() -> {
            for (int i = 0; i < 100; i++) {
                counters.attemptEnded(false, 10 * MS);
            }
        });
        clock.advance(Duration.ofSeconds(1));

        BackendStats.RequestStats s = counters.stats();
        assertThat(s.succeeded()).isEqualTo(201);
        assertThat(s.requestsPerSecond()).isEqualTo(200 / 5.0);
        // The old thread's 1000 ms has no weight beside the 200 recent completions.
        assertThat(s.meanLatencyMillis()).isCloseTo(10.0, within(1e-6));
    }

    private static void runOn(Runnable r) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        Thread t = new Thread(() -> {
            try {
                r.run();
            } finally {
                done.countDown();
            }
        });
        t.start();
        assertThat(done.await(10, TimeUnit.SECONDS)).isTrue();
    }
}
