package io.vllmrouter.examples.kvevents;

import java.util.List;

/**
 * One of vLLM's KV-cache events ({@code vllm/distributed/kv_events.py}), as decoded. Block hashes are
 * vLLM's, folded to 64 bits ({@link KvEventDecoder#hashOf}): only identifiers here, never recomputed.
 */
sealed interface KvEvent {

    /** vLLM's medium of blocks in GPU memory; a null medium (older versions) means GPU too. */
    String GPU = "GPU";

    /**
     * Blocks that became cached: {@code hashes[i]} covers {@code tokens[i * blockSize, (i + 1) * blockSize)}
     * and, through {@code parent}, everything before. Blocks offloaded to another medium are reported
     * without tokens (vLLM's offloading connector sends {@code token_ids=[]}).
     *
     * @param hashes    vLLM's block hashes
     * @param hasParent whether {@code parent} is set ({@code parent_block_hash} not None)
     * @param parent    the hash of the block before the first, when {@code hasParent}
     * @param tokens    the blocks' token ids, empty for an offloaded copy
     * @param blockSize tokens per block
     * @param loraName  the LoRA adapter the blocks were computed with, or null
     * @param medium    "GPU", "CPU", ... or null (GPU)
     * @param extraKeys per block, the extra keys vLLM hashed with it (null entries for none), or null
     * @param group     the KV-cache group ({@code group_idx}), -1 when not given
     */
    record BlockStored(long[] hashes, boolean hasParent, long parent, int[] tokens, int blockSize, String loraName,
                       String medium, List<List<Object>> extraKeys, int group) implements KvEvent {
    }

    /** Blocks no longer cached in {@code medium} (null: GPU). */
    record BlockRemoved(long[] hashes, String medium, int group) implements KvEvent {
    }

    /** Every block was dropped ({@code reset_prefix_cache}). */
    record AllBlocksCleared() implements KvEvent {
    }

    /** Whether {@code medium} is GPU memory. */
    static boolean gpu(String medium) {
        return medium == null || medium.equalsIgnoreCase(GPU);
    }

    /**
     * One published batch.
     *
     * @param ts      the publisher's time, seconds
     * @param events  the events we know, in order
     * @param dpRank  the batch's {@code data_parallel_rank}, -1 when absent
     * @param skipped events of a type we do not know, left out
     */
    record Batch(double ts, List<KvEvent> events, int dpRank, int skipped) {
    }
}
