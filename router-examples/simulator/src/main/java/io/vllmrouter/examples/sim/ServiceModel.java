package io.vllmrouter.examples.sim;

/**
 * How long a simulated vLLM takes, in simulated milliseconds. Shared by {@link SimulatedVllm} and
 * the routing-quality benchmark so that both run the very same service model.
 *
 * <ul>
 *   <li>prefill (time from admission to the first token) = {@code ttftBaseMs + ttftPerPromptTokenMs
 *       * uncachedPromptTokens}; the time to first token seen by a client adds the time spent
 *       waiting for a batch slot;</li>
 *   <li>time per output token with {@code n} sequences in the batch = {@code tpotBaseMs * (1 +
 *       tpotBatchAlpha * (n - 1))}: a fuller batch decodes each sequence more slowly, as on a GPU.</li>
 * </ul>
 *
 * @param ttftBaseMs           fixed part of the prefill, {@code >= 0}
 * @param ttftPerPromptTokenMs prefill cost per uncached prompt token, {@code >= 0}
 * @param tpotBaseMs           time per output token with a batch of one, {@code > 0}
 * @param tpotBatchAlpha       slow-down per extra sequence in the batch, {@code >= 0}
 */
public record ServiceModel(double ttftBaseMs, double ttftPerPromptTokenMs, double tpotBaseMs, double tpotBatchAlpha) {

    public ServiceModel {
        requireFinite("ttftBaseMs", ttftBaseMs, 0, false);
        requireFinite("ttftPerPromptTokenMs", ttftPerPromptTokenMs, 0, false);
        requireFinite("tpotBaseMs", tpotBaseMs, 0, true);
        requireFinite("tpotBatchAlpha", tpotBatchAlpha, 0, false);
    }

    /** Prefill time for {@code uncachedPromptTokens} tokens (not counting the wait for a slot). */
    public double prefillMs(double uncachedPromptTokens) {
        return ttftBaseMs + ttftPerPromptTokenMs * uncachedPromptTokens;
    }

    /** Time per output token while {@code running} sequences share the batch. */
    public double tpotMs(int running) {
        return tpotBaseMs * (1 + tpotBatchAlpha * Math.max(0, running - 1));
    }

    /** Time from admission to the last token of one request while {@code running} sequences share the batch. */
    public double serviceMs(double promptTokens, double outputTokens, int running) {
        return prefillMs(promptTokens) + Math.max(0, outputTokens - 1) * tpotMs(running);
    }

    static void requireFinite(String name, double v, double min, boolean strict) {
        if (!Double.isFinite(v) || v < min || (strict && v == min)) {
            throw new IllegalArgumentException(name + ": " + v + " (expected: " + (strict ? "> " : ">= ") + min + ")");
        }
    }
}
