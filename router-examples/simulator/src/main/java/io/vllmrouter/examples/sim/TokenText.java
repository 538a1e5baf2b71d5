package io.vllmrouter.examples.sim;

import java.util.SplittableRandom;

/**
 * The tokens a simulated model "generates": four characters each (a short word and its space),
 * drawn by a random source seeded from the simulator's seed, the prompt and the request's seed, so
 * that the same seed and prompt give the same text whatever else runs at the same time.
 *
 * <p>Each token is one piece of {@link SimTokenizer}'s (text after a newline is cut into pieces of
 * four characters), so an answer sent back in the next turn's messages tokenizes to the very ids the
 * model generated, as a real model's answer does (mostly) with its own tokenizer: that is what lets
 * the prefix cache hold a conversation's answers for its next turn ({@link #ids}).
 */
final class TokenText {

    private static final String[] VOCABULARY = {
        "the ", "and ", "GPU ", "for ", "can ", "may ", "not ", "you ", "all ", "one ",
        "two ", "new ", "old ", "big ", "low ", "top ", "run ", "set ", "get ", "put ",
        "use ", "few ", "key ", "map ", "row ", "log ", "bit ", "net ", "job ", "day ",
        "way ", "now ", "yes ", "its ", "our ", "out ", "via ", "per ", "sum ", "max ",
        "min ", "add ", "end ", "ask ", "say ", "see ", "try ", "fit ", "hot ", "hit ",
        "let ", "own ", "far ", "KV, ", "ok. ", "so, ", "is, ", "any ", "too ", "yet ",
        "who ", "how ", "why ", "did ",
    };

    /** Token ids of the vocabulary, as {@link SimTokenizer} gives them. */
    private static final int[] IDS = new int[VOCABULARY.length];

    static {
        for (int i = 0; i < VOCABULARY.length; i++) {
            IDS[i] = SimTokenizer.pieceId(VOCABULARY[i]);
        }
    }

    private final long seed;
    private final SplittableRandom random;
    private int drawn;

    TokenText(long seed, String prompt, long requestSeed) {
        long h = seed * 0x9E3779B97F4A7C15L;
        h ^= prompt.hashCode() * 0xC2B2AE3D27D4EB4FL;
        h ^= requestSeed * 0x165667B19E3779F9L;
        this.seed = h;
        this.random = new SplittableRandom(h);
    }

    String next() {
        drawn++;
        return VOCABULARY[random.nextInt(VOCABULARY.length)];
    }

    /**
     * The token ids of the next {@code n} tokens, without moving past them: what the model will
     * generate, for the KV cache's blocks of the answer.
     */
    int[] ids(int n) {
        SplittableRandom copy = new SplittableRandom(seed);
        for (int i = 0; i < drawn; i++) {
            copy.nextInt(VOCABULARY.length);
        }
        int[] out = new int[n];
        for (int i = 0; i < n; i++) {
            out[i] = IDS[copy.nextInt(VOCABULARY.length)];
        }
        return out;
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
