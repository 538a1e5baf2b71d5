package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * What a chat or text completion request asks of its answer, read and checked the way vLLM's
 * protocol classes read them (an {@link IllegalArgumentException} carries vLLM's kind of message,
 * for a 400).
 *
 * <ul>
 *   <li>Length: {@code max_completion_tokens}, else {@code max_tokens}: the answer runs to it
 *       ({@code finish_reason} {@code length}); without either it is the simulator's default length
 *       ({@code stop}), lengthened to {@code min_tokens}; both capped by the model's context.
 *       {@code min_tokens} above {@code max_tokens} is refused, as vLLM's {@code SamplingParams} does.
 *   <li>Usage: {@code stream_options} present means {@code include_usage} unless it says false
 *       (vLLM's {@code StreamOptions} defaults it to true); {@code continuous_usage_stats} adds usage
 *       to every chunk, and only with {@code include_usage}; {@code stream_options} without
 *       {@code stream} is refused.
 *   <li>Continuation: {@code continue_final_message} goes on from the final assistant message, its
 *       {@code content} and its {@code reasoning} (or {@code reasoning_content}); with
 *       {@code add_generation_prompt} also true it is refused, as vLLM does.
 * </ul>
 *
 * @param continuedContent   the final assistant message's content when continuing, else null
 * @param continuedReasoning its reasoning when continuing ("" when none), else null
 */
record AnswerShape(int output, String reason, boolean stream, boolean includeUsage, boolean continuousUsage,
                   String continuedContent, String continuedReasoning) {

    static AnswerShape of(JsonNode body, boolean chat, int promptTokens, SimConfig config) {
        int room = config.maxModelLen() - promptTokens;
        JsonNode maxNode = body.hasNonNull("max_completion_tokens") ? body.get("max_completion_tokens") : body.get("max_tokens");
        JsonNode minNode = body.get("min_tokens");
        int min = 0;
        if (minNode != null && !minNode.isNull()) {
            if (!minNode.canConvertToInt() || !minNode.isIntegralNumber() || minNode.asInt() < 0) {
                throw new IllegalArgumentException("min_tokens must be greater than or equal to 0, got " + minNode + ".");
            }
            min = minNode.asInt();
        }
        int output;
        String reason;
        if (maxNode == null || maxNode.isNull()) {
            int wanted = Math.max(config.defaultOutputTokens(), min);
            output = Math.min(wanted, room);
            reason = output < wanted ? "length" : "stop";
        } else {
            if (!maxNode.canConvertToInt() || !maxNode.isIntegralNumber() || maxNode.asInt() < 1) {
                throw new IllegalArgumentException("max_tokens: " + maxNode + " (expected: integer >= 1)");
            }
            if (min > maxNode.asInt()) {
                throw new IllegalArgumentException("min_tokens must be less than or equal to max_tokens="
                        + maxNode.asInt() + ", got " + min + ".");
            }
            output = Math.min(maxNode.asInt(), room);
            reason = "length";
        }
        boolean stream = body.path("stream").asBoolean(false);
        JsonNode options = body.get("stream_options");
        boolean hasOptions = options != null && options.isObject();
        if (hasOptions && !stream) {
            throw new IllegalArgumentException("Stream options can only be defined when `stream=True`.");
        }
        boolean usage = hasOptions && (!options.has("include_usage") || options.get("include_usage").asBoolean(false));
        boolean continuous = usage && options.path("continuous_usage_stats").asBoolean(false);
        String content = null;
        String reasoning = null;
        if (chat && body.path("continue_final_message").asBoolean(false)) {
            if (body.path("add_generation_prompt").asBoolean(false)) {
                throw new IllegalArgumentException(
                        "Cannot set both `continue_final_message` and `add_generation_prompt` to True.");
            }
            JsonNode messages = body.get("messages");
            JsonNode last = messages.get(messages.size() - 1);
            if (!"assistant".equals(last.path("role").asText()) || messages.size() < 2) {
                throw new IllegalArgumentException("continue_final_message: true (expected: the last message to be the assistant's)");
            }
            content = last.path("content").asText("");
            reasoning = last.hasNonNull("reasoning") ? last.get("reasoning").asText("")
                    : last.path("reasoning_content").asText("");
        }
        return new AnswerShape(output, reason, stream, usage, continuous, content, reasoning);
    }

    /** Whether the request goes on from a final assistant message. */
    boolean continued() {
        return continuedContent != null;
    }

    /** Leading output tokens that are reasoning: none when continuing, whose thinking the template closed. */
    int reasoningTokens(Reasoning reasoning) {
        return continued() ? 0 : reasoning.tokens();
    }
}
