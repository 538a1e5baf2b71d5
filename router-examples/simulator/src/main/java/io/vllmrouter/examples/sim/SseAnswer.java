package io.vllmrouter.examples.sim;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * One streamed answer written the way vLLM's serving layer writes it ({@code
 * chat_completion_stream_generator}, {@code completion_stream_generator}): the caller has had the
 * headers already, before any token; a chat answer opens with the role event, sent with the first
 * output; one event per token after it, reasoning tokens in {@code delta.<field>} and the rest in
 * {@code delta.content} (or {@code text}), the last with {@code finish_reason} and
 * {@code stop_reason}; the running {@code usage} on every event when
 * {@code continuous_usage_stats} asked for it, a final {@code "choices": []} event with the usage
 * when {@code include_usage} did; then {@code data: [DONE]}.
 *
 * <p>Faults (read once, when the answer starts): {@link Faults#resetAfterEvents} cuts the connection
 * after that many events; {@link Faults#errorAfterEvents} ends the answer as vLLM does when the
 * engine fails mid-stream, with {@code data: {"error": {...}}} and {@code data: [DONE]};
 * {@link Faults#resetAfterDone} cuts the connection after {@code [DONE]}.
 *
 * <p>Runs on the request's handler thread; the sequence's progress comes from the engine.
 */
final class SseAnswer {

    private static final byte[] DONE = "data: [DONE]\n\n".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ENGINE_ERROR = ("data: " + "{\"error\": {\"message\": \"Simulated fault: the engine failed"
            + " while generating\", \"type\": \"InternalServerError\", \"param\": null, \"code\": 500}}\n\n")
            .getBytes(StandardCharsets.US_ASCII);

    /** Waits until the sequence has produced more than {@code written} tokens or ended. */
    interface Progressing {
        EngineRunner.Progress next(Sequence seq, int written);
    }

    /** An answer's identity: {@code chat} or text completion, its {@code id}, {@code created} and quoted model. */
    record Ids(boolean chat, String id, long created, String quotedModel) {
    }

    private final OutputStream out;
    private final Sequence seq;
    private final Ids ids;
    private final AnswerShape shape;
    private final int reasoningTokens;
    private final String reasoningField;
    private final Faults faults;
    private final StringBuilder b = new StringBuilder(256);
    private int events;

    SseAnswer(OutputStream out, Sequence seq, Ids ids, AnswerShape shape, Reasoning reasoning, Faults faults) {
        this.out = out;
        this.seq = seq;
        this.ids = ids;
        this.shape = shape;
        this.reasoningTokens = shape.reasoningTokens(reasoning);
        this.reasoningField = reasoning.field();
        this.faults = faults;
    }

    /**
     * Writes the answer as its tokens come; returns normally at its end (or at an injected in-band
     * error), throws {@link SimHttp.ResetStream} for an injected cut.
     *
     * @throws IOException the client went away
     */
    void write(TokenText text, Progressing progressing) throws IOException {
        int written = 0;
        EngineRunner.Progress progress;
        while (true) {
            progress = progressing.next(seq, written);
            int produced = progress.produced();
            if (produced > written) {
                if (written == 0 && ids.chat() && !event(role())) {
                    return;
                }
                while (written < produced) {
                    if (!event(token(written, text.next()))) {
                        return;
                    }
                    written++;
                }
                out.flush();
            }
            if (progress.ended()) {
                break;
            }
        }
        if (!progress.finished()) {
            seq.requestAbort();
            return;
        }
        if (shape.includeUsage()) {
            start().append("[]");
            usage(seq.produced()).append("}\n\n");
            if (!event(b)) {
                return;
            }
        }
        out.write(DONE);
        out.flush();
        if (faults.resetAfterDone()) {
            throw new SimHttp.ResetStream();
        }
    }

    private StringBuilder start() {
        b.setLength(0);
        return b.append("data: {\"id\":\"").append(ids.id()).append("\",\"object\":\"")
                .append(ids.chat() ? "chat.completion.chunk" : "text_completion").append("\",\"created\":")
                .append(ids.created()).append(",\"model\":").append(ids.quotedModel()).append(",\"choices\":");
    }

    private StringBuilder usage(int completion) {
        return b.append(",\"usage\":{\"prompt_tokens\":").append(seq.promptTokens())
                .append(",\"total_tokens\":").append(seq.promptTokens() + completion)
                .append(",\"completion_tokens\":").append(completion).append('}');
    }

    private StringBuilder role() {
        start().append("[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,\"finish_reason\":null}]");
        if (shape.continuousUsage()) {
            usage(0);
        }
        return b.append("}\n\n");
    }

    private StringBuilder token(int index, String word) {
        boolean last = index == seq.outputTokens() - 1;
        start().append("[{\"index\":0,");
        if (ids.chat()) {
            b.append("\"delta\":{\"").append(index < reasoningTokens ? reasoningField : "content").append("\":");
            Json.appendQuoted(b, word);
            b.append('}');
        } else {
            b.append("\"text\":");
            Json.appendQuoted(b, word);
        }
        b.append(",\"logprobs\":null,\"finish_reason\":");
        if (last) {
            b.append('"').append(seq.finishReason()).append("\",\"stop_reason\":null");
        } else {
            b.append("null");
            if (!ids.chat()) {
                b.append(",\"stop_reason\":null");
            }
        }
        b.append("}]");
        if (shape.continuousUsage()) {
            usage(index + 1);
        }
        return b.append("}\n\n");
    }

    /** Writes one event and applies the per-event faults; false when the answer ended with the error event. */
    private boolean event(StringBuilder e) throws IOException {
        out.write(e.toString().getBytes(StandardCharsets.UTF_8));
        events++;
        if (faults.errorAfterEvents() > 0 && events >= faults.errorAfterEvents()) {
            out.write(ENGINE_ERROR);
            out.write(DONE);
            out.flush();
            seq.requestAbort();
            return false;
        }
        if (faults.resetAfterEvents() > 0 && events >= faults.resetAfterEvents()) {
            out.flush();
            seq.requestAbort();
            throw new SimHttp.ResetStream();
        }
        return true;
    }
}
