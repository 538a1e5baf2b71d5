package io.vllmrouter.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The SSE side of a {@link ResumableStream}: notes what each event passed on carries (the text, one
 * token per content event, the first event's {@code id}, {@code created} and {@code model}),
 * builds the continuation request from it, and rewrites the continuation's events so that they
 * read as the same answer (same ids, no second role event, {@code usage} for the whole answer).
 * Used under its stream's lock; not thread-safe by itself.
 */
final class SseSplice {

    private static final byte[] NL2 = {'\n', '\n'};

    private final ObjectMapper json = RouterJson.mapper();
    private final boolean chat;

    private final StringBuilder text = new StringBuilder();
    private int tokens;
    private boolean doneSent;
    /** A chat role event reached the caller: a continuation's own is dropped. */
    private boolean rolePassed;
    private String id;
    private JsonNode created;
    private JsonNode model;
    /** The continuation's events are being spliced: rewrite ids, drop its role event, fix usage. */
    private boolean continuation;
    private int tokensBeforeContinuation;

    SseSplice(boolean chat) {
        this.chat = chat;
    }

    boolean doneSent() {
        return doneSent;
    }

    /** One SSE event (without its blank line): notes what it carries; returns the bytes to pass on, or null to drop it. */
    byte[] event(String event) {
        String data = null;
        for (String line : event.split("\n", -1)) {
            if (line.startsWith("data:")) {
                data = line.substring(5).strip();
            }
        }
        if (data == null || data.isEmpty()) {
            return bytes(event);
        }
        if (data.equals("[DONE]")) {
            doneSent = true;
            return bytes(event);
        }
        JsonNode node;
        try {
            node = json.readTree(data);
        } catch (IOException e) {
            return bytes(event);           // not JSON: pass it on as it is
        }
        if (!(node instanceof ObjectNode o)) {
            return bytes(event);
        }
        boolean rewritten = false;
        if (id == null) {
            id = o.path("id").asText(null);
            created = o.get("created");
            model = o.get("model");
        } else if (continuation) {
            if (id != null) {
                o.put("id", id);
            }
            if (created != null) {
                o.set("created", created);
            }
            if (model != null) {
                o.set("model", model);
            }
            rewritten = true;
        }
        JsonNode choices = o.get("choices");
        JsonNode c0 = choices != null && choices.isArray() && !choices.isEmpty() ? choices.get(0) : null;
        if (c0 != null) {
            String piece = chat ? c0.path("delta").path("content").asText("") : c0.path("text").asText("");
            if (chat && c0.path("delta").has("role") && piece.isEmpty() && c0.path("finish_reason").isNull()) {
                if (rolePassed) {
                    return null;           // the continuation's role event: the caller has had one
                }
                rolePassed = true;
            }
            if (!piece.isEmpty()) {
                text.append(piece);
                tokens++;
            }
        }
        JsonNode usage = o.get("usage");
        if (continuation && usage instanceof ObjectNode u && u.has("completion_tokens")) {
            int completion = u.path("completion_tokens").asInt() + tokensBeforeContinuation;
            int prompt = Math.max(0, u.path("prompt_tokens").asInt() - tokensBeforeContinuation);
            u.put("completion_tokens", completion);
            u.put("prompt_tokens", prompt);
            u.put("total_tokens", prompt + completion);
        }
        if (!rewritten && !(continuation && usage != null)) {
            return bytes(event);
        }
        try {
            return bytes("data: " + json.writeValueAsString(o));
        } catch (IOException e) {
            return bytes(event);
        }
    }

    private static byte[] bytes(String event) {
        byte[] e = event.getBytes(StandardCharsets.UTF_8);
        byte[] out = new byte[e.length + 2];
        System.arraycopy(e, 0, out, 0, e.length);
        System.arraycopy(NL2, 0, out, e.length, 2);
        return out;
    }

    /** The caller's request, asking the next backend to go on from the text passed on so far. */
    byte[] continuationBody(ObjectNode request) {
        ObjectNode next = request.deepCopy();
        String sofar = text.toString();
        if (!sofar.isEmpty()) {
            if (chat) {
                ArrayNode messages = (ArrayNode) next.get("messages");
                ObjectNode m = messages.addObject();
                m.put("role", "assistant");
                m.put("content", sofar);
                next.put("continue_final_message", true);
                next.put("add_generation_prompt", false);
            } else {
                JsonNode p = next.get("prompt");
                String prompt = p.isArray() ? p.get(0).asText() : p.asText();
                next.put("prompt", prompt + sofar);
            }
        }
        for (String key : new String[] {"max_tokens", "max_completion_tokens"}) {
            JsonNode max = next.get(key);
            if (max != null && max.canConvertToInt()) {
                int left = max.asInt() - tokens;
                if (left < 1) {
                    return null;           // the answer had all its tokens: nothing to continue
                }
                next.put(key, left);
            }
        }
        continuation = true;
        tokensBeforeContinuation = tokens;
        try {
            return json.writeValueAsBytes(next);
        } catch (IOException e) {
            return null;
        }
    }
}
