package io.vllmrouter.examples.sim;

import java.util.SplittableRandom;

/**
 * The words a simulated model "generates": drawn from a small vocabulary by a random source seeded
 * from the simulator's seed and the prompt, so that the same seed and prompt give the same text
 * whatever else runs at the same time.
 */
final class TokenText {

    private static final String[] VOCABULARY = {
        "the ", "model ", "router ", "token ", "batch ", "cache ", "stream ", "server ", "load ", "queue ",
        "fast ", "slow ", "GPU ", "request ", "answer ", "vLLM ", "and ", "of ", "to ", "in ",
        "a ", "is ", "that ", "for ", "with ", "on ", "as ", "it ", "by ", "this ",
        "prefill ", "decode ", "latency ", "throughput ", "kernel ", "memory ", "block ", "sequence ", "prompt ", "output ",
        "hello ", "world ", "simulated ", "result ", "value ", "data ", "time ", "first ", "next ", "last ",
        "we ", "you ", "they ", "can ", "will ", "may ", "not ", "more ", "less ", "very ",
        "then ", "when ", "here ", "done. ",
    };

    private final SplittableRandom random;

    TokenText(long seed, String prompt, long requestSeed) {
        long h = seed * 0x9E3779B97F4A7C15L;
        h ^= prompt.hashCode() * 0xC2B2AE3D27D4EB4FL;
        h ^= requestSeed * 0x165667B19E3779F9L;
        this.random = new SplittableRandom(h);
    }

    String next() {
        return VOCABULARY[random.nextInt(VOCABULARY.length)];
    }

    /**
     * Moves past {@code generated}, the text this source would have produced first, so that
     * {@link #next()} goes on from there (a continued answer reads as the uninterrupted one).
     */
    void skip(String generated) {
        int length = 0;
        while (length < generated.length()) {
            length += next().length();
        }
    }

    /** Rough token count of a text: characters / 4, at least 1. */
    static int countTokens(String text) {
        return Math.max(1, (text.length() + 3) / 4);
    }
}
