package io.vllmrouter.core.metrics;

/**
 * The cumulative {@code _sum} and {@code _count} of the latency histograms one {@code /metrics}
 * page carries, summed over engines: the raw material of the router's speed estimate, which takes
 * the rate of each sum over the rate of its count between two scrapes. A family the page does not
 * carry is NaN. Counters only grow; one that went back means the server restarted.
 *
 * @param tokenGapSeconds  sum of the gaps between two output tokens of one request: vLLM's
 *                         {@code vllm:inter_token_latency_seconds} (0.11 and later), else its older name
 *                         {@code vllm:time_per_output_token_seconds}, else SGLang's
 *                         {@code sglang:inter_token_latency_seconds}
 * @param tokenGaps        their count (one per engine step of each decoding request)
 * @param prefillSeconds   {@code vllm:request_prefill_time_seconds_sum}: time from a request's scheduling
 *                         to its first token (no queueing), over finished requests
 * @param prefills         its count
 * @param promptTokens     {@code vllm:request_prompt_tokens_sum}, over the same finished requests
 * @param outputTokens     {@code vllm:request_generation_tokens_sum}, over finished requests
 * @param finished         {@code vllm:request_generation_tokens_count}
 */
public record LatencyCounters(double tokenGapSeconds, double tokenGaps, double prefillSeconds, double prefills,
                              double promptTokens, double outputTokens, double finished) {

    /** A page without any of them. */
    public static final LatencyCounters NONE = new LatencyCounters(Double.NaN, Double.NaN, Double.NaN, Double.NaN,
            Double.NaN, Double.NaN, Double.NaN);
}
