package io.vllmrouter.api.spi;

/**
 * How fast one backend has been lately, as the router estimates it: {@link BackendView#speed()}.
 * All times are in seconds.
 *
 * <p>The router's fleet owner keeps the estimate. It learns from vLLM's histograms in {@code /metrics}
 * (the rate of each one's {@code _sum} over the rate of its {@code _count} between two scrapes) and
 * from the streams it relays itself (time to the first event, time between the first and the last),
 * weighs older figures less and less (a half-life, {@code speed_half_life}), and starts a backend it
 * knows nothing of from the rest of the fleet (or {@link #DEFAULT}), so a figure is always there.
 * {@link #confidence()} says how much of it is measured.
 *
 * @param timePerOutputToken seconds between two output tokens of one answer while it decodes; {@code > 0}
 * @param timeToFirstToken   seconds from sending a request that finds a free batch slot to its first
 *                           token: prefill and overheads, without queueing; {@code > 0}
 * @param prefillPerToken    seconds of prefill per prompt token (vLLM's prefill time over its prompt
 *                           tokens); NaN when the backend does not publish them
 * @param outputTokens       typical answer length, in tokens, of the requests the backend served lately; {@code > 0}
 * @param confidence         0..1, the share of {@link #timePerOutputToken()} that comes from
 *                           measurements of this backend rather than from the seed; 0 when none
 */
public record BackendSpeed(double timePerOutputToken, double timeToFirstToken, double prefillPerToken,
                           double outputTokens, double confidence) {

    /**
     * What the router assumes of a backend when nothing is known of it or of any other: 20 ms per
     * token, 200 ms to the first token, 256-token answers. Equal for every backend, so that a
     * strategy ranking by expected time ranks as by load until figures come in.
     */
    public static final BackendSpeed DEFAULT = new BackendSpeed(0.020, 0.200, Double.NaN, 256, 0);

    public BackendSpeed {
        if (!(timePerOutputToken > 0) || !(timeToFirstToken > 0) || !(outputTokens > 0)
                || !(prefillPerToken >= 0 || Double.isNaN(prefillPerToken)) || !(confidence >= 0 && confidence <= 1)) {
            throw new IllegalArgumentException("speed: tpot=" + timePerOutputToken + " ttft=" + timeToFirstToken
                    + " prefill_per_token=" + prefillPerToken + " output_tokens=" + outputTokens + " confidence="
                    + confidence + " (expected: times and tokens > 0, prefill_per_token >= 0 or NaN, confidence 0..1)");
        }
    }

    /**
     * Seconds a typical request of this backend keeps a batch slot: {@code timeToFirstToken +
     * outputTokens * timePerOutputToken}.
     */
    public double typicalServiceSeconds() {
        return timeToFirstToken + outputTokens * timePerOutputToken;
    }
}
