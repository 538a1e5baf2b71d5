package io.vllmrouter.api.spi;

import java.time.Duration;
import java.util.Objects;

/**
 * What a strategy asks the router to prepare before each of its picks, beyond the snapshot of
 * backends: the prompt's token ids ({@link RouteContext#promptTokens()}) from a tokenizer, and a
 * KV-event index ({@link RouteContext#kvCacheIndex()}). Returned by
 * {@link BalancingStrategy#pickInputs()}; {@link #NONE} for strategies that need neither.
 *
 * @param tokenizer       {@code "backend"} (each server's {@code POST /tokenize}), a local tokenizer's
 *                        setting for a {@link PromptTokenizerProvider}, or null for no tokens
 * @param tokenizeTimeout how long a request may wait for its tokens before it is routed without them
 * @param kvEvents        whether the strategy reads a {@link KvCacheIndex}
 * @param kvIndexMaxBytes the index's memory cap, bytes
 */
public record PickInputs(String tokenizer, Duration tokenizeTimeout, boolean kvEvents, long kvIndexMaxBytes) {

    /** Nothing beyond the snapshot. */
    public static final PickInputs NONE = new PickInputs(null, Duration.ZERO, false, 0);

    public PickInputs {
        Objects.requireNonNull(tokenizeTimeout, "tokenizeTimeout");
        if (tokenizeTimeout.isNegative()) {
            throw new IllegalArgumentException("tokenize_timeout: " + tokenizeTimeout + " (expected: >= 0)");
        }
    }

    /** Whether the strategy wants the prompt's tokens. */
    public boolean wantsTokens() {
        return tokenizer != null;
    }
}
