package io.vllmrouter.examples.sim;

/**
 * Faults a {@link SimulatedVllm} injects, set at start ({@link SimConfig.Builder#faults}) and at
 * run time ({@link SimulatedVllm#faults(Faults)} or {@code POST /sim/faults} with
 * {@code {"error_rate": 0.5, "hang": false, "reset_after_events": 3, "stall": false,
 * "error_after_events": 0, "reset_after_done": false}}).
 *
 * @param errorRate         share 0..1 of inference requests (chat, completions, embeddings) answered
 *                          with 500 or 503 and a JSON error, before any work
 * @param hang              every endpoint but {@code /sim/*} accepts the request and never answers
 *                          (until the simulator closes)
 * @param resetAfterEvents  when {@code > 0}, streams are cut (connection closed without the end of
 *                          the chunked body) after that many SSE events; 0 turns it off
 * @param stall             completions are accepted and never generate, as a stuck engine: a stream
 *                          gets its headers (vLLM sends them before any token) and then nothing, a
 *                          non-streaming request gets nothing (until the simulator closes)
 * @param errorAfterEvents  when {@code > 0}, streams fail after that many SSE events the way vLLM's
 *                          serving layer reports an engine failure: an in-band
 *                          {@code data: {"error": {...}}} event, then {@code data: [DONE]}, and a
 *                          normal end of the body; 0 turns it off
 * @param resetAfterDone    streams are cut right after their {@code data: [DONE]}: the answer is
 *                          complete, the connection is not
 */
public record Faults(double errorRate, boolean hang, int resetAfterEvents, boolean stall, int errorAfterEvents,
                     boolean resetAfterDone) {

    /** No faults. */
    public static final Faults NONE = new Faults(0, false, 0);

    public Faults {
        if (!(errorRate >= 0 && errorRate <= 1)) {
            throw new IllegalArgumentException("error_rate: " + errorRate + " (expected: 0..1)");
        }
        if (resetAfterEvents < 0) {
            throw new IllegalArgumentException("reset_after_events: " + resetAfterEvents + " (expected: >= 0)");
        }
        if (errorAfterEvents < 0) {
            throw new IllegalArgumentException("error_after_events: " + errorAfterEvents + " (expected: >= 0)");
        }
    }

    /** The first three faults; the stream faults off. */
    public Faults(double errorRate, boolean hang, int resetAfterEvents) {
        this(errorRate, hang, resetAfterEvents, false, 0, false);
    }

    public static Faults errorRate(double rate) {
        return new Faults(rate, false, 0);
    }

    public static Faults hanging() {
        return new Faults(0, true, 0);
    }

    public static Faults resetAfter(int events) {
        return new Faults(0, false, events);
    }

    /** Completions that never generate: a stream's headers, then nothing. */
    public static Faults stalling() {
        return new Faults(0, false, 0, true, 0, false);
    }

    /** Streams that end with vLLM's in-band error event after {@code events} events. */
    public static Faults errorAfter(int events) {
        return new Faults(0, false, 0, false, events, false);
    }

    /** Streams cut right after their {@code [DONE]}. */
    public static Faults cutAfterDone() {
        return new Faults(0, false, 0, false, 0, true);
    }

    String toJson() {
        return "{\"error_rate\":" + errorRate + ",\"hang\":" + hang + ",\"reset_after_events\":" + resetAfterEvents
                + ",\"stall\":" + stall + ",\"error_after_events\":" + errorAfterEvents
                + ",\"reset_after_done\":" + resetAfterDone + "}";
    }
}
