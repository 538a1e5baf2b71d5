package io.vllmrouter.api.spi;

import java.util.random.RandomGenerator;

/** What a strategy may know of the request being routed. */
public interface RouteContext {

    /** The request's {@code model}, or null when it named none. */
    String model();

    /** Whether the client asked for a stream. */
    boolean stream();

    /** An affinity key (the body's {@code user} field, else the session header, {@code X-Session-Id} by default), or null. */
    String affinityKey();

    /** 1 for the first try, 2 for the first retry, ... */
    int attempt();

    /** The router's random source for tie-breaking (seeded in tests). */
    RandomGenerator random();

    /**
     * Chained hashes of the prompt's leading whole blocks of {@code blockChars} characters, at most
     * {@link PromptBlocks#MAX_BLOCKS}, seeded with {@link PromptBlocks#seed(String) the model}: see
     * {@link PromptBlocks} for the text a chat or completions request gives. Computed on the first
     * call (the router reads the body only for a strategy that asks) and kept for the request's
     * retries; the caller must not modify the array. Empty when the request has no prompt text.
     */
    default long[] promptBlockHashes(int blockChars) {
        return PromptBlocks.NONE;
    }

    /**
     * The prompt's token ids as the model server computes them, for a strategy whose
     * {@link BalancingStrategy#pickInputs()} asks for them; null when it did not, when the request has
     * no prompt, or when the tokenizer did not answer within its time budget (the strategy then
     * routes without them).
     */
    default PromptTokens promptTokens() {
        return null;
    }

    /** The router's KV-event index, for a strategy that asked for one; null otherwise. */
    default KvCacheIndex kvCacheIndex() {
        return null;
    }

    /**
     * The request's size: estimated prompt tokens and its own limit on answer tokens, read from the
     * JSON body when the router parsed it; {@link RequestSize#UNKNOWN} when there is none (a
     * multipart upload, a host's own context). Strategies that weigh requests by their size
     * ({@code latency-aware}) use it with {@link ExpectedTime}.
     */
    default RequestSize size() {
        return RequestSize.UNKNOWN;
    }

    /** A plain context, for tests and for hosts that call a strategy directly. */
    static RouteContext of(String model, boolean stream, String affinityKey, int attempt, RandomGenerator random) {
        return new Simple(model, stream, affinityKey, attempt, random);
    }

    /**
     * A context whose prompt text is {@code prompt} (already rendered as {@link PromptBlocks}
     * describes), for tests, benchmarks and hosts that call a strategy directly. Hashes are
     * computed on each call.
     */
    static RouteContext ofPrompt(String model, String affinityKey, CharSequence prompt, RandomGenerator random) {
        return new Prompted(model, affinityKey, prompt, random);
    }

    /** A context of a request of {@code size}: streaming, first attempt (tests, benchmarks, hosts). */
    static RouteContext ofSize(String model, String affinityKey, RequestSize size, RandomGenerator random) {
        return new Sized(model, affinityKey, size, random);
    }

    /** The value behind {@link #ofSize}. */
    record Sized(String model, String affinityKey, RequestSize size, RandomGenerator random) implements RouteContext {

        @Override
        public boolean stream() {
            return true;
        }

        @Override
        public int attempt() {
            return 1;
        }
    }

    /** The value behind {@link #of}. */
    record Simple(String model, boolean stream, String affinityKey, int attempt, RandomGenerator random)
            implements RouteContext {
    }

    /** The value behind {@link #ofPrompt}: streaming, first attempt. */
    record Prompted(String model, String affinityKey, CharSequence prompt, RandomGenerator random)
            implements RouteContext {

        @Override
        public boolean stream() {
            return true;
        }

        @Override
        public int attempt() {
            return 1;
        }

        @Override
        public long[] promptBlockHashes(int blockChars) {
            return prompt == null ? PromptBlocks.NONE
                    : PromptBlocks.hash(prompt, blockChars, PromptBlocks.MAX_BLOCKS, PromptBlocks.seed(model));
        }
    }
}
