package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code POST /v1/chat/completions} and {@code POST /v1/completions} as vLLM answers them: the
 * request checked (model, prompt, context length, {@link AnswerShape}), a sequence submitted to the
 * engine, then the answer written whole once the sequence finished, or streamed token by token as
 * the engine produces them ({@link SseAnswer}). The words are seeded by the configuration's seed, the
 * prompt and the request's {@code seed}; a continued answer ({@code continue_final_message}) goes on
 * with the words the uninterrupted one would have had. A whole answer carries {@code x-sim-ttft-ms},
 * the simulated time to first token (queueing plus prefill).
 *
 * <p>Runs on the request's handler thread, which waits for the engine. A client that goes away
 * mid-stream is noticed at the next write and its sequence aborted, freeing its batch slot; a
 * non-streaming client's disconnect is not noticed.
 */
final class CompletionEndpoint {

    private final SimConfig config;
    private final EngineRunner runner;
    private final FaultInjector faults;
    private final AtomicLong requestIds;

    /** @param requestIds the server's counter for answer ids, shared with its other endpoints */
    CompletionEndpoint(SimConfig config, EngineRunner runner, FaultInjector faults, AtomicLong requestIds) {
        this.config = config;
        this.runner = runner;
        this.faults = faults;
        this.requestIds = requestIds;
    }

    /** Answers one request; {@code chat} for {@code /v1/chat/completions}. */
    void handle(HttpExchange ex, boolean chat) throws IOException {
        JsonNode body = SimHttp.readJson(ex);
        String model = SimRequests.servedModel(config, body);
        if (faults.injectError(ex)) {
            return;
        }
        String prompt = chat ? SimRequests.chatPrompt(body) : SimRequests.completionPrompt(body);
        int[] ids = SimRequests.promptIds(body, chat);
        int promptTokens = Math.max(1, ids.length);
        if (promptTokens >= config.maxModelLen()) {
            throw SimHttp.BadRequest.of("This model's maximum context length is " + config.maxModelLen()
                    + " tokens. However, your request has " + promptTokens + " input tokens. Please reduce the length of the input messages.");
        }
        AnswerShape shape;
        try {
            shape = AnswerShape.of(body, chat, promptTokens, config);
        } catch (IllegalArgumentException e) {
            throw SimHttp.BadRequest.of(e.getMessage());
        }
        long requestSeed = body.path("seed").asLong(0);
        TokenText text;
        if (shape.continued()) {
            // vLLM's continue_final_message: go on from the assistant text; the words are those the
            // uninterrupted answer to the same conversation would have had after it.
            JsonNode messages = body.get("messages");
            text = new TokenText(config.seed(), SimRequests.chatPrompt(messages, messages.size() - 1), requestSeed);
            text.skip(shape.continuedReasoning() + shape.continuedContent());
        } else {
            text = new TokenText(config.seed(), prompt, requestSeed);
        }
        Faults now = faults.faults();
        if (now.stall()) {
            faults.stall(ex, shape.stream(), ex.getRequestURI().getPath());
            return;
        }

        if (runner.stopped()) {
            throw new SimHttp.BadRequest(503, Json.error("Simulator is shutting down", "ServiceUnavailableError", null, 503));
        }
        Sequence seq = runner.submit(promptTokens, ids, text, shape.output(), shape.reason());
        // vLLM's request id, and the answer's id, is based on the caller's X-Request-Id when it sent one
        String xRequestId = ex.getRequestHeaders().getFirst("X-Request-Id");
        String id = (chat ? "chatcmpl-" : "cmpl-") + (xRequestId != null ? xRequestId
                : String.format("%016x%016x", config.seed(), requestIds.incrementAndGet()));
        long created = System.currentTimeMillis() / 1000;
        String quotedModel = Json.quote(model);
        if (shape.stream()) {
            stream(ex, seq, new SseAnswer.Ids(chat, id, created, quotedModel), shape, text, now);
        } else {
            whole(ex, seq, chat, id, created, quotedModel, text, shape.reasoningTokens(config.reasoning()));
        }
    }

    private void whole(HttpExchange ex, Sequence seq, boolean chat, String id, long created, String quotedModel,
                       TokenText text, int reasoningTokens) throws IOException {
        while (!seq.done() && !runner.stopped()) {
            runner.awaitChange(seq, seq.produced());
        }
        if (seq.state() != Sequence.FINISHED) {
            seq.requestAbort();
            return;
        }
        StringBuilder reasoning = new StringBuilder();
        StringBuilder content = new StringBuilder(seq.outputTokens() * 8);
        for (int i = 0; i < seq.outputTokens(); i++) {
            (i < reasoningTokens ? reasoning : content).append(text.next());
        }
        StringBuilder b = new StringBuilder(content.length() + 512);
        b.append("{\"id\":\"").append(id).append("\",\"object\":\"").append(chat ? "chat.completion" : "text_completion")
                .append("\",\"created\":").append(created).append(",\"model\":").append(quotedModel).append(",\"choices\":[{\"index\":0,");
        if (chat) {
            b.append("\"message\":{\"role\":\"assistant\",\"content\":");
            Json.appendQuoted(b, content.toString());
            b.append(",\"").append(config.reasoning().field()).append("\":");
            if (reasoningTokens > 0) {
                Json.appendQuoted(b, reasoning.toString());
            } else {
                b.append("null");
            }
            b.append(",\"tool_calls\":[]},\"logprobs\":null,");
        } else {
            b.append("\"text\":");
            Json.appendQuoted(b, content.toString());
            b.append(",\"logprobs\":null,");
        }
        b.append("\"finish_reason\":\"").append(seq.finishReason()).append("\",\"stop_reason\":null}],");
        appendUsage(b, seq);
        b.append(",\"prompt_logprobs\":null}");
        ex.getResponseHeaders().set("x-sim-ttft-ms", String.format(Locale.ROOT, "%.3f", seq.firstTokenMs() - seq.arrivalMs()));
        SimHttp.sendJson(ex, 200, b.toString());
    }

    private static void appendUsage(StringBuilder b, Sequence seq) {
        b.append("\"usage\":{\"prompt_tokens\":").append(seq.promptTokens())
                .append(",\"total_tokens\":").append(seq.promptTokens() + seq.produced())
                .append(",\"completion_tokens\":").append(seq.produced())
                .append(",\"prompt_tokens_details\":null}");
    }

    private void stream(HttpExchange ex, Sequence seq, SseAnswer.Ids ids, AnswerShape shape, TokenText text,
                        Faults now) throws IOException {
        SimHttp.sseHeaders(ex);
        try {
            new SseAnswer(ex.getResponseBody(), seq, ids, shape, config.reasoning(), now).write(text, (s, written) -> {
                runner.awaitChange(s, written);
                return runner.progress(s);
            });
        } catch (IOException e) {
            // The client went away: free the batch slot.
            seq.requestAbort();
        }
    }
}
