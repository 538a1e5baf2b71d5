package io.vllmrouter.examples.sim;

import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The simulator's prefix cache, filled and reported when vLLM v1 fills and reports its own.
 *
 * <p><b>What is cached when.</b> vLLM caches a request's full blocks when the scheduler allocates
 * slots for the tokens that fill them, before the forward pass computes them
 * ({@code vllm/v1/core/kv_cache_manager.py} {@code allocate_slots} ends with
 * {@code cache_blocks(request, min(num_computed_tokens + num_new_tokens, request.num_tokens))}), so
 * a request scheduled later finds them at once. A prompt is scheduled in chunks of at most
 * {@code max_num_batched_tokens} ({@link #PREFILL_CHUNK}, vLLM's default for the OpenAI server);
 * each chunk's full blocks are cached when the chunk is scheduled ({@link #schedule}). Generated
 * tokens fill blocks too: the step that feeds output token {@code k} back caches the blocks full
 * within the prompt and {@code k} output tokens, so a finished request leaves its prompt and all
 * but its last output token cached (the last sampled token is never fed back), and a
 * conversation's next turn, which resends that answer, finds it.
 *
 * <p><b>What is reported when.</b> {@code vllm/v1/core/block_pool.py} {@code cache_full_blocks}
 * appends one {@code BlockStored} per call (the newly cached blocks' hashes, the hash of the block
 * before them, their token ids) and {@code _maybe_evict_cached_block} a {@code BlockRemoved} to one
 * queue, which {@code vllm/v1/core/sched/scheduler.py} {@code update_from_output} takes and
 * publishes as one batch after the step's forward pass: subscribers learn of blocks when the pass
 * that computes them has ended. Here a prefill chunk's blocks are reported when the simulated
 * prefill has reached the chunk's end ({@link #publish}, called by {@link BatchEngine}), a decode
 * step's at the end of the engine step that computed them, an eviction at once; the engine ends
 * each of its steps with {@link BatchEngine.CacheListener#stepEnded}, one batch.
 *
 * <p>Unlike vLLM, the cache is an LRU of its own size, apart from the blocks running requests hold,
 * and holds one copy per hash (vLLM may cache two blocks with the same hash, computed by two
 * requests at once). A block evicted before it was reported is never reported (neither stored nor
 * removed), so that subscribers never hold a block the cache has dropped.
 *
 * <p>Engine thread only.
 */
final class PrefixCache {

    /** Prompt tokens scheduled per step at most: vLLM's {@code max_num_batched_tokens} for the OpenAI server. */
    static final int PREFILL_CHUNK = 2048;

    private final Map<Long, Boolean> lru;
    /** Hashes cached but not reported yet. */
    private final Set<Long> unreported = new HashSet<>();
    private BatchEngine.CacheListener listener = BatchEngine.CacheListener.NONE;

    /** @param blocks blocks held at most, {@code >= 1}; the least recently used go first */
    PrefixCache(int blocks) {
        this.lru = new LinkedHashMap<>(64, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<Long, Boolean> eldest) {
                if (size() <= blocks) {
                    return false;
                }
                if (!unreported.remove(eldest.getKey())) {
                    listener.evicted(eldest.getKey());
                }
                return true;
            }
        };
    }

    void listener(BatchEngine.CacheListener l) {
        this.listener = l;
    }

    /**
     * vLLM's {@code get_computed_blocks}: the leading blocks of {@code s}'s prompt found in the
     * cache (touched), whole blocks only and never the whole prompt ({@code max_cache_hit_length =
     * num_tokens - 1}: the last token is computed again for its logits). Sets {@code s}'s cached
     * block count; returns the cached tokens.
     */
    int lookup(Sequence s) {
        long[] blocks = s.prefixBlocks();
        int hits = 0;
        if (blocks != null) {
            int max = Math.min(blocks.length, (s.promptTokens() - 1) / BatchEngine.BLOCK_SIZE);
            while (hits < max && lru.get(blocks[hits]) != null) {
                hits++;
            }
        }
        s.cachedBlocks = hits;
        s.reportedBlocks = hits;
        return hits * BatchEngine.BLOCK_SIZE;
    }

    /**
     * vLLM's {@code cache_blocks(request, tokens)}: caches the blocks of {@code s} full within its
     * first {@code tokens} tokens (prompt, then answer) that are not cached yet, as far as its
     * block hashes reach. Their report waits for {@link #publish}.
     */
    void schedule(Sequence s, int tokens) {
        long[] blocks = s.prefixBlocks();
        if (blocks == null) {
            return;
        }
        int full = Math.min(blocks.length, tokens / BatchEngine.BLOCK_SIZE);
        // Last block first, so the first (most shared) block is the most recently used: vLLM frees
        // a request's blocks from the end, and evicts those first.
        for (int i = full - 1; i >= s.cachedBlocks; i--) {
            if (lru.put(blocks[i], Boolean.TRUE) == null) {
                unreported.add(blocks[i]);
            }
        }
        s.cachedBlocks = Math.max(s.cachedBlocks, full);
    }

    /**
     * Reports {@code s}'s blocks cached since its last report, the pass that computed them having
     * ended: each run of blocks this sequence newly cached and still held is one
     * {@code BlockStored}, its parent the block before it.
     */
    void publish(Sequence s) {
        long[] blocks = s.prefixBlocks();
        if (blocks == null || s.reportedBlocks >= s.cachedBlocks) {
            return;
        }
        int from = -1;
        for (int i = s.reportedBlocks; i <= s.cachedBlocks; i++) {
            boolean fresh = i < s.cachedBlocks && unreported.remove(blocks[i]);
            if (fresh && from < 0) {
                from = i;
            } else if (!fresh && from >= 0) {
                listener.stored(s, from, i);
                from = -1;
            }
        }
        s.reportedBlocks = s.cachedBlocks;
    }

    /** vLLM's {@code reset_prefix_cache}: drops every block, reported or not. */
    void reset() {
        lru.clear();
        unreported.clear();
        listener.cleared();
    }
}
