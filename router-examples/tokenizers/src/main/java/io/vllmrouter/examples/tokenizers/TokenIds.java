package io.vllmrouter.examples.tokenizers;

import ai.djl.huggingface.tokenizers.HuggingFaceTokenizer;
import ai.djl.huggingface.tokenizers.jni.TokenizersLibrary;
import java.util.List;

/**
 * Token ids from the native Hugging Face tokenizer, and nothing else. DJL's {@code encode} builds a
 * whole {@code Encoding} (tokens as strings, offsets, masks, word ids: a native call and an array
 * each); the router needs the ids alone, which cost about two thirds of that for a 1,300-token
 * prompt. The tokenizer's own settings (no truncation, no padding) apply as in {@code encode}.
 * Thread-safe as the native tokenizer is.
 */
final class TokenIds {

    private static final TokenizersLibrary LIB = TokenizersLibrary.LIB;

    private TokenIds() {
    }

    /** The ids of {@code text}. */
    static int[] of(HuggingFaceTokenizer tokenizer, String text, boolean addSpecialTokens) {
        long encoding = LIB.encode(tokenizer.getHandle(), text, addSpecialTokens);
        try {
            return narrow(LIB.getTokenIds(encoding));
        } finally {
            LIB.deleteEncoding(encoding);
        }
    }

    /** The ids of each text, in one native call (which may spread them over threads). */
    static int[][] of(HuggingFaceTokenizer tokenizer, List<String> texts, boolean addSpecialTokens) {
        long[] encodings = LIB.batchEncode(tokenizer.getHandle(), texts.toArray(new String[0]), addSpecialTokens);
        int[][] out = new int[encodings.length][];
        try {
            for (int i = 0; i < encodings.length; i++) {
                out[i] = narrow(LIB.getTokenIds(encodings[i]));
            }
        } finally {
            for (long e : encodings) {
                LIB.deleteEncoding(e);
            }
        }
        return out;
    }

    private static int[] narrow(long[] ids) {
        int[] out = new int[ids.length];
        for (int i = 0; i < ids.length; i++) {
            out[i] = (int) ids[i];
        }
        return out;
    }
}
