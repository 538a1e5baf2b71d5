package io.vllmrouter.strategies;

import io.vllmrouter.testing.ScriptedRandom;
import io.vllmrouter.testing.TestBackend;
import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.RouteContext;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

class LeastLoadedStrategyTest {

    private final LeastLoadedStrategy strategy = new LeastLoadedStrategy();

    private static RouteContext ctx(RandomGenerator random) {
        return RouteContext.of("m", true, null, 1, random);
    }

    @Test
    void picksLowestOutstandingOverCapacity() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 10, 3, 4),  // (3 + 4) / 10 = 0.7
                TestBackend.of(1, 4, 1, 1),   // (1 + 1) / 4  = 0.5
                TestBackend.of(2, 16, 4, 3),  // (4 + 3) / 16 = 0.4375 <- lowest
                TestBackend.of(3, 2, 1, 0));  // (1 + 0) / 2  = 0.5
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(2));
    }

    @Test
    void differsFromWeightedScoreOnTheSameInput() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 10, 4, 0),   // least-loaded 4/10 = 0.4 <- ; weighted (12 + 0)/10 = 1.2
                TestBackend.of(1, 10, 1, 6));  // least-loaded 7/10 = 0.7    ; weighted (3 + 6)/10 = 0.9 <-
        RouteContext context = ctx(new ScriptedRandom());
        assertThat(strategy.pick(backends, context)).isSameAs(backends.get(0));
        assertThat(new WeightedScoreStrategy().pick(backends, context)).isSameAs(backends.get(1));
    }

    @Test
    void tieIsBrokenAtRandomAmongTiedOnly() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 4, 1, 1),   // 2/4 = 0.5  tied
                TestBackend.of(1, 4, 3, 0),   // 3/4 = 0.75
                TestBackend.of(2, 8, 2, 2));  // 4/8 = 0.5  tied
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom(1)))).isSameAs(backends.get(0));
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom(0)))).isSameAs(backends.get(2));

        Map<BackendView, Integer> counts = new HashMap<>();
        RouteContext seeded = ctx(new SplittableRandom(1));
        for (int i = 0; i < 2000; i++) {
            counts.merge(strategy.pick(backends, seeded), 1, Integer::sum);
        }
        assertThat(counts.keySet()).containsExactlyInAnyOrder(backends.get(0), backends.get(2));
        assertThat(counts.values()).allSatisfy(c -> assertThat(c).isBetween(900, 1100));
    }

    @Test
    void oneBackend() {
        List<TestBackend> one = List.of(TestBackend.of(0, 3, 9, 9));
        assertThat(strategy.pick(one, ctx(new ScriptedRandom()))).isSameAs(one.get(0));
    }
}
