package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What the simulator reads from a request's JSON body: the model it names (one this server serves,
 * else vLLM's 404), and its prompt, as text (for the seeded answer) and as the token ids the model
 * would see (for the prefix cache, {@code /tokenize} and the context-length check). A request that
 * lacks what it needs is refused with a {@link SimHttp.BadRequest}. Stateless.
 */
final class SimRequests {

    private SimRequests() {
    }

    /** The model {@code body} names, or the first served when it names none. */
    static String servedModel(SimConfig config, JsonNode body) {
        JsonNode m = body.get("model");
        if (m == null || m.isNull()) {
            return config.models().get(0);
        }
        String model = m.asText();
        if (!config.models().contains(model)) {
            throw new SimHttp.BadRequest(404, SimHttp.modelNotFoundJson(model));
        }
        return model;
    }

    /**
     * The prompt's token ids as the model would see them: a chat request's messages rendered with the
     * chat template ({@link SimTokenizer}), a completions prompt tokenized, or given as ids.
     */
    static int[] promptIds(JsonNode body, boolean chat) {
        if (chat) {
            chatPrompt(body);   // checks the messages
            return SimTokenizer.encode(SimTokenizer.chatText(body));
        }
        JsonNode p = body.path("prompt");
        if (p.isArray() && p.size() > 0 && p.get(0).isIntegralNumber()) {
            int[] ids = new int[p.size()];
            for (int i = 0; i < ids.length; i++) {
                ids[i] = p.get(i).asInt();
            }
            return ids;
        }
        return SimTokenizer.encode(completionPrompt(body));
    }

    /** A chat request's messages as one prompt text. */
    static String chatPrompt(JsonNode body) {
        JsonNode messages = body.get("messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw SimHttp.BadRequest.of("messages: " + messages + " (expected: a non-empty array of messages)");
        }
        return chatPrompt(messages, messages.size());
    }

    /** The first {@code count} messages as one prompt text. */
    static String chatPrompt(JsonNode messages, int count) {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < count; i++) {
            JsonNode msg = messages.get(i);
            b.append(msg.path("role").asText("user")).append(": ");
            appendContent(b, msg.get("content"));
            b.append('\n');
        }
        return b.toString();
    }

    /** A message's {@code content} as text: a string, or the {@code text} of its parts; nothing when absent or null. */
    static void appendContent(StringBuilder b, JsonNode content) {
        if (content != null && content.isArray()) {
            for (JsonNode part : content) {
                b.append(part.path("text").asText(""));
            }
        } else if (content != null && !content.isNull()) {
            b.append(content.asText());
        }
    }

    /** A completions request's prompt as one text. */
    static String completionPrompt(JsonNode body) {
        JsonNode prompt = body.get("prompt");
        if (prompt == null || prompt.isNull()) {
            throw SimHttp.BadRequest.of("prompt: missing (expected: a string, an array of strings or of token ids)");
        }
        if (prompt.isArray()) {
            StringBuilder b = new StringBuilder();
            for (JsonNode p : prompt) {
                b.append(p.isTextual() ? p.asText() : p.toString() + ' ');
            }
            return b.toString();
        }
        return prompt.asText();
    }
}
