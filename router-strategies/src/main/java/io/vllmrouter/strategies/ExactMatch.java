package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.CachedPrefix;
import io.vllmrouter.api.spi.KvCacheIndex;
import io.vllmrouter.api.spi.PromptTokens;

/**
 * The prefix-match length {@link CacheAwareStrategy} reads from a KV-event index: what a backend
 * reports holding, in the strategy's units (blocks of {@code block_chars} characters), so that it
 * compares with its approximate index's figure for backends that publish no events. A cached token
 * counts {@code chars_per_token / block_chars} blocks; a token held only in offloaded memory counts
 * {@code offloaded_weight} of that. Stateless.
 */
final class ExactMatch {

    /** No figure from the index: the backend is not tracked, or the request has no tokens. */
    static final int NOT_TRACKED = -1;

    private ExactMatch() {
    }

    /**
     * The backend's cached prefix in blocks of {@code block_chars}, or {@link #NOT_TRACKED}.
     *
     * @param index  the router's KV-event index, or null
     * @param tokens the request's tokens, or null
     */
    static int blocks(KvCacheIndex index, PromptTokens tokens, BackendView b, CacheAwareSettings settings,
                      double offloadedWeight) {
        if (index == null || tokens == null || !index.tracks(b)) {
            return NOT_TRACKED;
        }
        CachedPrefix held = index.match(b, tokens);
        double weighted = held.tokens() + offloadedWeight * held.offloadedTokens();
        return (int) (weighted * settings.charsPerToken() / settings.blockChars());
    }
}
