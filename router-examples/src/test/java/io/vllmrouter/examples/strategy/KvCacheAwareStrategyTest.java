package io.vllmrouter.examples.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.strategies.WeightedScoreStrategy;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class KvCacheAwareStrategyTest {

    private final KvCacheAwareStrategy strategy = new KvCacheAwareStrategy();

    /** nextInt(bound) answers from a script; anything else fails. */
    private static final class Scripted implements RandomGenerator {
        final Deque<Integer> answers = new ArrayDeque<>();
        final List<Integer> bounds = new ArrayList<>();

        Scripted(int... answers) {
            for (int a : answers) {
                this.answers.add(a);
            }
        }

        @Override
        public int nextInt(int bound) {
            bounds.add(bound);
            Integer a = answers.poll();
            if (a == null) {
                throw new AssertionError("unexpected nextInt(" + bound + ")");
            }
            return a;
        }

        @Override
        public long nextLong() {
            throw new AssertionError("unexpected nextLong()");
        }
    }

    private static RouteContext ctx(RandomGenerator random) {
        return RouteContext.of("m", false, null, 1, random);
    }

    @Test
    void picksLowestKvCacheUsageAmongBackendsWithRoom() {
        List<Backend> backends = List.of(
                Backend.of(0, 10, 1, 0, 0.80),   // score 3/10 = 0.3,  usage 0.80 (weighted-score's pick)
                Backend.of(1, 10, 4, 3, 0.30),   // score 15/10 = 1.5, usage 0.30 <- lowest with room
                Backend.of(2, 4, 4, 0, 0.10),    // score 12/4 = 3.0: full (not < 3.0), out of the KV choice
                Backend.of(3, 10, 2, 0, 0.55));  // score 0.6, usage 0.55
        assertThat(strategy.pick(backends, ctx(new Scripted()))).isSameAs(backends.get(1));
        assertThat(new WeightedScoreStrategy().pick(backends, ctx(new Scripted()))).isSameAs(backends.get(0));
    }

    @Test
    void fallsBackToWeightedScoreWhenAllAreBusy() {
        List<Backend> backends = List.of(
                Backend.of(0, 2, 2, 1, 0.05),    // (6 + 1) / 2 = 3.5
                Backend.of(1, 4, 4, 3, 0.90),    // (12 + 3) / 4 = 3.75
                Backend.of(2, 8, 8, 0, 0.50));   // 24 / 8 = 3.0 <- lowest score, though not the lowest usage
        assertThat(strategy.pick(backends, ctx(new Scripted()))).isSameAs(backends.get(2));
    }

    @Test
    void unknownOrStaleUsageTakesNoPartInTheKvChoice() {
        List<Backend> backends = List.of(
                Backend.of(0, 10, 0, 0, Double.NaN),                 // score 0, usage unknown
                new Backend(1, 10, 1, 0, 0.01, false),               // stale figures
                Backend.of(2, 10, 2, 0, 0.70));                      // score 0.6, usage 0.70 <- only qualifier
        assertThat(strategy.pick(backends, ctx(new Scripted()))).isSameAs(backends.get(2));

        List<Backend> noneKnown = List.of(
                Backend.of(0, 10, 3, 0, Double.NaN),                 // score 0.9
                new Backend(1, 10, 1, 0, 0.01, false));              // score 0.3 <- weighted-score's pick
        assertThat(strategy.pick(noneKnown, ctx(new Scripted()))).isSameAs(noneKnown.get(1));
    }

    @Test
    void equalUsageIsDrawnAtRandom() {
        List<Backend> backends = List.of(
                Backend.of(0, 10, 1, 0, 0.25),   // tied
                Backend.of(1, 10, 1, 0, 0.50),
                Backend.of(2, 10, 2, 0, 0.25));  // tied: nextInt(2) == 0 takes it
        Scripted keepFirst = new Scripted(1);
        assertThat(strategy.pick(backends, ctx(keepFirst))).isSameAs(backends.get(0));
        assertThat(keepFirst.bounds).containsExactly(2);
        assertThat(strategy.pick(backends, ctx(new Scripted(0)))).isSameAs(backends.get(2));
    }

    @Test
    void thresholdIsConfigurableAndValidated() {
        List<Backend> backends = List.of(
                Backend.of(0, 10, 1, 0, 0.60),   // score 0.3
                Backend.of(1, 10, 4, 0, 0.20));  // score 1.2: above a 1.0 threshold
        assertThat(new KvCacheAwareStrategy(1.0).pick(backends, ctx(new Scripted()))).isSameAs(backends.get(0));
        assertThat(new KvCacheAwareStrategy(2.0).pick(backends, ctx(new Scripted()))).isSameAs(backends.get(1));
        assertThatThrownBy(() -> new KvCacheAwareStrategy(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxScore: 0.0 (expected: finite and > 0)");
        assertThatThrownBy(() -> new KvCacheAwareStrategy(Double.NaN))
                .hasMessage("maxScore: NaN (expected: finite and > 0)");
    }
}
