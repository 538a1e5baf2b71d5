package io.vllmrouter.strategies;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.testing.ScriptedRandom;
import io.vllmrouter.testing.TestBackend;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class CacheAwareStrategyTest {

    /** 64-character blocks (the default): each "word" below is one block. */
    private static String block(String tag) {
        String s = (tag + ":").repeat(64);
        return s.substring(0, 64);
    }

    private static String text(String... tags) {
        StringBuilder b = new StringBuilder();
        for (String t : tags) {
            b.append(block(t));
        }
        return b.toString();
    }

    private static RouteContext prompt(String text) {
        return RouteContext.ofPrompt("m", null, text, new ScriptedRandom());
    }

    private static RouteContext session(String key, String text) {
        return RouteContext.ofPrompt("m", key, text, new ScriptedRandom());
    }

    private static final List<TestBackend> FLEET = List.of(
            TestBackend.of(0, 10, 1, 0),
            TestBackend.of(1, 10, 1, 0),
            TestBackend.of(2, 10, 1, 0));

    @Test
    void longestCachedPrefixWins() {
        CacheAwareStrategy s = new CacheAwareStrategy();
        // Place two conversations: b1 holds sys+a+b+c, b2 holds sys+x.
        assertThat(s.pick(List.of(FLEET.get(1)), prompt(text("sys", "a", "b", "c")))).isSameAs(FLEET.get(1));
        assertThat(s.pick(List.of(FLEET.get(2)), prompt(text("sys", "x")))).isSameAs(FLEET.get(2));
        // A follow-up sharing four blocks with b1's and one with b2's goes to b1, whatever the rendezvous says.
        assertThat(s.pick(FLEET, prompt(text("sys", "a", "b", "c", "d")))).isSameAs(FLEET.get(1));
        // One sharing two blocks with b2 and one with b1 goes to b2.
        assertThat(s.pick(List.of(FLEET.get(2)), prompt(text("sys", "x", "y")))).isSameAs(FLEET.get(2));
        assertThat(s.pick(FLEET, prompt(text("sys", "x", "y", "z")))).isSameAs(FLEET.get(2));
        assertThat(s.stats()).containsEntry("picks_cache_hit", 3L).containsEntry("picks_cold", 2L);
    }

    /** {@code b} whose outstanding requests grow by {@code step} at each read, as other threads route to it. */
    private static BackendView climbing(TestBackend b, double step) {
        double[] outstanding = {b.outstanding()};
        return (BackendView) java.lang.reflect.Proxy.newProxyInstance(BackendView.class.getClassLoader(),
                new Class<?>[] {BackendView.class}, (proxy, method, args) -> {
                    if (method.getName().equals("outstanding")) {
                        outstanding[0] += step;
                        return outstanding[0];
                    }
                    if (method.getName().equals("equals")) {
                        return proxy == args[0];
                    }
                    if (method.getName().equals("hashCode")) {
                        return System.identityHashCode(proxy);
                    }
                    if (method.isDefault()) {
                        return java.lang.reflect.InvocationHandler.invokeDefault(proxy, method, args);
                    }
                    return method.invoke(b, args);
                });
    }

    @Test
    void loadsThatChangeWhilePickingStillGiveACandidate() {
        // Every read of a load finds it higher than the one before (other event loops routing at
        // the same time): the minimum and the margins must come from one reading, or no candidate
        // is under the cold limit by the time it is compared.
        CacheAwareStrategy s = new CacheAwareStrategy();
        for (String sessionKey : new String[] {null, "user-1"}) {
            List<BackendView> moving = List.of(climbing(FLEET.get(0), 4), climbing(FLEET.get(1), 4),
                    climbing(FLEET.get(2), 4));
            for (int i = 0; i < 20; i++) {
                String text = text("cold-" + sessionKey + i, "x");
                BackendView picked = sessionKey == null ? s.pick(moving, prompt(text)) : s.pick(moving, session(sessionKey, text));
                assertThat(picked).as("a cold prompt, %s", sessionKey == null ? "no session" : "a session").isIn(moving);
            }
        }
    }

    @Test
    void loadBeyondTheMarginOverridesTheCache() {
        CacheAwareStrategy s = new CacheAwareStrategy();
        s.pick(List.of(FLEET.get(1)), prompt(text("sys", "a", "b", "c")));
        s.pick(List.of(FLEET.get(2)), prompt(text("sys", "x")));
        String next = text("sys", "a", "b", "c", "d");

        // b1 at 0.5 against a minimum of 0.1: within load_margin 0.5, the cache still wins.
        List<TestBackend> busy = List.of(FLEET.get(0), FLEET.get(1).withLoad(5, 0), FLEET.get(2));
        assertThat(s.pick(busy, prompt(next))).isSameAs(busy.get(1));

        // b1 at 0.9: more than 0.1 + 0.5 and more than 1.5 * 0.1, so overloaded: the next longest
        // prefix among the others (b2, one block) wins.
        List<TestBackend> overloaded = List.of(FLEET.get(0), FLEET.get(1).withLoad(9, 0), FLEET.get(2));
        assertThat(s.pick(overloaded, prompt(next))).isSameAs(overloaded.get(2));
        assertThat(s.stats()).containsEntry("picks_cache_hit", 2L);

        // Every holder overloaded: load wins, the only backend near the minimum (b0) gets it.
        List<TestBackend> allBusy = List.of(FLEET.get(0), FLEET.get(1).withLoad(9, 0), FLEET.get(2).withLoad(9, 0));
        assertThat(s.pick(allBusy, prompt(text("sys", "q")))).isSameAs(allBusy.get(0));
        assertThat(s.stats()).containsEntry("picks_load_override", 1L);
    }

    @Test
    void settingsMoveTheMargin() {
        CacheAwareStrategy strict = new CacheAwareStrategy(CacheAwareSettings.parse(Map.of("load_margin", "0.1", "load_ratio", "1")));
        strict.pick(List.of(FLEET.get(1)), prompt(text("sys", "a")));
        List<TestBackend> busy = List.of(FLEET.get(0), FLEET.get(1).withLoad(3, 0), FLEET.get(2));
        // 0.3 > 0.1 + 0.1: overloaded under the strict margin (the default would keep b1).
        assertThat(strict.pick(busy, prompt(text("sys", "a", "b")))).isNotSameAs(busy.get(1));
        CacheAwareStrategy lax = new CacheAwareStrategy();
        lax.pick(List.of(FLEET.get(1)), prompt(text("sys", "a")));
        assertThat(lax.pick(busy, prompt(text("sys", "a", "b")))).isSameAs(busy.get(1));
    }

    @Test
    void coldPrefixesRendezvousToTheSameBackendOnIndependentReplicas() {
        BalancingStrategy a = new CacheAwareStrategyProvider().create();
        BalancingStrategy b = new CacheAwareStrategyProvider().create();
        Map<BackendView, Integer> counts = new HashMap<>();
        for (int i = 0; i < 300; i++) {
            String p = text("system-" + i, "q");
            BackendView first = a.pick(FLEET, prompt(p));
            assertThat(b.pick(FLEET, prompt(p))).isSameAs(first);
            counts.merge(first, 1, Integer::sum);
        }
        // Spread over the fleet, not piled on one.
        assertThat(counts.keySet()).hasSize(3);
        assertThat(counts.values()).allSatisfy(c -> assertThat(c).isBetween(60, 140));
        // The same prefix on a replica that never saw it: the same backend as the first replica chose.
        BackendView again = new CacheAwareStrategy().pick(FLEET, prompt(text("system-7", "other question")));
        assertThat(again).isSameAs(a.pick(FLEET, prompt(text("system-7", "q"))));
    }

    @Test
    void coldPrefixGoesOnlyToBackendsNearTheLeastLoaded() {
        List<TestBackend> fleet = List.of(TestBackend.of(0, 10, 9, 0), TestBackend.of(1, 10, 0, 0), TestBackend.of(2, 10, 9, 0));
        CacheAwareStrategy s = new CacheAwareStrategy();
        for (int i = 0; i < 50; i++) {
            assertThat(s.pick(fleet, prompt(text("cold-" + i)))).isSameAs(fleet.get(1));
        }
    }

    @Test
    void sessionKeyPinsAConversationWhileItsBackendIsNotOverloaded() {
        CacheAwareStrategy a = new CacheAwareStrategy();
        CacheAwareStrategy b = new CacheAwareStrategy();
        BackendView pinned = a.pick(FLEET, session("alice", text("hello")));
        for (int turn = 0; turn < 5; turn++) {
            assertThat(a.pick(FLEET, session("alice", text("other system " + turn)))).isSameAs(pinned);
            assertThat(b.pick(FLEET, session("alice", "no blocks at all"))).isSameAs(pinned);
        }
        List<TestBackend> busy = FLEET.stream().map(t -> t == pinned ? t.withLoad(10, 5) : t).toList();
        BackendView moved = a.pick(busy, session("alice", text("hello")));
        assertThat(moved).isNotSameAs(busy.get(pinned.index()));
        assertThat(b.pick(busy, session("alice", text("hello")))).isSameAs(moved);
        // A prefix cached elsewhere wins over the key: the conversation's history is what saves prefill.
        BackendView other = FLEET.stream().filter(t -> t != pinned).findFirst().orElseThrow();
        a.pick(List.of(other), prompt(text("shared system", "q")));
        assertThat(a.pick(FLEET, session("alice", text("shared system", "q", "alice asks")))).isSameAs(other);
        // Off: the key is ignored.
        CacheAwareStrategy off = new CacheAwareStrategy(CacheAwareSettings.parse(Map.of("session_affinity", "false")));
        off.pick(List.of(FLEET.get(2)), prompt(text("sys", "a")));
        assertThat(off.pick(FLEET, session("alice", text("sys", "a", "b")))).isSameAs(FLEET.get(2));
    }

    @Test
    void noPromptTextPicksTheLeastLoaded() {
        List<TestBackend> fleet = List.of(TestBackend.of(0, 10, 3, 0), TestBackend.of(1, 10, 1, 0), TestBackend.of(2, 10, 2, 0));
        CacheAwareStrategy s = new CacheAwareStrategy();
        assertThat(s.pick(fleet, RouteContext.of("m", false, null, 1, new ScriptedRandom()))).isSameAs(fleet.get(1));
        assertThat(s.pick(fleet, prompt("too short for a block"))).isSameAs(fleet.get(1));
        assertThat(s.stats()).containsEntry("index_entries", 0L);
    }

    @Test
    void lruEvictionForgetsTheOldestPrompts() {
        // 64 tokens of cache = 4 blocks of 16 tokens (64 chars at 4 chars per token).
        CacheAwareStrategy s = new CacheAwareStrategy(CacheAwareSettings.parse(Map.of("cache_tokens", "64")));
        TestBackend only = FLEET.get(0);
        s.pick(List.of(only), prompt(text("old1", "old2")));
        s.pick(List.of(only), prompt(text("new1", "new2")));
        assertThat(s.entries(only.id())).isEqualTo(4);
        s.pick(List.of(only), prompt(text("new3", "new4")));
        assertThat(s.entries(only.id())).isEqualTo(4);
        assertThat(s.stats()).containsEntry("index_evictions", 2L);
        // old1 was evicted: a follow-up of it is cold now and follows the rendezvous, the newest one still hits b0.
        assertThat(s.pick(FLEET, prompt(text("new3", "new4", "more")))).isSameAs(FLEET.get(0));
        long hits = s.stats().get("picks_cache_hit");
        s.pick(FLEET, prompt(text("old1", "old2", "more")));
        assertThat(s.stats().get("picks_cache_hit")).isEqualTo(hits);
    }

    @Test
    void indexCapacityFollowsThePublishedCacheSize() {
        CacheAwareStrategy s = new CacheAwareStrategy();
        // 2 blocks of 16 tokens = 32 tokens = 2 index blocks.
        TestBackend tiny = FLEET.get(0).withCache(2, 16);
        s.pick(List.of(tiny), prompt(text("a", "b", "c", "d", "e")));
        assertThat(s.entries(tiny.id())).isEqualTo(2);
        assertThat(s.capacityOf(tiny)).isEqualTo(2);
        assertThat(s.capacityOf(FLEET.get(0))).isEqualTo(262_144 / 16);
    }

    @Test
    void theServersOwnCacheTokensWinOverTheStrategysAndOverWhatItPublishes() {
        TestBackend b = FLEET.get(0).withCache(1000, 16);            // publishes 16000 tokens in blocks
        BackendView published = tokens(b, 3200, false);               // kv_cache_size_tokens of a hybrid model
        BackendView configured = tokens(b, 64_000, true);             // [[servers]] cache_tokens
        CacheAwareStrategy plain = new CacheAwareStrategy();
        assertThat(plain.capacityOf(b)).isEqualTo(16_000 / 16);
        assertThat(plain.capacityOf(published)).isEqualTo(3200 / 16);
        assertThat(plain.capacityOf(configured)).isEqualTo(64_000 / 16);
        CacheAwareStrategy fleetWide = new CacheAwareStrategy(CacheAwareSettings.parse(Map.of("cache_tokens", "8000")));
        assertThat(fleetWide.capacityOf(published)).isEqualTo(8000 / 16);
        assertThat(fleetWide.capacityOf(configured)).isEqualTo(64_000 / 16);
    }

    /** {@code b} saying {@code tokens} of KV cache, as its own setting or as what it publishes. */
    private static BackendView tokens(TestBackend b, long tokens, boolean configured) {
        return new BackendView() {
            @Override public String id() { return b.id(); }
            @Override public java.net.URI url() { return b.url(); }
            @Override public int capacity() { return b.capacity(); }
            @Override public int inFlight() { return b.inFlight(); }
            @Override public double running() { return b.running(); }
            @Override public double waiting() { return b.waiting(); }
            @Override public double kvCacheUsage() { return b.kvCacheUsage(); }
            @Override public boolean metricsFresh() { return b.metricsFresh(); }
            @Override public List<String> models() { return b.models(); }
            @Override public int index() { return b.index(); }
            @Override public long cacheBlocks() { return b.cacheBlocks(); }
            @Override public int cacheBlockSize() { return b.cacheBlockSize(); }
            @Override public long cacheTokens() { return tokens; }
            @Override public boolean cacheTokensConfigured() { return configured; }
        };
    }

    @Test
    void restartOrEjectionForgetsEverything() {
        CacheAwareStrategy s = new CacheAwareStrategy();
        s.pick(List.of(FLEET.get(1)), prompt(text("sys", "a", "b")));
        assertThat(s.entries("b1")).isEqualTo(3);
        List<TestBackend> restarted = List.of(FLEET.get(0), FLEET.get(1).withCacheEpoch(7), FLEET.get(2));
        long hits = s.stats().get("picks_cache_hit");
        s.pick(restarted, prompt(text("sys", "a", "b", "c")));
        assertThat(s.stats().get("picks_cache_hit")).isEqualTo(hits);
        assertThat(s.entries("b1")).isLessThanOrEqualTo(4);
        assertThat(s.stats()).containsEntry("picks_cold", 2L);  // the first placement, and this one
    }

    @Test
    void removedBackendsLeaveTheIndex() {
        CacheAwareStrategy s = new CacheAwareStrategy();
        s.backendsChanged(FLEET);
        s.pick(List.of(FLEET.get(1)), prompt(text("sys", "a", "b")));
        s.pick(List.of(FLEET.get(2)), prompt(text("sys", "c")));
        s.backendsChanged(List.of(FLEET.get(0), FLEET.get(2)));
        assertThat(s.entries("b1")).isZero();
        assertThat(s.entries("b2")).isEqualTo(2);
        assertThat(s.stats()).containsEntry("index_backends", 1L);
    }

    @Test
    void memoryCapHoldsOverManyDistinctPrompts() {
        long cap = 256 * 1024;
        CacheAwareStrategy s = new CacheAwareStrategy(CacheAwareSettings.parse(Map.of("max_index_bytes", String.valueOf(cap))));
        List<TestBackend> fleet = List.of(TestBackend.of(0, 10, 1, 0), TestBackend.of(1, 10, 1, 0),
                TestBackend.of(2, 10, 1, 0), TestBackend.of(3, 10, 1, 0));
        s.backendsChanged(fleet);
        StringBuilder p = new StringBuilder();
        for (int i = 0; i < 50_000; i++) {
            p.setLength(0);
            p.append(i).append(' ');
            while (p.length() < 64 * 8) {
                p.append("lorem ipsum ").append(i);
            }
            s.pick(fleet, prompt(p.toString()));
            if (i % 5000 == 0) {
                assertThat(s.stats().get("index_bytes")).isLessThanOrEqualTo(cap);
            }
        }
        Map<String, Long> st = s.stats();
        assertThat(st.get("index_bytes")).isLessThanOrEqualTo(cap).isGreaterThan(cap / 2);
        assertThat(st.get("index_entries") * 24).isLessThanOrEqualTo(st.get("index_bytes"));
        assertThat(st.get("index_evictions")).isPositive();
    }

    @Test
    void aMillionDistinctPromptsStayUnderTheCap() {
        long cap = 4L << 20;
        CacheAwareStrategy s = new CacheAwareStrategy(CacheAwareSettings.parse(Map.of("max_index_bytes", String.valueOf(cap))));
        List<TestBackend> fleet = new java.util.ArrayList<>();
        for (int i = 0; i < 16; i++) {
            fleet.add(TestBackend.of(i, 64, 0, 0).withCache(1_000_000, 16));
        }
        s.backendsChanged(fleet);
        java.util.SplittableRandom random = new java.util.SplittableRandom(3);
        for (int p = 0; p < 1_000_000; p++) {
            long[] h = new long[8];
            long x = random.nextLong();
            for (int i = 0; i < h.length; i++) {
                x = io.vllmrouter.api.spi.PromptBlocks.mix(x + i);
                h[i] = x;
            }
            s.pick(fleet, new Hashed(h));
        }
        Map<String, Long> st = s.stats();
        assertThat(st.get("index_bytes")).isLessThanOrEqualTo(cap);
        assertThat(st.get("index_entries")).isGreaterThan(cap / BlockIndex.MAX_ENTRY_BYTES * 9 / 10);
        assertThat(st.get("picks_cold")).isEqualTo(1_000_000L);
    }

    /** A context whose hashes are given. */
    private record Hashed(long[] hashes) implements RouteContext {
        @Override public String model() { return "m"; }
        @Override public boolean stream() { return true; }
        @Override public String affinityKey() { return null; }
        @Override public int attempt() { return 1; }
        @Override public java.util.random.RandomGenerator random() { return new ScriptedRandom(); }
        @Override public long[] promptBlockHashes(int blockChars) { return hashes; }
    }

    @Test
    void badSettingsNameKeyValueAndExpectation() {
        assertThatThrownBy(() -> CacheAwareSettings.parse(Map.of("load_margin", "-1")))
                .hasMessage("load_margin: -1.0 (expected: number >= 0)");
        assertThatThrownBy(() -> CacheAwareSettings.parse(Map.of("block_chars", "big")))
                .hasMessage("block_chars: big (expected: integer 1..65536)");
        assertThatThrownBy(() -> CacheAwareSettings.parse(Map.of("session_affinity", "yes")))
                .hasMessage("session_affinity: yes (expected: true or false)");
        assertThatThrownBy(() -> new CacheAwareStrategyProvider().create(Map.of("blok_chars", "64")))
                .hasMessageStartingWith("blok_chars: 64 (expected: a key of [strategies.cache-aware]: block_chars, ");
        assertThatThrownBy(() -> new LeastLoadedStrategyProvider().create(Map.of("x", "1")))
                .hasMessage("x: 1 (expected: no settings; strategy least-loaded takes none)");
    }
}
