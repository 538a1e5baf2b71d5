package io.vllmrouter.examples.kvevents;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.spi.CachedPrefix;
import io.vllmrouter.api.spi.KvEventSource;
import io.vllmrouter.api.spi.PromptTokens;
import io.vllmrouter.testing.TestBackend;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The index fed batches directly, as its subscribers hand them over. */
class KvIndexTest {

    static final int BS = 4;
    static final Duration WAIT = Duration.ofSeconds(10);

    private final KvIndex index = new KvIndex(64L << 20);
    private final TestBackend b0 = TestBackend.of(0, 4, 0, 0);

    @AfterEach
    void close() {
        index.close();
    }

    static int[] tokens(int n, int from) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = from + i;
        }
        return t;
    }

    static KvEvent.BlockStored stored(long[] hashes, Long parent, int[] tokens, String medium) {
        return new KvEvent.BlockStored(hashes, parent != null, parent == null ? 0 : parent, tokens, BS, null, medium, null, -1);
    }

    static KvEvent.Batch batch(KvEvent... events) {
        return new KvEvent.Batch(0, List.of(events), 0, 0);
    }

    private void feed(String id, int rank, KvEvent.Batch b) throws InterruptedException {
        long before = index.batchesApplied();
        index.feed(id, rank, b);
        assertThat(index.await(() -> index.batchesApplied() > before, WAIT)).isTrue();
    }

    private void register(String id, int ranks) throws InterruptedException {
        index.register(new KvEventSource(id, "tcp://127.0.0.1:1", null, ranks), false);
        index.sync(() -> { });
    }

    @Test
    void blocksChainedFromTheirParentsMatchThePromptsTokens() throws InterruptedException {
        register("b0", 1);
        int[] t = tokens(16, 100);
        // vLLM stores a prompt's blocks as they fill: two now, two more later with the parent's hash.
        feed("b0", 0, batch(stored(new long[] {11, 12}, null, java.util.Arrays.copyOfRange(t, 0, 8), "GPU")));
        feed("b0", 0, batch(stored(new long[] {13, 14}, 12L, java.util.Arrays.copyOfRange(t, 8, 16), "GPU")));
        assertThat(index.tracks(b0)).isTrue();
        assertThat(index.tracks(TestBackend.of(1, 4, 0, 0))).isFalse();
        assertThat(index.match(b0, PromptTokens.of("m", t, null))).isEqualTo(new CachedPrefix(16, 0));
        int[] longer = tokens(21, 100);   // one more whole block and a partial one
        assertThat(index.match(b0, PromptTokens.of("m", longer, null))).isEqualTo(new CachedPrefix(16, 0));
        int[] other = t.clone();
        other[13] = 7;                    // differs in the fourth block
        assertThat(index.match(b0, PromptTokens.of("m", other, null))).isEqualTo(new CachedPrefix(12, 0));
        assertThat(index.match(b0, PromptTokens.of("m", t, "salt"))).isEqualTo(CachedPrefix.NONE);
        assertThat(index.stats()).containsEntry("kv_index_entries", 4L).containsEntry("kv_events_stored_blocks", 4L);
    }

    @Test
    void aRemovedBlockEndsThePrefixAndDuplicatesCount() throws InterruptedException {
        register("b0", 1);
        int[] t = tokens(12, 0);
        feed("b0", 0, batch(stored(new long[] {1, 2, 3}, null, t, null)));
        // vLLM does not deduplicate: the same block cached twice is removed twice.
        feed("b0", 0, batch(stored(new long[] {2}, 1L, java.util.Arrays.copyOfRange(t, 4, 8), null)));
        feed("b0", 0, batch(new KvEvent.BlockRemoved(new long[] {2}, null, -1)));
        assertThat(index.match(b0, PromptTokens.of(null, t, null)).tokens()).isEqualTo(12);
        feed("b0", 0, batch(new KvEvent.BlockRemoved(new long[] {2, 99}, null, -1)));
        assertThat(index.match(b0, PromptTokens.of(null, t, null)).tokens()).isEqualTo(4);
        assertThat(index.stats()).containsEntry("kv_events_unknown_blocks", 1L).containsEntry("kv_index_entries", 2L);
    }

    @Test
    void offloadedCopiesCountApartFromGpuOnes() throws InterruptedException {
        register("b0", 1);
        int[] t = tokens(16, 0);
        feed("b0", 0, batch(stored(new long[] {1, 2, 3, 4}, null, t, "GPU")));
        // vLLM's offloading connector: BlockStored(medium="CPU", token_ids=[]) for blocks it copied.
        feed("b0", 0, batch(stored(new long[] {3, 4, 5}, null, new int[0], "CPU")));
        feed("b0", 0, batch(new KvEvent.BlockRemoved(new long[] {3, 4}, "GPU", -1)));
        assertThat(index.match(b0, PromptTokens.of(null, t, null))).isEqualTo(new CachedPrefix(8, 8));
        feed("b0", 0, batch(new KvEvent.BlockRemoved(new long[] {3}, "CPU", -1)));
        assertThat(index.match(b0, PromptTokens.of(null, t, null))).isEqualTo(new CachedPrefix(8, 0));
        assertThat(index.stats().get("kv_events_unknown_blocks")).isEqualTo(1L);   // hash 5 was never stored
    }

    @Test
    void aStoreWhoseParentIsUnknownIsSkipped() throws InterruptedException {
        register("b0", 1);
        feed("b0", 0, batch(stored(new long[] {21, 22}, 20L, tokens(8, 0), null)));
        assertThat(index.stats()).containsEntry("kv_index_entries", 0L).containsEntry("kv_events_unknown_blocks", 2L);
    }

    @Test
    void allBlocksClearedEmptiesTheServerAndGivesBackItsMemory() throws InterruptedException {
        register("b0", 1);
        long empty = index.stats().get("kv_index_bytes");
        List<KvEvent> events = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            events.add(stored(new long[] {1000 + i}, null, tokens(BS, i * BS), null));
        }
        feed("b0", 0, new KvEvent.Batch(0, events, 0, 0));
        assertThat(index.stats().get("kv_index_bytes")).isGreaterThan(empty);
        feed("b0", 0, batch(new KvEvent.AllBlocksCleared()));
        assertThat(index.match(b0, PromptTokens.of(null, tokens(BS, 0), null))).isEqualTo(CachedPrefix.NONE);
        assertThat(index.stats()).containsEntry("kv_index_entries", 0L).containsEntry("kv_index_bytes", empty)
                .containsEntry("kv_events_clears", 1L);
        assertThat(io.vllmrouter.testing.HeldLogs.messages())
                .contains("KV events of b0: the server cleared its prefix cache (AllBlocksCleared); its entries go");
    }

    @Test
    void eventsOfAnUnknownTypeAreCountedAndLoggedOnce() throws InterruptedException {
        register("b0", 1);
        feed("b0", 0, new KvEvent.Batch(0, List.of(), 0, 2));
        feed("b0", 0, new KvEvent.Batch(0, List.of(), 0, 1));
        assertThat(index.stats()).containsEntry("kv_events_skipped", 3L);
        assertThat(io.vllmrouter.testing.HeldLogs.messages()).filteredOn(m -> m.contains("does not know"))
                .containsExactly("KV events of b0: 2 event(s) of a type this router does not know were skipped "
                        + "(counted in kv_events_skipped; not logged again)");
    }

    @Test
    void anEjectionOrRestartOfTheBackendClearsIt() throws InterruptedException {
        register("b0", 1);
        int[] t = tokens(8, 0);
        feed("b0", 0, batch(stored(new long[] {1, 2}, null, t, null)));
        assertThat(index.match(b0, PromptTokens.of(null, t, null)).tokens()).isEqualTo(8);
        TestBackend ejected = b0.withCacheEpoch(1);
        assertThat(index.match(ejected, PromptTokens.of(null, t, null))).isEqualTo(CachedPrefix.NONE);
        assertThat(index.await(() -> index.stats().get("kv_index_entries") == 0, WAIT)).isTrue();
        index.sync(() -> { });
        assertThat(index.match(ejected, PromptTokens.of(null, t, null))).isEqualTo(CachedPrefix.NONE);
        feed("b0", 0, batch(stored(new long[] {1}, null, java.util.Arrays.copyOf(t, 4), null)));
        assertThat(index.match(ejected, PromptTokens.of(null, t, null)).tokens()).isEqualTo(4);
    }

    @Test
    void loraBlocksMatchRequestsForThatAdapterOnly() throws InterruptedException {
        register("b0", 1);
        int[] t = tokens(8, 0);
        feed("b0", 0, batch(new KvEvent.BlockStored(new long[] {1, 2}, false, 0, t, BS, "sql-lora", "GPU", null, -1)));
        assertThat(index.match(b0, PromptTokens.of("sql-lora", t, null)).tokens()).isEqualTo(8);
        assertThat(index.match(b0, PromptTokens.of("base", t, null))).isEqualTo(CachedPrefix.NONE);
        // extra_keys as vLLM lists them: the LoRA name on every block, the cache salt on the first.
        feed("b0", 0, batch(new KvEvent.BlockStored(new long[] {3, 4}, false, 0, t, BS, "sql-lora", "GPU",
                List.of(List.of("sql-lora", "s1"), List.of("sql-lora")), -1)));
        assertThat(index.match(b0, PromptTokens.of("sql-lora", t, "s1")).tokens()).isEqualTo(8);
    }

    @Test
    void aBlockOneOfTwoRanksHoldsCountsHalf() throws InterruptedException {
        register("b0", 2);
        int[] t = tokens(16, 0);
        feed("b0", 1, batch(stored(new long[] {1, 2, 3, 4}, null, t, null)));
        assertThat(index.match(b0, PromptTokens.of(null, t, null)).tokens()).isEqualTo(8);
    }

    @Test
    void otherKvCacheGroupsAreLeftOut() throws InterruptedException {
        register("b0", 1);
        int[] t = tokens(8, 0);
        feed("b0", 0, batch(new KvEvent.BlockStored(new long[] {1, 2}, false, 0, t, BS, null, "GPU", null, 1)));
        assertThat(index.stats().get("kv_index_entries")).isZero();
    }

    /**
     * A server that caches 20,000 blocks and keeps evicting, 1,000,000 events in all, under a cap
     * of 1 MiB: the index never passes its cap; blocks past it are dropped and counted.
     */
    @Test
    void aMillionEventsStayUnderTheCap() throws InterruptedException {
        index.close();
        long cap = 1 << 20;
        KvIndex small = new KvIndex(cap);
        try {
            small.register(new KvEventSource("b0", "tcp://127.0.0.1:1", null, 1), false);
            java.util.ArrayDeque<Long> held = new java.util.ArrayDeque<>();
            long maxSeen = 0;
            long events = 0;
            long next = 1;
            java.util.SplittableRandom random = new java.util.SplittableRandom(7);
            while (events < 1_000_000) {
                List<KvEvent> batch = new ArrayList<>();
                for (int i = 0; i < 100; i++) {
                    long h = next++;
                    batch.add(stored(new long[] {h}, null, tokens(BS, random.nextInt(1_000_000)), null));
                    held.addLast(h);
                    events++;
                    if (held.size() > 20_000) {
                        batch.add(new KvEvent.BlockRemoved(new long[] {held.removeFirst()}, null, -1));
                        events++;
                    }
                }
                small.feed("b0", 0, new KvEvent.Batch(0, batch, 0, 0));
                if (events % 50_000 < 200) {
                    small.sync(() -> { });
                    maxSeen = Math.max(maxSeen, small.stats().get("kv_index_bytes"));
                }
            }
            small.sync(() -> { });
            maxSeen = Math.max(maxSeen, small.stats().get("kv_index_bytes"));
            assertThat(maxSeen).isLessThanOrEqualTo(cap);
            assertThat(small.stats().get("kv_events_dropped_blocks")).isPositive();
            assertThat(small.stats().get("kv_index_entries")).isPositive();
        } finally {
            small.close();
        }
    }
}
