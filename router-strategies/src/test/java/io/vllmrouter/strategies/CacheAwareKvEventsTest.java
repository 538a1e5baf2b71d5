package io.vllmrouter.strategies;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.CachedPrefix;
import io.vllmrouter.api.spi.KvCacheIndex;
import io.vllmrouter.api.spi.KvEventSource;
import io.vllmrouter.api.spi.PromptTokens;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.testing.TestBackend;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.random.RandomGenerator;
import org.junit.jupiter.api.Test;

/** {@code index = "kv-events"}: match lengths from the KV-event index where it tracks a backend. */
class CacheAwareKvEventsTest {

    static final String PROMPT = "<|system|>\n" + "You answer questions about caches. ".repeat(40);
    static final PromptTokens TOKENS = PromptTokens.of("m", new int[400], null);

    /** An index that says what each backend holds, by id; tracks only those listed. */
    record FixedIndex(Map<String, CachedPrefix> held) implements KvCacheIndex {
        @Override public boolean tracks(BackendView b) { return held.containsKey(b.id()); }
        @Override public CachedPrefix match(BackendView b, PromptTokens p) { return held.getOrDefault(b.id(), CachedPrefix.NONE); }
        @Override public void follow(List<KvEventSource> sources) { }
        @Override public Map<String, Long> stats() { return Map.of(); }
        @Override public void close() { }
    }

    static RouteContext context(KvCacheIndex index, PromptTokens tokens) {
        RouteContext base = RouteContext.ofPrompt("m", null, PROMPT, new SplittableRandom(1));
        return new RouteContext() {
            @Override public String model() { return "m"; }
            @Override public boolean stream() { return true; }
            @Override public String affinityKey() { return null; }
            @Override public int attempt() { return 1; }
            @Override public RandomGenerator random() { return base.random(); }
            @Override public long[] promptBlockHashes(int blockChars) { return base.promptBlockHashes(blockChars); }
            @Override public PromptTokens promptTokens() { return tokens; }
            @Override public KvCacheIndex kvCacheIndex() { return index; }
        };
    }

    static CacheAwareStrategy strategy() {
        return new CacheAwareStrategy(CacheAwareSettings.DEFAULTS,
                new KvIndexSettings(true, "backend", Duration.ofMillis(20), 0.5));
    }

    private final List<TestBackend> fleet = List.of(TestBackend.of(0, 8, 1, 0), TestBackend.of(1, 8, 1, 0),
            TestBackend.of(2, 8, 1, 0));

    @Test
    void asksForTokensAndTheIndexOnlyWithKvEvents() {
        assertThat(strategy().pickInputs().kvEvents()).isTrue();
        assertThat(strategy().pickInputs().tokenizer()).isEqualTo("backend");
        assertThat(new CacheAwareStrategy().pickInputs().wantsTokens()).isFalse();
    }

    @Test
    void theBackendTheIndexSaysHoldsThePromptWins() {
        for (int holder = 0; holder < 3; holder++) {
            CacheAwareStrategy s = strategy();
            FixedIndex index = new FixedIndex(Map.of("b" + holder, new CachedPrefix(320, 0),
                    "b" + (holder + 1) % 3, new CachedPrefix(16, 0), "b" + (holder + 2) % 3, CachedPrefix.NONE));
            assertThat(s.pick(fleet, context(index, TOKENS)).id()).isEqualTo("b" + holder);
            assertThat(s.stats()).containsEntry("picks_kv_events", 1L).containsEntry("picks_cache_hit", 1L);
        }
    }

    @Test
    void offloadedBlocksCountLessThanGpuOnes() {
        CacheAwareStrategy s = strategy();
        // offloaded_weight 0.5: an offloaded token is worth half a GPU one.
        FixedIndex close = new FixedIndex(Map.of("b0", new CachedPrefix(100, 0), "b1", new CachedPrefix(40, 140),
                "b2", CachedPrefix.NONE));
        assertThat(s.pick(fleet, context(close, TOKENS)).id()).isEqualTo("b1");    // 40 + 70 = 110 > 100
        FixedIndex far = new FixedIndex(Map.of("b0", new CachedPrefix(100, 0), "b1", new CachedPrefix(40, 100),
                "b2", CachedPrefix.NONE));
        assertThat(s.pick(fleet, context(far, TOKENS)).id()).isEqualTo("b0");      // 40 + 50 = 90 < 100
    }

    @Test
    void backendsThatPublishNoEventsUseTheApproximateIndex() {
        CacheAwareStrategy s = strategy();
        FixedIndex index = new FixedIndex(Map.of("b0", CachedPrefix.NONE, "b1", CachedPrefix.NONE));   // b2: no events
        // b0 and b1 busy: the cold prompt goes to b2, which the approximate index then remembers.
        List<TestBackend> busy = List.of(TestBackend.of(0, 8, 8, 4), TestBackend.of(1, 8, 8, 4), TestBackend.of(2, 8, 1, 0));
        assertThat(s.pick(busy, context(index, TOKENS)).id()).isEqualTo("b2");
        assertThat(s.pick(fleet, context(index, TOKENS)).id()).isEqualTo("b2");
        assertThat(s.stats()).containsEntry("picks_cache_hit", 1L).containsEntry("picks_kv_events", 2L);
    }

    @Test
    void withoutTokensTheApproximateIndexDecides() {
        CacheAwareStrategy s = strategy();
        FixedIndex index = new FixedIndex(Map.of("b0", new CachedPrefix(320, 0), "b1", CachedPrefix.NONE,
                "b2", CachedPrefix.NONE));
        BackendView first = s.pick(fleet, context(index, null));
        assertThat(s.pick(fleet, context(index, null))).isSameAs(first);    // the approximate index remembers it
        assertThat(s.stats()).containsEntry("picks_without_tokens", 2L).containsEntry("picks_kv_events", 0L);
    }

    @Test
    void loadStillWinsOverTheCache() {
        CacheAwareStrategy s = strategy();
        List<TestBackend> busy = List.of(TestBackend.of(0, 8, 8, 20), TestBackend.of(1, 8, 1, 0), TestBackend.of(2, 8, 1, 0));
        FixedIndex index = new FixedIndex(Map.of("b0", new CachedPrefix(320, 0), "b1", CachedPrefix.NONE,
                "b2", CachedPrefix.NONE));
        assertThat(s.pick(busy, context(index, TOKENS)).id()).isNotEqualTo("b0");
        assertThat(s.stats()).containsEntry("picks_load_override", 1L);
    }
}
