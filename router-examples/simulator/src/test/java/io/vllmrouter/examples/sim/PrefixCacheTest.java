package io.vllmrouter.examples.sim;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * When the simulator's prefix cache caches blocks and when it reports them, against vLLM v1
 * ({@link PrefixCache}): cached when scheduled, reported when the pass that computes them ends,
 * prompts chunk by chunk, answers as they fill.
 */
class PrefixCacheTest {

    /** 1 ms of prefill per prompt token, 10 ms per output token. */
    private static final ServiceModel MODEL = new ServiceModel(0, 1.0, 10, 0);
    private static final int B = BatchEngine.BLOCK_SIZE;

    /** What the listener heard: {@code "stored from to @ms"}, {@code "removed"}, per step. */
    private static final class Heard implements BatchEngine.CacheListener {
        final BatchEngine engine;
        final List<String> events = new ArrayList<>();
        final List<Double> storedAt = new ArrayList<>();
        final List<int[]> stored = new ArrayList<>();
        int removed;

        Heard(BatchEngine engine) {
            this.engine = engine;
            engine.cacheListener(this);
        }

        @Override
        public void stored(Sequence s, int from, int to) {
            stored.add(new int[] {from, to});
            storedAt.add(engine.nowMs());
        }

        @Override
        public void evicted(long hash) {
            removed++;
        }
    }

    private static long[] chain(long first, int n) {
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = first + i;
        }
        return out;
    }

    @Test
    void aPromptIsCachedWhenScheduledSoAnotherArrivingDuringItsPrefillHitsIt() {
        BatchEngine engine = new BatchEngine(MODEL, 4, 100_000, 1_000, 5, true);
        long[] blocks = chain(100, 20);        // 320 tokens: 320 ms of prefill
        Sequence first = new Sequence(20 * B, 2, blocks, 0, "length");
        engine.submit(first);
        engine.advanceTo(50);
        assertThat(first.produced()).as("still in prefill").isZero();
        Sequence second = new Sequence(20 * B, 2, blocks, 50, "length");
        engine.submit(second);
        engine.advanceTo(2_000);
        // vLLM's allocate_slots cached the first's blocks when it was scheduled; the last block is
        // computed again (max_cache_hit_length = num_tokens - 1).
        assertThat(second.cachedTokens()).isEqualTo(19 * B);
        assertThat(second.firstTokenMs()).as("its prefill waits for the first's on the one GPU, then is short")
                .isGreaterThanOrEqualTo(first.firstTokenMs()).isLessThan(first.firstTokenMs() + 40);
    }

    @Test
    void aPromptsBlocksAreReportedWhenItsPrefillEndsNotWhenItIsScheduled() {
        BatchEngine engine = new BatchEngine(MODEL, 4, 100_000, 1_000, 5, true);
        Heard heard = new Heard(engine);
        Sequence s = new Sequence(20 * B, 1, chain(100, 20), 0, "length");
        engine.submit(s);
        engine.advanceTo(300);
        assertThat(heard.stored).as("prefill of 320 ms not done").isEmpty();
        engine.advanceTo(1_000);
        assertThat(heard.stored).hasSize(1);
        assertThat(heard.stored.get(0)).containsExactly(0, 20);
        assertThat(heard.storedAt.get(0)).as("in the step of the first token").isBetween(s.firstTokenMs() - 5, s.firstTokenMs());
    }

    @Test
    void aLongPromptIsReportedChunkByChunk() {
        BatchEngine engine = new BatchEngine(MODEL, 4, 100_000, 10_000, 5, true);
        Heard heard = new Heard(engine);
        int blocks = 3 * PrefixCache.PREFILL_CHUNK / B;       // three chunks of 2,048 tokens
        Sequence s = new Sequence(blocks * B, 1, chain(1_000, blocks), 0, "length");
        engine.submit(s);
        engine.advanceTo(20_000);
        int perChunk = PrefixCache.PREFILL_CHUNK / B;
        assertThat(heard.stored).hasSize(3);
        assertThat(heard.stored.get(0)).containsExactly(0, perChunk);
        assertThat(heard.stored.get(1)).containsExactly(perChunk, 2 * perChunk);
        assertThat(heard.stored.get(2)).containsExactly(2 * perChunk, blocks);
        // Each chunk when the prefill (1 ms per token) has computed it, the last with the first token.
        assertThat(heard.storedAt.get(0)).isBetween(2048.0 - 5, 2048.0);
        assertThat(heard.storedAt.get(1)).isBetween(4096.0 - 5, 4096.0);
        assertThat(heard.storedAt.get(2)).isBetween(s.firstTokenMs() - 5, s.firstTokenMs());
    }

    @Test
    void anAnswersBlocksAreCachedAsTheyFillAndTheNextTurnFindsThem() {
        BatchEngine engine = new BatchEngine(MODEL, 4, 100_000, 1_000, 5, true);
        Heard heard = new Heard(engine);
        // A prompt of 4 blocks and an answer of 40 tokens, the KV of all but the last (never fed
        // back) computed: (64 + 39) / 16 = 6 whole blocks in all, 2 of them past the prompt.
        long[] chain = chain(500, (4 * B + 40) / B);
        Sequence turn = new Sequence(4 * B, 40, chain, 0, "length");
        engine.submit(turn);
        engine.advanceTo(100);
        assertThat(heard.stored).hasSize(1);
        assertThat(heard.stored.get(0)).containsExactly(0, 4);
        engine.advanceTo(10_000);
        assertThat(turn.state()).isEqualTo(Sequence.FINISHED);
        assertThat(heard.stored).hasSize(3);
        assertThat(heard.stored.get(1)).containsExactly(4, 5);   // when output token 17 fed back token 16
        assertThat(heard.stored.get(2)).containsExactly(5, 6);   // when token 33 fed back token 32
        assertThat(heard.storedAt.get(1)).isLessThan(heard.storedAt.get(2)).isLessThan(turn.finishMs() + 5);

        // The next turn resends prompt and answer, then a question: its first 6 blocks hit.
        long[] next = new long[8];
        System.arraycopy(chain, 0, next, 0, 6);
        next[6] = 900;
        next[7] = 901;
        Sequence second = new Sequence(8 * B + 5, 2, next, 10_000, "length");
        engine.submit(second);
        engine.advanceTo(20_000);
        assertThat(second.cachedTokens()).isEqualTo(6 * B);
    }

    @Test
    void aBlockEvictedBeforeItWasReportedIsNeverReported() {
        // A cache of 4 blocks and a prompt of 6: scheduling it evicts its own last-inserted blocks.
        BatchEngine engine = new BatchEngine(MODEL, 4, 100_000, 4, 5, true);
        Heard heard = new Heard(engine);
        engine.submit(new Sequence(6 * B + 1, 1, chain(10, 6), 0, "length"));
        engine.advanceTo(1_000);
        int reported = heard.stored.stream().mapToInt(r -> r[1] - r[0]).sum();
        assertThat(heard.removed).as("no removal of a block never reported").isZero();
        assertThat(reported).isEqualTo(4);
        assertThat(heard.stored.get(0)).containsExactly(0, 4);
    }
}
