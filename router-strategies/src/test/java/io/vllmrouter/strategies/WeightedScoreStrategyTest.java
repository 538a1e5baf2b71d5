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

class WeightedScoreStrategyTest {

    private final WeightedScoreStrategy strategy = new WeightedScoreStrategy();

    private static RouteContext ctx(RandomGenerator random) {
        return RouteContext.of("m", false, null, 1, random);
    }

    @Test
    void picksLowestRunningTimesThreePlusWaitingOverCapacity() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 10, 2, 5),  // (2*3 + 5) / 10 = 1.1
                TestBackend.of(1, 4, 1, 0),   // (1*3 + 0) / 4  = 0.75  <- lowest
                TestBackend.of(2, 8, 1, 4),   // (1*3 + 4) / 8  = 0.875
                TestBackend.of(3, 1, 0, 1));  // (0*3 + 1) / 1  = 1.0
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(1));
        assertThat(WeightedScoreStrategy.weightedScore(backends.get(0))).isEqualTo(1.1);
        assertThat(WeightedScoreStrategy.weightedScore(backends.get(2))).isEqualTo(0.875);
    }

    @Test
    void capacityLetsABiggerBackendTakeMoreRequests() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 5, 2, 0),    // (2*3 + 0) / 5  = 1.2
                TestBackend.of(1, 20, 5, 2));  // (5*3 + 2) / 20 = 0.85 <- lowest, though it holds more
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(1));
    }

    @Test
    void aRunningRequestWeighsThreeWaitingOnes() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 10, 2, 0),   // (2*3 + 0) / 10 = 0.6
                TestBackend.of(1, 10, 0, 5),   // (0*3 + 5) / 10 = 0.5 <- lowest: five waiting < two running
                TestBackend.of(2, 10, 0, 6));  // (0*3 + 6) / 10 = 0.6
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(1));
    }

    /** b1, b3 and b4 all score 0.75; b3 reaches it from other figures (6/8). */
    private static final List<TestBackend> TIED = List.of(
            TestBackend.of(0, 4, 3, 0),   // 9/4 = 2.25
            TestBackend.of(1, 4, 1, 0),   // 3/4 = 0.75  tied
            TestBackend.of(2, 4, 2, 1),   // 7/4 = 1.75
            TestBackend.of(3, 8, 2, 0),   // 6/8 = 0.75  tied
            TestBackend.of(4, 4, 0, 3),   // 3/4 = 0.75  tied
            TestBackend.of(5, 2, 1, 0));  // 3/2 = 1.5

    @Test
    void tieIsDrawnWithOneNextIntPerTiedBackend() {
        // Reservoir: at b3 (2nd tie) keep b3 iff nextInt(2) == 0; at b4 (3rd tie) take b4 iff nextInt(3) == 0.
        assertTiePick(new ScriptedRandom(1, 1), 1);
        assertTiePick(new ScriptedRandom(1, 2), 1);
        assertTiePick(new ScriptedRandom(0, 1), 3);
        assertTiePick(new ScriptedRandom(0, 2), 3);
        assertTiePick(new ScriptedRandom(1, 0), 4);
        assertTiePick(new ScriptedRandom(0, 0), 4);
    }

    private void assertTiePick(ScriptedRandom random, int expectedIndex) {
        assertThat(strategy.pick(TIED, ctx(random))).isSameAs(TIED.get(expectedIndex));
        assertThat(random.bounds).containsExactly(2, 3);
        assertThat(random.exhausted()).isTrue();
    }

    @Test
    void seededTieSpreadsEvenlyOverTiedBackendsAndNeverPicksOthers() {
        Map<BackendView, Integer> counts = new HashMap<>();
        RouteContext context = ctx(new SplittableRandom(42));
        for (int i = 0; i < 3000; i++) {
            counts.merge(strategy.pick(TIED, context), 1, Integer::sum);
        }
        // Each tied backend expects 1000 (sd about 26); the seed makes the run repeatable.
        assertThat(counts.keySet()).containsExactlyInAnyOrder(TIED.get(1), TIED.get(3), TIED.get(4));
        assertThat(counts.values()).allSatisfy(c -> assertThat(c).isBetween(900, 1100));
    }

    @Test
    void aBetterScoreAfterATieStartsANewTie() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 4, 0, 2),   // 2/4 = 0.5
                TestBackend.of(1, 4, 0, 2),   // 2/4 = 0.5   tie: nextInt(2) -> 0 takes b1
                TestBackend.of(2, 4, 0, 1),   // 1/4 = 0.25  better: b2, tie count back to 1
                TestBackend.of(3, 4, 0, 1));  // 1/4 = 0.25  tie: nextInt(2) -> 1 keeps b2
        ScriptedRandom random = new ScriptedRandom(0, 1);
        assertThat(strategy.pick(backends, ctx(random))).isSameAs(backends.get(2));
        assertThat(random.bounds).containsExactly(2, 2);
    }

    @Test
    void allEqualCanPickAnyIncludingFirstAndLast() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 8, 1, 1), TestBackend.of(1, 8, 1, 1), TestBackend.of(2, 8, 1, 1),
                TestBackend.of(3, 8, 1, 1), TestBackend.of(4, 8, 1, 1));
        ScriptedRandom first = new ScriptedRandom(1, 1, 1, 1);
        assertThat(strategy.pick(backends, ctx(first))).isSameAs(backends.get(0));
        assertThat(first.bounds).containsExactly(2, 3, 4, 5);
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom(1, 1, 1, 0)))).isSameAs(backends.get(4));
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom(1, 0, 1, 2)))).isSameAs(backends.get(2));

        Map<BackendView, Integer> counts = new HashMap<>();
        RouteContext seeded = ctx(new SplittableRandom(7));
        for (int i = 0; i < 5000; i++) {
            counts.merge(strategy.pick(backends, seeded), 1, Integer::sum);
        }
        assertThat(counts).hasSize(5);
        assertThat(counts.values()).allSatisfy(c -> assertThat(c).isBetween(900, 1100));
    }

    @Test
    void oneBackendIsPickedWithoutTouchingTheRandomSource() {
        List<TestBackend> one = List.of(TestBackend.of(0, 1, 50, 50));
        ScriptedRandom random = new ScriptedRandom();
        assertThat(strategy.pick(one, ctx(random))).isSameAs(one.get(0));
        assertThat(random.bounds).isEmpty();
    }

    @Test
    void noTieMeansNoRandomDraw() {
        List<TestBackend> backends = List.of(TestBackend.of(0, 4, 2, 0), TestBackend.of(1, 4, 1, 0));
        ScriptedRandom random = new ScriptedRandom();
        assertThat(strategy.pick(backends, ctx(random))).isSameAs(backends.get(1));
        assertThat(random.bounds).isEmpty();
    }

    @Test
    void nanScoreRanksLast() {
        List<TestBackend> backends = List.of(
                TestBackend.of(0, 4, Double.NaN, 0),  // NaN ranks after every number
                TestBackend.of(1, 4, 3, 3));          // 12/4 = 3.0
        assertThat(strategy.pick(backends, ctx(new ScriptedRandom()))).isSameAs(backends.get(1));
        List<TestBackend> allNaN = List.of(TestBackend.of(0, 4, Double.NaN, 0), TestBackend.of(1, 4, 0, Double.NaN));
        assertThat(strategy.pick(allNaN, ctx(new ScriptedRandom(0)))).isSameAs(allNaN.get(1));
    }

    @Test
    void emptyListIsRefused() {
        assertThat(strategy.pick(List.of(), ctx(new ScriptedRandom()))).isNull();
    }
}
