package io.vllmrouter.api.spi;

import java.util.List;

/**
 * The router's own key for a KV-cache block: a chained 64-bit hash of the block's token ids and
 * its extra keys (LoRA adapter name, cache salt, multimodal identifiers), started from a fixed
 * seed. Both sides use it: a KV-event index keys the blocks a server reports, a request keys the
 * blocks of its prompt, and equal keys mean equal prefixes (barring a 2<sup>-64</sup> collision).
 *
 * <pre>{@code
 * long k0 = TokenBlocks.next(TokenBlocks.SEED, ids, 0, 16, TokenBlocks.NO_EXTRAS);
 * long k1 = TokenBlocks.next(k0, ids, 16, 32, TokenBlocks.NO_EXTRAS);
 * }</pre>
 *
 * <p>vLLM's own block hash is not reproduced on purpose: its seed ({@code NONE_HASH}) is random per
 * process unless the operator fixes {@code PYTHONHASHSEED}, and its hash function is configurable.
 * The chain mirrors vLLM's {@code hash_block_tokens(parent, tokens, extra_keys)}
 * ({@code vllm/v1/core/kv_cache_utils.py}), so two blocks get one key here exactly when vLLM would
 * give them one hash. Stateless.
 */
public final class TokenBlocks {

    /** The parent of a prompt's first block. */
    public static final long SEED = 0x6b765f626c6f636bL;

    /** The extras value of a block without extra keys. */
    public static final long NO_EXTRAS = 0;

    private static final long PRIME = 0x100000001b3L;

    private TokenBlocks() {
    }

    /** The key of the block of {@code tokens[from, to)} whose predecessor's key is {@code parent}. */
    public static long next(long parent, int[] tokens, int from, int to, long extras) {
        long h = PromptBlocks.mix(parent ^ 0x9E3779B97F4A7C15L);
        int i = from;
        for (; i + 2 <= to; i += 2) {
            // Two token ids per step: half the multiplications of one per id.
            h = (h ^ ((tokens[i] & 0xFFFFFFFFL) | (long) tokens[i + 1] << 32)) * PRIME;
            h ^= h >>> 29;
        }
        if (i < to) {
            h = (h ^ (tokens[i] & 0xFFFFFFFFL)) * PRIME;
        }
        h ^= (to - from) * 0xC2B2AE3D27D4EB4FL;
        return PromptBlocks.mix(h ^ extras);
    }

    /**
     * The extras value of one block's extra keys, as vLLM lists them in a {@code BlockStored}
     * event's {@code extra_keys} entry: a tuple of strings (LoRA name, cache salt), integers, byte
     * strings, and nested tuples (a multimodal identifier with its offset). {@link #NO_EXTRAS} for
     * null or an empty list. Elements are {@link String}, {@link Number}, {@code byte[]},
     * {@link Boolean}, {@link List} or null.
     */
    public static long extras(List<?> keys) {
        if (keys == null || keys.isEmpty()) {
            return NO_EXTRAS;
        }
        long h = 0x45787472614b6579L;
        for (Object o : keys) {
            h = PromptBlocks.mix(h * PRIME ^ element(o));
        }
        return h == NO_EXTRAS ? 1 : h;
    }

    private static long element(Object o) {
        if (o == null) {
            return 0x1;
        }
        if (o instanceof String s) {
            long h = 0x2;
            for (int i = 0; i < s.length(); i++) {
                h = (h ^ s.charAt(i)) * PRIME;
            }
            return h;
        }
        if (o instanceof Double || o instanceof Float) {
            return 0x3 ^ Double.doubleToLongBits(((Number) o).doubleValue()) * PRIME;
        }
        if (o instanceof Number n) {
            return 0x4 ^ PromptBlocks.mix(n.longValue());
        }
        if (o instanceof byte[] b) {
            long h = 0x5;
            for (byte x : b) {
                h = (h ^ (x & 0xFF)) * PRIME;
            }
            return h;
        }
        if (o instanceof Boolean b) {
            return b ? 0x6 : 0x7;
        }
        if (o instanceof List<?> l) {
            return 0x8 ^ extras(l);
        }
        return 0x9 ^ element(o.toString());
    }
}
