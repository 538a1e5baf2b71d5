package io.vllmrouter.examples.bench;

import io.vllmrouter.api.spi.BalancingStrategy;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The cache benchmark's claims, on a shorter run of the same deterministic simulation. */
class CacheRoutingBenchmarkTest {

    private static final Map<String, Supplier<BalancingStrategy>> STRATEGIES =
            RoutingQualityBenchmark.strategies(List.of("least-loaded", "cache-aware"));

    @Test
    void onSharedPrefixesCacheAwareHalvesTheMedianTimeToFirstTokenWithoutHurtingTheTail() {
        CacheRoutingBenchmark.Section chat = CacheRoutingBenchmark.run("chat", 300, 2, 42, STRATEGIES);
        RunResult ll = chat.find("least-loaded", 0.80);
        RunResult ca = chat.find("cache-aware", 0.80);
        assertThat(ca.ttftP50Ms()).isLessThanOrEqualTo(0.5 * ll.ttftP50Ms());
        assertThat(ca.p99Ms()).isLessThanOrEqualTo(ll.p99Ms() * 1.05);
        assertThat(ca.cacheHitRate()).isGreaterThan(ll.cacheHitRate() + 0.2);
        assertThat(ca.unfinished()).isZero();
        // Deterministic: the same run gives the same figures.
        assertThat(CacheRoutingBenchmark.run("chat", 300, 2, 42, STRATEGIES).find("cache-aware", 0.80).ttftP50Ms())
                .isEqualTo(ca.ttftP50Ms());
    }

    @Test
    void withoutSharedPrefixesCacheAwareStaysCloseToLeastLoaded() {
        CacheRoutingBenchmark.Section unique = CacheRoutingBenchmark.run("unique", 300, 2, 42, STRATEGIES);
        RunResult ll = unique.find("least-loaded", 0.80);
        RunResult ca = unique.find("cache-aware", 0.80);
        assertThat(ca.p50Ms()).isLessThanOrEqualTo(ll.p50Ms() * 1.10);
        assertThat(ca.p99Ms()).isLessThanOrEqualTo(ll.p99Ms() * 1.10);
        assertThat(ca.cacheHitRate()).isZero();
    }

    @Test
    void conversationsResendTheirHistory() {
        List<Workload.Request> rs = ChatWorkload.conversations(CacheRoutingBenchmark.CHAT, 2, 120_000, 7);
        Map<String, List<Workload.Request>> byConversation = new java.util.LinkedHashMap<>();
        for (Workload.Request r : rs) {
            byConversation.computeIfAbsent(r.session(), k -> new java.util.ArrayList<>()).add(r);
        }
        List<Workload.Request> turns = byConversation.values().stream().filter(l -> l.size() >= 2).findFirst().orElseThrow();
        Workload.Request first = turns.get(0);
        Workload.Request second = turns.get(1);
        assertThat(second.promptTokens()).isGreaterThan(first.promptTokens() + first.outputTokens());
        // Every whole block of the first turn's prompt is a leading block of the second's, except the partial last one.
        for (int i = 0; i < first.blocks().length - 1; i++) {
            assertThat(second.blocks()[i]).isEqualTo(first.blocks()[i]);
        }
        // Two conversations on the same system prompt share its 250 blocks and no more.
        int system = CacheRoutingBenchmark.CHAT.systemTokens() / 16;
        Workload.Request a = rs.get(0);
        Workload.Request b = rs.stream().filter(r -> !r.session().equals(a.session()) && r.blocks()[0] == a.blocks()[0])
                .findFirst().orElseThrow();
        assertThat(b.blocks()[system - 1]).isEqualTo(a.blocks()[system - 1]);
        assertThat(b.blocks()[system]).isNotEqualTo(a.blocks()[system]);
    }
}
