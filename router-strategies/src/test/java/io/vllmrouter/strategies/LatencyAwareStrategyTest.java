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

    /** The default weights (queue 3, load 0.25), no spread: exact picks. */
    private final LatencyAwareStrategy strategy = new LatencyAwareStrategy(new LatencyAwareSettings(3, 0.25, 0));

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
    void aRequestGoesElsewhereOnceTheFastServersQueueWouldCostMore() {
        // score = service + 3 * queue wait + 0.25 * work ahead; a fast slot frees every 0.975 / 8 s.
        // Fast full, nothing waiting: 0.975 + 3 * 0.122 + 0.25 * 0.975 = 1.58 s < the idle medium's 1.95 s.
        TestBackend full = FAST.withLoad(8, 0);
        assertThat(strategy.pick(List.of(SLOW, MEDIUM, full), typical(1))).isSameAs(full);
        // Two waiting: 0.975 + 3 * 0.366 + 0.25 * 1.22 = 2.38 s: the medium one (1.95 s) takes it,
        // though the request alone would finish sooner on the fast one (2.07 s on the slow one 3.9 s).
        TestBackend queued = FAST.withLoad(8, 2);
        assertThat(strategy.pick(List.of(SLOW, MEDIUM, queued), typical(1))).isSameAs(MEDIUM);
    }

    @Test
    void aSlowCardStillGetsTheShortRequestsItServesWell() {
        // Medium full with 4 waiting; fast full with 4 waiting (its next slot in 0.61 s).
        List<TestBackend> busy = List.of(SLOW, MEDIUM.withLoad(4, 4), FAST.withLoad(8, 4));
        // A 64-token answer: fast 0.975 + 3 * 0.609 + 0.25 * 1.46 = 3.17 s, the slow card 3.90 s: fast.
        assertThat(strategy.pick(busy, typical(1))).isSameAs(busy.get(2));
        // A 4-token answer (max_tokens 4): the slow card 0.06 + 4 * 0.06 = 0.30 s, fast 0.075 + 2.19 s: slow.
        assertThat(strategy.pick(busy, request(new RequestSize(20, 4), 1))).isSameAs(SLOW);
    }

    @Test
    void aLongPromptGoesWhereItsPrefillIsFast() {
        // Same decode speed; A idle, prefilling at 0.5 ms per token; B with one running, at 0.1 ms.
        TestBackend a = TestBackend.of(0, 4, 0, 0).withSpeed(new BackendSpeed(0.02, 0.05, 0.0005, 64, 1));
        TestBackend b = TestBackend.of(1, 4, 1, 0).withSpeed(new BackendSpeed(0.02, 0.05, 0.0001, 64, 1));
        // 8,000 prompt tokens: A 4.0 + 1.28 = 5.28 s, B 0.8 + 1.28 + 0.25 * 1.33 / 4 = 2.16 s.
        assertThat(strategy.pick(List.of(a, b), request(new RequestSize(8000, -1), 1))).isSameAs(b);
        // 20 prompt tokens: A 0.01 + 1.28 = 1.29 s, B 0.002 + 1.28 + 0.083 = 1.37 s.
        assertThat(strategy.pick(List.of(a, b), request(new RequestSize(20, -1), 1))).isSameAs(a);
    }

    @Test
    void onEquallyFastServersBelowCapacityItRanksAsLeastLoaded() {
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
        LatencyAwareStrategy spread = new LatencyAwareStrategy(new LatencyAwareSettings(3, 0.25, 0.05));
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
        LatencyAwareSettings s = LatencyAwareSettings.parse(Map.of("spread", "0.1", "queue_weight", "2", "load_weight", "0"));
        assertThat(s).isEqualTo(new LatencyAwareSettings(2, 0, 0.1));
        assertThat(LatencyAwareSettings.parse(Map.of())).isEqualTo(LatencyAwareSettings.DEFAULTS);
        assertThatThrownBy(() -> LatencyAwareSettings.parse(Map.of("spread", "2")))
                .hasMessage("spread: 2.0 (expected: number from 0 to 1)");
        assertThatThrownBy(() -> LatencyAwareSettings.parse(Map.of("queue_weight", "0.5")))
                .hasMessage("queue_weight: 0.5 (expected: number >= 1)");
        assertThatThrownBy(() -> LatencyAwareSettings.parse(Map.of("load_weight", "lots")))
                .hasMessage("load_weight: lots (expected: number >= 0)");
        assertThatThrownBy(() -> LatencyAwareSettings.parse(Map.of("spred", "0.1")))
                .hasMessage("spred: 0.1 (expected: a key of [strategies.latency-aware]: queue_weight, load_weight, spread)");
        assertThat(new LatencyAwareStrategyProvider().create(Map.of("spread", "0.3")))
                .isInstanceOfSatisfying(LatencyAwareStrategy.class, st -> assertThat(st.settings().spread()).isEqualTo(0.3));
    }
}
