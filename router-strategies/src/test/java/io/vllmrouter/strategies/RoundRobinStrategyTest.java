package io.vllmrouter.strategies;

import io.vllmrouter.testing.ScriptedRandom;
import io.vllmrouter.testing.TestBackend;
import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.RouteContext;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class RoundRobinStrategyTest {

    private static final List<TestBackend> THREE = List.of(
            TestBackend.of(0, 1, 0, 0), TestBackend.of(1, 100, 90, 90), TestBackend.of(2, 1, 0, 0));

    private static final RouteContext CTX = RouteContext.of(null, false, null, 1, new ScriptedRandom());

    private static List<Integer> picks(RoundRobinStrategy strategy, List<TestBackend> backends, int n) {
        List<Integer> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(strategy.pick(backends, CTX).index());
        }
        return out;
    }

    @Test
    void takesEachInTurnIgnoringLoad() {
        assertThat(picks(new RoundRobinStrategy(), THREE, 7)).containsExactly(0, 1, 2, 0, 1, 2, 0);
    }

    @Test
    void wrapsAroundAtIntegerMaxValue() {
        // MAX_VALUE % 3 = 1 (2147483647 = 3 * 715827882 + 1); then MIN_VALUE & MAX_VALUE = 0.
        assertThat(picks(new RoundRobinStrategy(Integer.MAX_VALUE), THREE, 5)).containsExactly(1, 0, 1, 2, 0);
        List<TestBackend> two = THREE.subList(0, 2);
        // MAX_VALUE is odd: 1, then 0 after the wrap, so two backends still alternate.
        assertThat(picks(new RoundRobinStrategy(Integer.MAX_VALUE - 1), two, 4)).containsExactly(0, 1, 0, 1);
        // A negative counter (after the wrap) is masked, never a negative index.
        assertThat(picks(new RoundRobinStrategy(-1), THREE, 2)).containsExactly(1, 0);
    }

    @Test
    void followsAListThatChangesSize() {
        RoundRobinStrategy strategy = new RoundRobinStrategy();
        assertThat(strategy.pick(THREE, CTX).index()).isEqualTo(0);
        assertThat(strategy.pick(THREE.subList(0, 1), CTX).index()).isEqualTo(0);  // counter 1 % 1
        assertThat(strategy.pick(THREE, CTX).index()).isEqualTo(2);                // counter 2 % 3
    }

    @Test
    void concurrentPicksShareTheRotationExactly() throws Exception {
        RoundRobinStrategy strategy = new RoundRobinStrategy();
        ConcurrentHashMap<BackendView, AtomicInteger> counts = new ConcurrentHashMap<>();
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < 30_000; i++) {
                        counts.computeIfAbsent(strategy.pick(THREE, CTX), k -> new AtomicInteger()).incrementAndGet();
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        // Every counter value 0..59999 is handed out once: exactly 20000 each.
        assertThat(counts).hasSize(3);
        assertThat(counts.values()).allSatisfy(c -> assertThat(c.get()).isEqualTo(20_000));
    }
}
