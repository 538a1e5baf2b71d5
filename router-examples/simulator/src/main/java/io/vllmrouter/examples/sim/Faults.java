package io.vllmrouter.examples.sim;

/**
 * Faults a {@link SimulatedVllm} injects, set at start ({@link SimConfig.Builder#faults}) and at
 * run time ({@link SimulatedVllm#faults(Faults)} or {@code POST /sim/faults} with
 * {@code {"error_rate": 0.5, "hang": false, "reset_after_events": 3}}).
 *
 * @param errorRate         share 0..1 of inference requests (chat, completions, embeddings) answered
 *                          with 500 or 503 and a JSON error, before any work
 * @param hang              every endpoint but {@code /sim/*} accepts the request and never answers
 *                          (until the simulator closes)
 * @param resetAfterEvents  when {@code > 0}, streams are cut (connection closed without the end of
 *                          the chunked body) after that many SSE events; 0 turns it off
 */
public record Faults(double errorRate, boolean hang, int resetAfterEvents) {

    /** No faults. */
    public static final Faults NONE = new Faults(0, false, 0);

    public Faults {
        if (!(errorRate >= 0 && errorRate <= 1)) {
            throw new IllegalArgumentException("error_rate: " + errorRate + " (expected: 0..1)");
        }
        if (resetAfterEvents < 0) {
            throw new IllegalArgumentException("reset_after_events: " + resetAfterEvents + " (expected: >= 0)");
        }
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

    String toJson() {
        return "{\"error_rate\":" + errorRate + ",\"hang\":" + hang + ",\"reset_after_events\":" + resetAfterEvents + "}";
    }
}
