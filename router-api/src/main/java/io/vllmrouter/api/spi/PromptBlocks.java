package io.vllmrouter.api.spi;

import java.util.Objects;

/**
 * Chained 64-bit hashes of a prompt's leading text in fixed-size blocks: the key of prefix-cache
 * aware routing. Block {@code i} covers characters {@code [i * blockChars, (i + 1) * blockChars)};
 * only whole blocks count (as in vLLM, whose cache holds whole blocks). Each hash covers its block
 * and, through its predecessor, everything before it, so two prompts share hash {@code i} exactly
 * when (barring a 2<sup>-64</sup> collision) they share their first {@code (i + 1) * blockChars}
 * characters.
 *
 * <pre>{@code
 * long[] h = PromptBlocks.hash("You are a helpful assistant...", 64, PromptBlocks.MAX_BLOCKS, PromptBlocks.seed("llama"));
 * }</pre>
 *
 * <p>The text of a chat request is its messages rendered one canonical way, each as
 * {@code "<|" + role + "|>\n" + text + "\n"} in order ({@link #appendMessage}), where text is the
 * {@code content} string, or the concatenation of the {@code text} of its {@code text} parts (other
 * parts add {@code "<|" + type + "|>"}). A completions request's text is its {@code prompt} (the
 * first one when it is a list). Hosts and benchmarks that build contexts themselves use the same
 * rendering, so their hashes agree with the router's.
 *
 * <p>Stateless; the hash is an FNV-1a-style multiply-xor over the block's UTF-16 units, four at a
 * time, started from the predecessor's hash and finished with MurmurHash3's mixer.
 */
public final class PromptBlocks {

    /** No blocks: the request carries no prompt text, or less than one block of it. */
    public static final long[] NONE = new long[0];

    /** Most blocks hashed per request; the rest of a longer prompt is ignored. */
    public static final int MAX_BLOCKS = 2048;

    private static final long FNV_PRIME = 0x100000001b3L;

    private PromptBlocks() {
    }

    /** The starting value for a model's prompts, so that equal prompts to different models differ. */
    public static long seed(String model) {
        long h = 0xcbf29ce484222325L;
        if (model != null) {
            for (int i = 0; i < model.length(); i++) {
                h = (h ^ model.charAt(i)) * FNV_PRIME;
            }
        }
        return mix(h);
    }

    /**
     * Hashes the whole blocks of {@code text}, at most {@code maxBlocks}.
     *
     * @param blockChars characters per block, {@code >= 1}
     * @return one hash per whole block; {@link #NONE} when the text is shorter than one block
     */
    public static long[] hash(CharSequence text, int blockChars, int maxBlocks, long seed) {
        Objects.requireNonNull(text, "text");
        if (blockChars < 1) {
            throw new IllegalArgumentException("blockChars: " + blockChars + " (expected: >= 1)");
        }
        int n = Math.min(Math.max(0, maxBlocks), text.length() / blockChars);
        if (n == 0) {
            return NONE;
        }
        long[] out = new long[n];
        long h = seed;
        int p = 0;
        for (int i = 0; i < n; i++) {
            long x = h ^ 0xcbf29ce484222325L;
            int end = p + blockChars;
            for (; p + 4 <= end; p += 4) {
                // Four UTF-16 units per step: a quarter of the multiplications of one per unit.
                long four = text.charAt(p) | (long) text.charAt(p + 1) << 16 | (long) text.charAt(p + 2) << 32
                        | (long) text.charAt(p + 3) << 48;
                x = (x ^ four) * FNV_PRIME;
                x ^= x >>> 29;
            }
            for (; p < end; p++) {
                x = (x ^ text.charAt(p)) * FNV_PRIME;
            }
            h = mix(x);
            out[i] = h;
        }
        return out;
    }

    /** Appends one chat message in the canonical rendering: {@code "<|role|>\ntext\n"}. */
    public static StringBuilder appendMessage(StringBuilder out, String role, CharSequence text) {
        return out.append("<|").append(role == null ? "" : role).append("|>\n").append(text).append('\n');
    }

    /** MurmurHash3's 64-bit finalizer. */
    public static long mix(long h) {
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
