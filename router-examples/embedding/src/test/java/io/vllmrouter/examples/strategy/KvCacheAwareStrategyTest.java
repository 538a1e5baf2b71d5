package io.vllmrouter.examples.strategy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.strategies.WeightedScoreStrategy;
import io.vllmrouter.testing.ScriptedRandom;
import io.vllmrouter.testing.TestBackend;
import java.util.List;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class KvCacheAwareStrategyTest {

    private final KvCacheAwareStrategy strategy = new KvCacheAwareStrategy();

    private static RouteContext ctx(RandomGenerator random) {
        return RouteContext.of("m", false, null, 1, random);
    }

    @Test
    void picksLowestKvCacheUsageAmongBackendsWithRoom() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 10, 1, 0, 0.80),   // score 3/10 = 0.3,  usage 0.80 (weighted-score's pick)
                TestBackend.of(1, 10, 4, 3, 0.30),   // score 15/10 = 1.5, usage 0.30 <- lowest with room
                TestBackend.of(2, 4, 4, 0, 0.10),    // score 12/4 = 3.0: full (not < 3.0), out of the KV choice
                TestBackend.of(3, 10, 2, 0, 0.55));  // score 0.6, usage 0.55
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(1));
        assertThat(new WeightedScoreStrategy().pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(0));
    }

    @Test
    void fallsBackToWeightedScoreWhenAllAreBusy() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 2, 2, 1, 0.05),    // (6 + 1) / 2 = 3.5
                TestBackend.of(1, 4, 4, 3, 0.90),    // (12 + 3) / 4 = 3.75
                TestBackend.of(2, 8, 8, 0, 0.50));   // 24 / 8 = 3.0 <- lowest score, though not the lowest usage
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(2));
    }

    @Test
    void unknownOrStaleUsageTakesNoPartInTheKvChoice() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 10, 0, 0, Double.NaN),                 // score 0, usage unknown
                TestBackend.of(1, 10, 1, 0, 0.01).withMetricsFresh(false),   // stale figures
                TestBackend.of(2, 10, 2, 0, 0.70));                      // score 0.6, usage 0.70 <- only qualifier
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(2));

        List<TestBackend> noneKnown = List.of(
                TestBackend.of(0, 10, 3, 0, Double.NaN),                 // score 0.9
                TestBackend.of(1, 10, 1, 0, 0.01).withMetricsFresh(false));  // score 0.3 <- weighted-score's pick
        assertThat(strategy.pick(noneKnown, ctx(new ScriptedRandom()))).isSameAs(noneKnown.get(1));
    }

    @Test
    void equalUsageIsDrawnAtRandom() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 10, 1, 0, 0.25),   // tied
                TestBackend.of(1, 10, 1, 0, 0.50),
                TestBackend.of(2, 10, 2, 0, 0.25));  // tied: nextInt(2) == 0 takes it
        ScriptedRandom keepFirst = new ScriptedRandom(1);
        assertThat(strategy.pick(backends, ctx(keepFirst))).isSameAs(backends.get(0));
        assertThat(keepFirst.bounds).containsExactly(2);
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom(0)))).isSameAs(backends.get(2));
    }

    @Test
    void thresholdIsConfigurableAndValidated() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 10, 1, 0, 0.60),   // score 0.3
                TestBackend.of(1, 10, 4, 0, 0.20));  // score 1.2: above a 1.0 threshold
        assertThat(new KvCacheAwareStrategy(1.0).pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(0));
        assertThat(new KvCacheAwareStrategy(2.0).pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(1));
        assertThatThrownBy(() -> new KvCacheAwareStrategy(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxScore: 0.0 (expected: finite and > 0)");
        assertThatThrownBy(() -> new KvCacheAwareStrategy(Double.NaN))
                .hasMessage("maxScore: NaN (expected: finite and > 0)");
    }
}
