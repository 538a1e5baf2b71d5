package io.vllmrouter.examples.sim;

import java.util.Objects;

/**
 * How a simulated model thinks, as vLLM serves a reasoning model (started with
 * {@code --reasoning-parser}): the first {@code tokens} output tokens of each answer are its
 * reasoning, streamed in {@code delta.<field>} and returned in {@code message.<field>}, the rest its
 * content. vLLM names the field {@code reasoning} since v0.11.1 and {@code reasoning_content} before.
 *
 * <pre>{@code
 * SimConfig.builder().reasoning(Reasoning.tokens(16))                       // a current vLLM
 * SimConfig.builder().reasoning(Reasoning.tokens(16).field("reasoning_content"))  // an older one
 * }</pre>
 *
 * <p>A continued answer ({@code continue_final_message}) does not think again: vLLM's chat templates
 * render a final assistant message's reasoning as finished, so the model goes on with its content.
 *
 * @param tokens leading output tokens that are reasoning; 0 for a model that does not reason
 * @param field  {@code reasoning} or {@code reasoning_content}
 */
public record Reasoning(int tokens, String field) {

    /** A model that does not reason; answers carry {@code "reasoning": null}. */
    public static final Reasoning NONE = new Reasoning(0, "reasoning");

    public Reasoning {
        Objects.requireNonNull(field, "field");
        if (tokens < 0) {
            throw new IllegalArgumentException("reasoning_tokens: " + tokens + " (expected: >= 0)");
        }
        if (!field.equals("reasoning") && !field.equals("reasoning_content")) {
            throw new IllegalArgumentException("reasoning_field: " + field + " (expected: reasoning or reasoning_content)");
        }
    }

    /** A model thinking for {@code n} tokens, its reasoning in {@code reasoning}. */
    public static Reasoning tokens(int n) {
        return new Reasoning(n, "reasoning");
    }

    /** The same thinking under another field name. */
    public Reasoning field(String name) {
        return new Reasoning(tokens, name);
    }
}
