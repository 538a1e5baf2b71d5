package io.vllmrouter.examples.kvevents;

import io.vllmrouter.api.spi.TokenBlocks;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What one data-parallel rank of a server holds: vLLM's block hash to the router's key (to follow
 * {@code parent_block_hash} and {@code BlockRemoved}), the keys with their copy counts
 * ({@link BlockTable}, read by request threads), the block size and the LoRA adapters seen.
 *
 * <p>Changed only by the index's owner thread ({@link KvIndex}); {@link #table}, {@link #blockSize}
 * and {@link #loras} are read by request threads.
 */
final class RankState {

    /** Outcome counts of applying events, for the index's figures. */
    static final class Counts {
        long stored;
        long removed;
        long unknown;
        long dropped;
    }

    final LongLongMap keys = new LongLongMap();
    final BlockTable table = new BlockTable();
    volatile int blockSize = -1;
    final Set<String> loras = ConcurrentHashMap.newKeySet();

    long bytes() {
        return keys.bytes() + table.bytes();
    }

    /**
     * Records a {@code BlockStored}: each block keyed from its parent's key, its tokens and extra
     * keys. A block whose parent we do not know (we joined after it, or dropped it) cannot be keyed and
     * is skipped, as is every block past the memory cap. An offloaded copy without tokens adds a copy
     * to blocks we know.
     *
     * @param budget bytes the index may still grow by
     * @return bytes grown
     */
    long stored(KvEvent.BlockStored e, long budget, Counts counts) {
        long before = bytes();
        boolean gpu = KvEvent.gpu(e.medium());
        long[] hashes = e.hashes();
        int bs = e.blockSize();
        if (e.tokens().length < (long) hashes.length * bs) {
            for (long h : hashes) {
                long key = keys.get(h);
                if (key == 0) {
                    counts.unknown++;
                } else if (table.get(key) != 0) {
                    table.add(key, gpu);
                    counts.stored++;
                }
            }
            return bytes() - before;
        }
        long parent = TokenBlocks.SEED;
        if (e.hasParent()) {
            parent = keys.get(e.parent());
            if (parent == 0) {
                counts.unknown += hashes.length;
                return 0;
            }
        }
        if (blockSize != bs) {
            blockSize = bs;
        }
        if (e.loraName() != null) {
            loras.add(e.loraName());
        }
        long loraExtras = e.loraName() == null ? TokenBlocks.NO_EXTRAS : TokenBlocks.extras(List.of(e.loraName()));
        for (int j = 0; j < hashes.length; j++) {
            long extras = loraExtras;
            if (e.extraKeys() != null) {
                extras = j < e.extraKeys().size() ? TokenBlocks.extras(e.extraKeys().get(j)) : TokenBlocks.NO_EXTRAS;
            }
            long key = TokenBlocks.next(parent, e.tokens(), j * bs, (j + 1) * bs, extras);
            if (key == 0) {
                key = 1;   // 0 means absent in the hash-to-key map
            }
            boolean known = keys.get(hashes[j]) == key && table.get(key) != 0;
            if (!known) {
                long grow = keys.bytesAfterInsert() - keys.bytes() + table.bytesAfterInsert() - table.bytes();
                if (bytes() - before + grow > budget) {
                    counts.dropped += hashes.length - j;
                    break;
                }
            }
            keys.put(hashes[j], key);
            table.add(key, gpu);
            counts.stored++;
            parent = key;
        }
        return bytes() - before;
    }

    /** Records a {@code BlockRemoved}; returns bytes grown (negative when the tables shrank). */
    long removed(KvEvent.BlockRemoved e, Counts counts) {
        long before = bytes();
        boolean gpu = KvEvent.gpu(e.medium());
        for (long h : e.hashes()) {
            long key = keys.get(h);
            if (key == 0) {
                counts.unknown++;
                continue;
            }
            counts.removed++;
            if (table.remove(key, gpu) == 0 && table.get(key) == 0) {
                keys.remove(h);
            }
        }
        return bytes() - before;
    }

    /** Forgets everything; returns bytes grown (negative). */
    long clear() {
        long before = bytes();
        keys.clear();
        table.clear();
        loras.clear();
        return bytes() - before;
    }
}
