package io.vllmrouter.api.spi;

/**
 * How much of a prompt one server holds in its prefix cache, as a {@link KvCacheIndex} knows it: the
 * leading {@code tokens} in fast (GPU) memory, then {@code offloadedTokens} more that it holds only in
 * slower memory (CPU offload), which it can load instead of computing but not for free.
 *
 * @param tokens          leading prompt tokens held in GPU memory, {@code >= 0}
 * @param offloadedTokens tokens after those held in offloaded memory only, {@code >= 0}
 */
public record CachedPrefix(int tokens, int offloadedTokens) {

    /** Nothing held. */
    public static final CachedPrefix NONE = new CachedPrefix(0, 0);

    public CachedPrefix {
        if (tokens < 0 || offloadedTokens < 0) {
            throw new IllegalArgumentException("tokens: " + tokens + ", offloadedTokens: " + offloadedTokens
                    + " (expected: >= 0)");
        }
    }
}
