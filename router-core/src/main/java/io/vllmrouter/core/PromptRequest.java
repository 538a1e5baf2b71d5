package io.vllmrouter.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;

/**
 * A request body read for tokenization: a chat request ({@code messages}) or a completions request
 * ({@code prompt}), with its {@code cache_salt}. A completions prompt of token ids needs no
 * tokenizer: {@link #promptIds()} has them.
 *
 * @param model     the request's {@code model}, or null
 * @param body      the request's bytes
 * @param json      the body as a tree
 * @param chat      whether the body has {@code messages}
 * @param cacheSalt the body's {@code cache_salt}, or null
 * @param promptIds a completions prompt given as token ids, or null
 */
record PromptRequest(String model, byte[] body, ObjectNode json, boolean chat, String cacheSalt, int[] promptIds) {

    /**
     * The body read, or null when it holds no prompt to tokenize (not JSON, neither
     * {@code messages} nor a {@code prompt} string or token list).
     */
    static PromptRequest read(String model, byte[] body) {
        JsonNode n;
        try {
            n = RouterJson.mapper().readTree(body);
        } catch (IOException | RuntimeException e) {
            return null;
        }
        if (!(n instanceof ObjectNode o)) {
            return null;
        }
        JsonNode salt = o.get("cache_salt");
        String cacheSalt = salt != null && salt.isTextual() ? salt.asText() : null;
        JsonNode messages = o.get("messages");
        if (messages != null && messages.isArray() && !messages.isEmpty()) {
            return new PromptRequest(model, body, o, true, cacheSalt, null);
        }
        JsonNode prompt = o.get("prompt");
        if (prompt == null) {
            return null;
        }
        if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isArray()) {
            prompt = prompt.get(0);     // a batch of token lists: the first
        }
        if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isIntegralNumber()) {
            int[] ids = new int[prompt.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = prompt.get(i).asInt();
            }
            return new PromptRequest(model, body, o, false, cacheSalt, ids);
        }
        if (prompt.isArray() && !prompt.isEmpty() && prompt.get(0).isTextual()) {
            return new PromptRequest(model, body, o, false, cacheSalt, null);
        }
        return prompt.isTextual() ? new PromptRequest(model, body, o, false, cacheSalt, null) : null;
    }

    /** A completions request's prompt text (the first of a list), or null. */
    String promptText() {
        JsonNode p = json.get("prompt");
        if (p != null && p.isArray() && !p.isEmpty()) {
            p = p.get(0);
        }
        return p != null && p.isTextual() ? p.asText() : null;
    }
}
