package io.vllmrouter.strategies;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.spi.BackendSpeed;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.RequestSize;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.testing.ScriptedRandom;
import io.vllmrouter.testing.TestBackend;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class LatencyAwareStrategyTest {

    /** The mixed fleet: 2 slots at 60 ms per token, 4 at 30, 8 at 15; 64-token answers. */
    private static final TestBackend SLOW = TestBackend.of(0, 2, 0, 0).withSpeed(60, 60, 64);
    private static final TestBackend MEDIUM = TestBackend.of(1, 4, 0, 0).withSpeed(30, 30, 64);
    private static final TestBackend FAST = TestBackend.of(2, 8, 0, 0).withSpeed(15, 15, 64);

    private final LatencyAwareStrategy strategy = new LatencyAwareStrategy(new LatencyAwareSettings(0));

    private static RouteContext request(RequestSize size, long key) {
        return RouteContext.ofSize("m", null, size, new ScriptedRandom().withLongs(key));
    }

    private static RouteContext typical(long key) {
        return request(RequestSize.UNKNOWN, key);
    }

    @Test
    void anIdleMixedFleetSendsARequestToTheFastestServer() {
        // Expected: slow 0.06 + 64 * 0.06 = 3.90 s, medium 1.95 s, fast 0.975 s.
        assertThat(strategy.pick(List.of(SLOW, MEDIUM, FAST), typical(1))).isSameAs(FAST);
    }

    @Test
    void aRequestThatWouldOnlyFinishSoonerElsewhereGoesElsewhere() {
        // Fast with 14 outstanding: 14 * 0.975 / 8 = 1.706 s of work ahead, 2.68 s in all, against
        // 1.95 s on the idle medium one, which wins; the slow one (3.90 s) does not.
        TestBackend busyFast = FAST.withLoad(8, 6);
        assertThat(strategy.pick(List.of(SLOW, MEDIUM, busyFast), typical(1))).isSameAs(MEDIUM);
        // With 7 outstanding the fast one is still sooner: 7 * 0.975 / 8 + 0.975 = 1.83 s < 1.95 s.
        TestBackend halfFast = FAST.withLoad(7, 0);
        assertThat(strategy.pick(List.of(SLOW, MEDIUM, halfFast), typical(1))).isSameAs(halfFast);
    }

    @Test
    void aSlowCardStillGetsTheShortRequestsItServesWell() {
        // Fast and medium busy: fast 16 outstanding (1.95 s ahead), medium 8 (3.9 s ahead).
        List<TestBackend> busy = List.of(SLOW, MEDIUM.withLoad(4, 4), FAST.withLoad(8, 8));
        // A 64-token answer: slow 3.90 s, fast 1.95 + 0.975 = 2.93 s: fast.
        assertThat(strategy.pick(busy, typical(1))).isSameAs(busy.get(2));
        // A 4-token answer (max_tokens 4): slow 0.06 + 4 * 0.06 = 0.30 s, fast 1.95 + 0.075 s: slow.
        assertThat(strategy.pick(busy, request(new RequestSize(20, 4), 1))).isSameAs(SLOW);
    }

    @Test
    void aLongPromptGoesWhereItsPrefillIsFast() {
        // Same decode speed, busy-free; A prefills at 0.5 ms per token, B at 0.1 ms.
        TestBackend a = TestBackend.of(0, 4, 0, 0).withSpeed(new BackendSpeed(0.02, 0.05, 0.0005, 64, 1));
        TestBackend b = TestBackend.of(1, 4, 1, 0).withSpeed(new BackendSpeed(0.02, 0.05, 0.0001, 64, 1));
        // 8,000 prompt tokens: A 4.0 + 1.28 = 5.28 s, B 0.25 * 2.08 + 0.8 + 1.28 = 2.6 s.
        assertThat(strategy.pick(List.of(a, b), request(new RequestSize(8000, -1), 1))).isSameAs(b);
        // 20 prompt tokens: A 0.01 + 1.28 = 1.29 s, B (busy) 0.25 * 1.33 + 0.002 + 1.28 = 1.62 s.
        assertThat(strategy.pick(List.of(a, b), request(new RequestSize(20, -1), 1))).isSameAs(a);
    }

    @Test
    void onEquallyFastServersItRanksAsLeastLoaded() {
        List<TestBackend> fleet = List.of(TestBackend.of(0, 10, 5, 0), TestBackend.of(1, 4, 1, 0), TestBackend.of(2, 8, 3, 1));
        // loads 0.5, 0.25, 0.5: b1 whatever the key
        for (long key = 0; key < 20; key++) {
            assertThat(strategy.pick(fleet, typical(key))).isSameAs(fleet.get(1));
        }
    }

    @Test
    void exactTiesGoToTheHigherRendezvousWeightOfTheRequestsKey() {
        List<TestBackend> twins = List.of(TestBackend.of(0, 4, 1, 0), TestBackend.of(1, 4, 1, 0), TestBackend.of(2, 4, 1, 0));
        Set<BackendView> chosen = new HashSet<>();
        for (long key = 0; key < 30; key++) {
            BackendView expected = twins.get(0);
            for (TestBackend b : twins) {
                if (Long.compareUnsigned(LatencyAwareStrategy.rank(key, b), LatencyAwareStrategy.rank(key, expected)) > 0) {
                    expected = b;
                }
            }
            BackendView pick = strategy.pick(twins, typical(key));
            assertThat(pick).as("key %d", key).isSameAs(expected);
            assertThat(strategy.pick(twins, typical(key))).as("the same key, the same pick").isSameAs(pick);
            chosen.add(pick);
        }
        assertThat(chosen).as("different requests share equal backends").hasSize(3);
    }

    @Test
    void theSpreadSharesNearlyEqualBackendsAndNoMore() {
        LatencyAwareStrategy spread = new LatencyAwareStrategy(new LatencyAwareSettings(0.05));
        // 1 % apart: within the spread, so requests share them (replicas seeing the same figures do not herd).
        TestBackend a = TestBackend.of(0, 8, 0, 0).withSpeed(15, 15, 64);
        TestBackend b = TestBackend.of(1, 8, 0, 0).withSpeed(15.15, 15, 64);
        Set<BackendView> chosen = new HashSet<>();
        for (long key = 0; key < 40; key++) {
            chosen.add(spread.pick(List.of(a, b), typical(key)));
        }
        assertThat(chosen).containsExactlyInAnyOrder(a, b);
        // 20 % apart: never.
        TestBackend slower = b.withSpeed(18, 18, 64);
        for (long key = 0; key < 40; key++) {
            assertThat(spread.pick(List.of(a, slower), typical(key))).isSameAs(a);
        }
    }

    @Test
    void anAffinityKeyIsTheRendezvousKeyAndNoRandomIsDrawn() {
        List<TestBackend> twins = List.of(TestBackend.of(0, 4, 1, 0), TestBackend.of(1, 4, 1, 0));
        ScriptedRandom none = new ScriptedRandom();
        RouteContext ctx = RouteContext.ofSize("m", "conversation-7", RequestSize.UNKNOWN, none);
        BackendView first = strategy.pick(twins, ctx);
        for (int i = 0; i < 5; i++) {
            assertThat(strategy.pick(twins, ctx)).isSameAs(first);
        }
        assertThat(none.exhausted()).isTrue();
    }

    @Test
    void oneOrNoCandidate() {
        assertThat(strategy.pick(List.of(), typical(1))).isNull();
        assertThat(strategy.pick(List.of(SLOW), new RouteContext.Sized("m", null, RequestSize.UNKNOWN, new ScriptedRandom())))
                .isSameAs(SLOW);
    }

    @Test
    void settingsAreCheckedByName() {
        assertThat(LatencyAwareSettings.parse(Map.of("spread", "0.1")).spread()).isEqualTo(0.1);
        assertThat(LatencyAwareSettings.parse(Map.of())).isEqualTo(LatencyAwareSettings.DEFAULTS);
        assertThatThrownBy(() -> LatencyAwareSettings.parse(Map.of("spread", "2")))
                .hasMessage("spread: 2.0 (expected: number from 0 to 1)");
        assertThatThrownBy(() -> LatencyAwareSettings.parse(Map.of("spread", "lots")))
                .hasMessage("spread: lots (expected: number from 0 to 1)");
        assertThatThrownBy(() -> LatencyAwareSettings.parse(Map.of("spred", "0.1")))
                .hasMessage("spred: 0.1 (expected: a key of [strategies.latency-aware]: spread)");
        assertThat(new LatencyAwareStrategyProvider().create(Map.of("spread", "0.3")))
                .isInstanceOfSatisfying(LatencyAwareStrategy.class, s -> assertThat(s.settings().spread()).isEqualTo(0.3));
    }
}
