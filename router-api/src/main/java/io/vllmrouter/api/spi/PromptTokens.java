package io.vllmrouter.api.spi;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A request's prompt as the model server tokenizes it (chat template applied), with what vLLM adds
 * to its block hashes: the LoRA adapter's name when the request names one, and the request's
 * {@code cache_salt}. Strategies that route on a KV-event index ask their {@link RouteContext} for
 * it; {@link #blockKeys} gives the {@link TokenBlocks} keys an index compares.
 *
 * <pre>{@code
 * PromptTokens p = PromptTokens.of("llama", ids, null);
 * long[] keys = p.blockKeys(16, null);      // one key per whole block of 16 tokens
 * }</pre>
 *
 * <p>Immutable but for a cache of the last keys computed (racing threads compute the same array);
 * the caller must not modify the arrays returned.
 */
public final class PromptTokens {

    private final String model;
    private final int[] ids;
    private final String cacheSalt;
    private volatile Keys last;

    private record Keys(int blockSize, String lora, long[] keys) {
    }

    private PromptTokens(String model, int[] ids, String cacheSalt) {
        this.model = model;
        this.ids = Objects.requireNonNull(ids, "ids");
        this.cacheSalt = cacheSalt == null || cacheSalt.isEmpty() ? null : cacheSalt;
    }

    /**
     * @param model     the request's {@code model} (a LoRA adapter's name when it names one), or null
     * @param ids       the token ids, which this object keeps (not copied)
     * @param cacheSalt the request's {@code cache_salt}, or null
     */
    public static PromptTokens of(String model, int[] ids, String cacheSalt) {
        return new PromptTokens(model, ids, cacheSalt);
    }

    public String model() {
        return model;
    }

    /** The token ids; do not modify. */
    public int[] ids() {
        return ids;
    }

    public int length() {
        return ids.length;
    }

    public String cacheSalt() {
        return cacheSalt;
    }

    /**
     * Keys of the prompt's whole blocks of {@code blockSize} tokens, each block's extra keys being,
     * in vLLM's order ({@code generate_block_hash_extra_keys}), {@code lora} when not null and, for
     * the first block only, the cache salt.
     *
     * @param lora the LoRA adapter's name the server hashes with, or null for the base model
     */
    public long[] blockKeys(int blockSize, String lora) {
        if (blockSize < 1) {
            throw new IllegalArgumentException("blockSize: " + blockSize + " (expected: >= 1)");
        }
        Keys k = last;
        if (k != null && k.blockSize == blockSize && Objects.equals(k.lora, lora)) {
            return k.keys;
        }
        int n = ids.length / blockSize;
        long[] out = new long[n];
        long rest = lora == null ? TokenBlocks.NO_EXTRAS : TokenBlocks.extras(List.of(lora));
        long parent = TokenBlocks.SEED;
        for (int i = 0; i < n; i++) {
            long extras = rest;
            if (i == 0 && cacheSalt != null) {
                extras = TokenBlocks.extras(lora == null ? List.of(cacheSalt) : List.of(lora, cacheSalt));
            }
            parent = TokenBlocks.next(parent, ids, i * blockSize, (i + 1) * blockSize, extras);
            out[i] = parent;
        }
        last = new Keys(blockSize, lora, out);
        return out;
    }

    @Override
    public String toString() {
        return "PromptTokens[" + model + ", " + ids.length + " tokens" + (ids.length > 8
                ? ", " + Arrays.toString(Arrays.copyOf(ids, 8)).replace("]", ", ...]") : ", " + Arrays.toString(ids)) + "]";
    }
}
