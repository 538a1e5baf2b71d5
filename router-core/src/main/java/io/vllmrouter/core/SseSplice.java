package io.vllmrouter.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * The SSE side of a {@link ResumableStream}: notes what each event passed on carries, builds the
 * continuation request from it, and rewrites the continuation's events so that they read as the
 * same answer. Used under its stream's lock; not thread-safe by itself.
 *
 * <p>What it keeps: the text and, for reasoning models, the reasoning passed on (vLLM streams it in
 * {@code delta.reasoning}, before v0.11.1 in {@code delta.reasoning_content}); the tokens produced,
 * exactly, from the {@code usage} vLLM puts in every chunk when asked for
 * {@code stream_options.continuous_usage_stats} (which {@link ResumableStream} asks for), else one per
 * content event; the first event's {@code id}, {@code created} and {@code model}; whether
 * {@code [DONE]} or a final {@code finish_reason} went by, after which the answer is complete.
 *
 * <p>What the caller sees is what it asked for: usage the router asked for on its own is taken out
 * of the chunks (and the final usage chunk dropped) unless the caller's own {@code stream_options}
 * asked for it. A continuation's events get the first event's {@code id}, {@code created} and
 * {@code model}, lose their role event, name reasoning in the field the caller has seen, and count
 * usage for the whole answer.
 */
final class SseSplice {

    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);

    private final ObjectMapper json = RouterJson.mapper();
    private final boolean chat;
    private final boolean callerUsage;
    private final boolean callerContinuous;

    private final StringBuilder text = new StringBuilder();
    private final StringBuilder reasoning = new StringBuilder();
    /** Which reasoning fields the caller has seen: bit 1 {@code reasoning}, bit 2 {@code reasoning_content}. */
    private int reasoningFields;
    /** Completion tokens per the last usage passed on, the whole answer's; -1 before any. */
    private int usageTokens = -1;
    /** Content events passed on since that usage (all of them when no usage came). */
    private int eventsSinceUsage;
    private int promptTokens = -1;
    private boolean doneSent;
    private boolean finished;
    private boolean usageSent;
    /** A chat role event reached the caller: a continuation's own is dropped. */
    private boolean rolePassed;
    private String id;
    private JsonNode created;
    private JsonNode model;
    /** The continuation's events are being spliced: rewrite ids, drop its role event, fix usage. */
    private boolean continuation;
    private int tokensBefore;

    /**
     * @param chat             a chat completion (else a text completion)
     * @param callerUsage      the caller asked for the final usage chunk
     * @param callerContinuous the caller asked for usage in every chunk too
     */
    SseSplice(boolean chat, boolean callerUsage, boolean callerContinuous) {
        this.chat = chat;
        this.callerUsage = callerUsage;
        this.callerContinuous = callerContinuous;
    }

    /** Whether the answer is complete: {@code [DONE]} or a final {@code finish_reason} was passed on. */
    boolean complete() {
        return doneSent || finished;
    }

    boolean doneSent() {
        return doneSent;
    }

    /** Tokens of the answer passed on so far. */
    int produced() {
        return usageTokens >= 0 ? usageTokens + eventsSinceUsage : eventsSinceUsage;
    }

    /**
     * One event as the parser read it: notes what it carries and returns the bytes to pass on, or
     * null to drop it (what follows {@code [DONE]}, a role or usage event the caller must not see).
     *
     * @throws InBandError when the event is the backend's error event
     */
    byte[] event(SseParser.Kind kind, byte[] raw, String data) throws InBandError {
        if (doneSent) {
            return null;
        }
        switch (kind) {
            case NO_DATA:
                return raw;
            case DONE:
                doneSent = true;
                return raw;
            default:
                break;
        }
        JsonNode node;
        try {
            node = json.readTree(data);
        } catch (IOException e) {
            if (kind == SseParser.Kind.ERROR) {
                throw InBandError.of(null);
            }
            return raw;                // not JSON: pass it on as it is
        }
        if (!(node instanceof ObjectNode o)) {
            return raw;
        }
        if (kind == SseParser.Kind.ERROR || (o.path("error").isObject() && !o.has("choices"))) {
            throw InBandError.of(o);
        }
        boolean rewritten = false;
        if (id == null) {
            id = o.path("id").asText(null);
            created = o.get("created");
            model = o.get("model");
        } else if (continuation) {
            rewritten = sameAnswer(o);
        }
        JsonNode choices = o.get("choices");
        JsonNode c0 = choices != null && choices.isArray() && !choices.isEmpty() ? choices.get(0) : null;
        if (c0 != null) {
            JsonNode delta = c0.path("delta");
            String piece = chat ? delta.path("content").asText("") : c0.path("text").asText("");
            String thought = chat ? reasoningOf(delta) : "";
            JsonNode finish = c0.path("finish_reason");
            boolean finishes = !finish.isNull() && !finish.isMissingNode();   // vLLM 0.9.0 left a null one out
            if (chat && delta.has("role") && piece.isEmpty() && thought.isEmpty() && !finishes) {
                if (rolePassed) {
                    return null;           // the continuation's role event: the caller has had one
                }
                rolePassed = true;
            }
            if (continuation && !thought.isEmpty() && delta instanceof ObjectNode d) {
                rewritten |= renameReasoning(d, thought);
            }
            text.append(piece);
            reasoning.append(thought);
            if (!piece.isEmpty() || !thought.isEmpty()) {
                eventsSinceUsage++;
            }
            finished |= finishes;
        }
        JsonNode usage = o.get("usage");
        if (usage instanceof ObjectNode u && u.has("completion_tokens")) {
            if (c0 == null) {
                if (!callerUsage) {
                    return null;           // the final usage chunk only the router asked for
                }
                usageSent = true;
                rewritten |= wholeAnswerUsage(u);
            } else {
                usageTokens = tokensBefore + u.path("completion_tokens").asInt();
                eventsSinceUsage = 0;
                if (promptTokens < 0 && !continuation) {
                    promptTokens = u.path("prompt_tokens").asInt();
                }
                if (callerContinuous) {
                    rewritten |= wholeAnswerUsage(u);
                } else {
                    o.remove("usage");
                    rewritten = true;
                }
            }
        }
        if (!rewritten) {
            return raw;
        }
        try {
            return event("data: " + json.writeValueAsString(o));
        } catch (IOException e) {
            return raw;
        }
    }

    /** The reasoning a chat delta carries: {@code reasoning}, or {@code reasoning_content} from older vLLM. */
    private String reasoningOf(JsonNode delta) {
        JsonNode r = delta.get("reasoning");
        JsonNode rc = delta.get("reasoning_content");
        boolean hasR = r != null && r.isTextual();
        boolean hasRc = rc != null && rc.isTextual();
        if (!continuation && (hasR || hasRc)) {
            reasoningFields |= (hasR ? 1 : 0) | (hasRc ? 2 : 0);
        }
        return hasR ? r.asText() : hasRc ? rc.asText() : "";
    }

    /** A continuation's reasoning under the name(s) the caller has seen; whether the event changed. */
    private boolean renameReasoning(ObjectNode delta, String thought) {
        int fields = reasoningFields == 0 ? 1 : reasoningFields;
        int has = (delta.path("reasoning").isTextual() ? 1 : 0) | (delta.path("reasoning_content").isTextual() ? 2 : 0);
        if (has == fields) {
            return false;
        }
        delta.remove("reasoning");
        delta.remove("reasoning_content");
        if ((fields & 1) != 0) {
            delta.put("reasoning", thought);
        }
        if ((fields & 2) != 0) {
            delta.put("reasoning_content", thought);
        }
        return true;
    }

    private boolean sameAnswer(ObjectNode o) {
        if (id != null) {
            o.put("id", id);
        }
        if (created != null) {
            o.set("created", created);
        }
        if (model != null) {
            o.set("model", model);
        }
        return true;
    }

    /** A continuation's usage counted for the whole answer; whether it changed. */
    private boolean wholeAnswerUsage(ObjectNode u) {
        if (!continuation) {
            return false;
        }
        int completion = u.path("completion_tokens").asInt() + tokensBefore;
        int prompt = promptTokens >= 0 ? promptTokens : Math.max(0, u.path("prompt_tokens").asInt() - tokensBefore);
        u.put("prompt_tokens", prompt);
        u.put("total_tokens", prompt + completion);
        u.put("completion_tokens", completion);
        return true;
    }

    private static byte[] event(String event) {
        return (event + "\n\n").getBytes(StandardCharsets.UTF_8);
    }

    /**
     * The end of an answer that was complete when its backend went away without finishing the
     * stream: the final usage chunk when the caller asked for it and it is known, and {@code [DONE]},
     * each unless already passed on.
     */
    byte[] tail() {
        StringBuilder b = new StringBuilder();
        if (callerUsage && !usageSent && usageTokens >= 0 && promptTokens >= 0 && !doneSent) {
            ObjectNode o = json.createObjectNode();
            o.put("id", id);
            o.put("object", chat ? "chat.completion.chunk" : "text_completion");
            o.set("created", created);
            o.set("model", model);
            o.putArray("choices");
            int completion = produced();
            o.putObject("usage").put("prompt_tokens", promptTokens).put("total_tokens", promptTokens + completion)
                    .put("completion_tokens", completion);
            b.append("data: ").append(o).append("\n\n");
        }
        if (!doneSent) {
            doneSent = true;
            return (b + new String(DONE, StandardCharsets.US_ASCII)).getBytes(StandardCharsets.UTF_8);
        }
        return new byte[0];
    }

    /**
     * The caller's request, asking the next backend to go on from what was passed on so far, or null
     * when nothing is left to generate. A chat request gets the text as a final assistant message
     * (with the reasoning so far in {@code reasoning}, which vLLM's chat templates render, and in
     * {@code reasoning_content} for templates that read that name) and vLLM's
     * {@code continue_final_message}; a text completion gets it appended to the prompt.
     * {@code max_tokens}, {@code max_completion_tokens} and {@code min_tokens} shrink by the tokens produced.
     */
    byte[] continuationBody(ObjectNode request) {
        ObjectNode next = request.deepCopy();
        String sofar = text.toString();
        String thought = reasoning.toString();
        if (chat && (!sofar.isEmpty() || !thought.isEmpty())) {
            ArrayNode messages = (ArrayNode) next.get("messages");
            ObjectNode m = messages.addObject();
            m.put("role", "assistant");
            m.put("content", sofar);
            if (!thought.isEmpty()) {
                m.put("reasoning", thought);
                m.put("reasoning_content", thought);
            }
            next.put("continue_final_message", true);
            next.put("add_generation_prompt", false);
        } else if (!chat && !sofar.isEmpty()) {
            JsonNode p = next.get("prompt");
            String prompt = p.isArray() ? p.get(0).asText() : p.asText();
            next.put("prompt", prompt + sofar);
        }
        int produced = produced();
        for (String key : new String[] {"max_tokens", "max_completion_tokens"}) {
            JsonNode max = next.get(key);
            if (max != null && max.canConvertToInt()) {
                int left = max.asInt() - produced;
                if (left < 1) {
                    return null;           // the answer had all its tokens: nothing to continue
                }
                next.put(key, left);
            }
        }
        JsonNode min = next.get("min_tokens");
        if (min != null && min.canConvertToInt()) {
            next.put("min_tokens", Math.max(0, min.asInt() - produced));
        }
        continuation = true;
        tokensBefore = produced;
        usageTokens = produced;
        eventsSinceUsage = 0;
        try {
            return json.writeValueAsBytes(next);
        } catch (IOException e) {
            return null;
        }
    }
}
