package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The simulated model's tokenizer and chat template, so that the simulator counts, caches and
 * reports tokens as vLLM does for a real model: {@code /v1/chat/completions} and {@code /tokenize}
 * render {@code messages} with the same template (ChatML, as Qwen's models use) and tokenize the
 * result the same way, so the token ids {@code /tokenize} returns are those the prefix cache and the
 * KV-cache events see.
 *
 * <p>Tokenization: the template's special tokens are one id each ({@value #IM_START},
 * {@value #IM_END}); the text between them is cut into pieces of four characters from the start of
 * each stretch and after each newline (as a real tokenizer starts afresh at a special token, and its
 * pre-tokenizer splits at line breaks), each piece one id drawn from its characters. A message's
 * tokens therefore do not depend on what follows it, and an answer's text starts a piece of its own
 * after the template's {@code <|im_start|>assistant\n}, which is what lets a conversation's history,
 * answers included, hit the prefix cache. Stateless.
 */
final class SimTokenizer {

    static final int IM_START = 151_644;
    static final int IM_END = 151_645;
    static final String IM_START_TEXT = "<|im_start|>";
    static final String IM_END_TEXT = "<|im_end|>";
    private static final int VOCABULARY = 151_643;

    private SimTokenizer() {
    }

    /**
     * The chat template: {@code <|im_start|>role\ncontent<|im_end|>\n} per message, then
     * {@code <|im_start|>assistant\n} when {@code addGenerationPrompt}; with
     * {@code continueFinalMessage} the last message is left open (no {@code <|im_end|>}), as vLLM's
     * {@code continue_final_message} renders it.
     */
    static String render(JsonNode messages, boolean addGenerationPrompt, boolean continueFinalMessage) {
        StringBuilder b = new StringBuilder();
        int n = messages.size();
        for (int i = 0; i < n; i++) {
            JsonNode m = messages.get(i);
            b.append(IM_START_TEXT).append(m.path("role").asText("user")).append('\n');
            SimRequests.appendContent(b, m.get("content"));
            if (i < n - 1 || !continueFinalMessage) {
                b.append(IM_END_TEXT).append('\n');
            }
        }
        if (addGenerationPrompt && !continueFinalMessage) {
            b.append(IM_START_TEXT).append("assistant\n");
        }
        return b.toString();
    }

    /** A chat request's prompt text: its messages rendered with the options it carries (vLLM's defaults). */
    static String chatText(JsonNode body) {
        return render(body.get("messages"), body.path("add_generation_prompt").asBoolean(true),
                body.path("continue_final_message").asBoolean(false));
    }

    /** Token ids of {@code text}: special tokens one id each, other text in pieces of four characters, cut after newlines. */
    static int[] encode(String text) {
        int[] out = new int[text.length() / 2 + 4];
        int n = 0;
        int i = 0;
        int len = text.length();
        while (i < len) {
            int special = nextSpecial(text, i);
            int end = special < 0 ? len : special;
            int newline = -1;
            for (int p = i; p < end; ) {
                if (newline < p) {
                    newline = text.indexOf('\n', p);
                    newline = newline < 0 || newline >= end ? end : newline;
                }
                int q = Math.min(Math.min(end, p + 4), newline + 1);
                if (n == out.length) {
                    out = java.util.Arrays.copyOf(out, out.length * 2);
                }
                out[n++] = pieceId(text.substring(p, q));
                p = q;
            }
            if (special < 0) {
                break;
            }
            if (n == out.length) {
                out = java.util.Arrays.copyOf(out, out.length * 2);
            }
            boolean start = text.startsWith(IM_START_TEXT, special);
            out[n++] = start ? IM_START : IM_END;
            i = special + (start ? IM_START_TEXT.length() : IM_END_TEXT.length());
        }
        return java.util.Arrays.copyOf(out, n);
    }

    /** The id of one piece of ordinary text (at most four characters, no special token). */
    static int pieceId(String piece) {
        return Math.floorMod(piece.hashCode() * 0x9E3779B1, VOCABULARY);
    }

    private static int nextSpecial(String text, int from) {
        int a = text.indexOf(IM_START_TEXT, from);
        int b = text.indexOf(IM_END_TEXT, from);
        return a < 0 ? b : b < 0 ? a : Math.min(a, b);
    }
}
