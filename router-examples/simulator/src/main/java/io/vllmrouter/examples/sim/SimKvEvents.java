package io.vllmrouter.examples.sim;

import io.vllmrouter.api.spi.PromptBlocks;
import io.vllmrouter.examples.kvevents.KvEventEncoder;
import io.vllmrouter.examples.kvevents.KvEventPublisher;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The simulator's prefix-cache block hashes and KV-cache events, as vLLM makes them
 * ({@code vllm/v1/core/kv_cache_utils.py}, {@code vllm/v1/core/block_pool.py},
 * {@code vllm/distributed/kv_events.py}).
 *
 * <p>Hashes: block {@code i} of a prompt's token ids hashes its parent's hash (the seed,
 * {@code NONE_HASH}, for the first) with its {@value BatchEngine#BLOCK_SIZE} token ids, as
 * {@code hash_block_tokens} does. The seed is random per simulator, as vLLM's is per process
 * unless {@code PYTHONHASHSEED} is set ({@code --kv-hash-seed}): two simulators give the same
 * prompt different hashes, so a router cannot key blocks by them.
 *
 * <p>Events: the prefix cache ({@link PrefixCache}) reports blocks newly cached, of prompts and of
 * answers, when the step that computed them ends ({@code BlockStored}: the new blocks, their
 * parent's hash, their tokens, GPU medium), blocks evicted ({@code BlockRemoved}) and a reset
 * ({@code AllBlocksCleared}); each engine step's events go out as one batch ({@link #stepEnded}, as
 * vLLM's scheduler publishes after each step), over a {@link KvEventPublisher} bound on 127.0.0.1
 * (port plus the data-parallel rank), in the wire shape configured.
 *
 * <p>Threads: {@link #hashes} runs on request threads; the listener methods and {@link #flush} on
 * the engine thread.
 */
final class SimKvEvents implements BatchEngine.CacheListener, AutoCloseable {

    private final long seed;
    private final KvEventPublisher publisher;
    private final KvEventEncoder encoder;
    private final int rank;
    private final long startNanos = System.nanoTime();
    /** Engine thread only. */
    private final List<Object> pending = new ArrayList<>();

    /** @param config with events off, hashes are still made, for the prefix cache */
    SimKvEvents(KvEventsSettings config) {
        this.seed = config.hashSeed() != null ? PromptBlocks.mix(config.hashSeed()) : new SecureRandom().nextLong();
        this.rank = config.rank();
        if (config.enabled()) {
            this.publisher = KvEventPublisher.bind(config.port(), config.replayPort(), rank, 10_000);
            this.encoder = new KvEventEncoder(config.shape(), config.hashBytes()
                    ? KvEventEncoder.Hashes.BYTES : KvEventEncoder.Hashes.INT);
        } else {
            this.publisher = null;
            this.encoder = null;
        }
    }

    /** The publisher, or null when events are off. */
    KvEventPublisher publisher() {
        return publisher;
    }

    /** vLLM-style chained hashes of the whole blocks of {@code ids}. */
    long[] hashes(int[] ids) {
        int n = ids.length / BatchEngine.BLOCK_SIZE;
        long[] out = new long[n];
        long parent = seed;
        for (int i = 0; i < n; i++) {
            long h = parent;
            for (int j = i * BatchEngine.BLOCK_SIZE, end = j + BatchEngine.BLOCK_SIZE; j < end; j++) {
                h = PromptBlocks.mix(h * 0x100000001b3L ^ ids[j]);
            }
            out[i] = h;
            parent = h;
        }
        return out;
    }

    @Override
    public void stored(Sequence s, int from, int to) {
        if (publisher == null || s.tokenIds() == null) {
            return;
        }
        long[] all = s.prefixBlocks();
        int bs = BatchEngine.BLOCK_SIZE;
        pending.add(new KvEventEncoder.Stored(Arrays.copyOfRange(all, from, to), from == 0 ? null : all[from - 1],
                Arrays.copyOfRange(s.tokenIds(), from * bs, to * bs), bs, "GPU"));
    }

    @Override
    public void evicted(long hash) {
        if (publisher != null) {
            pending.add(new KvEventEncoder.Removed(new long[] {hash}, "GPU"));
        }
    }

    @Override
    public void cleared() {
        if (publisher != null) {
            pending.add(new KvEventEncoder.Cleared());
        }
    }

    @Override
    public void stepEnded() {
        flush();
    }

    /** Publishes the events heard since the last batch as one batch, if any. Engine thread. */
    void flush() {
        if (publisher == null || pending.isEmpty()) {
            return;
        }
        double ts = (System.nanoTime() - startNanos) / 1e9;
        publisher.publish(encoder.encode(ts, List.copyOf(pending), rank));
        pending.clear();
    }

    @Override
    public void close() {
        if (publisher != null) {
            publisher.close();
        }
    }
}
