package io.vllmrouter.examples.sim;

import java.util.Locale;

/**
 * The latency histograms a vLLM 0.11 server publishes at {@code /metrics}, fed by a
 * {@link BatchEngine} in simulated time: the same names, buckets and meaning as
 * {@code PrometheusStatLogger} in vLLM's {@code vllm/v1/metrics/loggers.py}.
 *
 * <ul>
 *   <li>{@code vllm:time_to_first_token_seconds}: arrival to first token (queueing included);</li>
 *   <li>{@code vllm:inter_token_latency_seconds}: the gap before each output token after the first;</li>
 *   <li>per finished request: {@code vllm:e2e_request_latency_seconds} (arrival to last token),
 *       {@code vllm:request_queue_time_seconds} (arrival to admission), {@code vllm:request_prefill_time_seconds}
 *       (admission to first token), {@code vllm:request_decode_time_seconds} (first to last token),
 *       {@code vllm:request_time_per_output_token_seconds} (decode time over output tokens - 1),
 *       {@code vllm:request_prompt_tokens} and {@code vllm:request_generation_tokens}.</li>
 * </ul>
 *
 * <p>Threads: the engine thread observes, a request thread renders; every method holds this object's
 * monitor for a moment.
 */
public final class LatencyHistograms {

    private static final double[] TTFT = {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5,
        5.0, 7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0};
    private static final double[] TOKEN_GAP = {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5,
        5.0, 7.5, 10.0, 20.0, 40.0, 80.0};
    private static final double[] REQUEST = {0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0,
        50.0, 60.0, 120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0};

    /** One histogram: cumulative counts per bucket, count and sum. */
    private static final class Histogram {
        final String name;
        final String help;
        final double[] bounds;
        final long[] counts;
        long count;
        double sum;

        Histogram(String name, String help, double[] bounds) {
            this.name = name;
            this.help = help;
            this.bounds = bounds;
            this.counts = new long[bounds.length];
        }

        void observe(double v) {
            for (int i = 0; i < bounds.length; i++) {
                if (v <= bounds[i]) {
                    counts[i]++;
                }
            }
            count++;
            sum += v;
        }

        void appendTo(StringBuilder b, String engine, String model) {
            b.append("# HELP ").append(name).append(' ').append(help).append('\n')
                    .append("# TYPE ").append(name).append(" histogram\n");
            for (int i = 0; i < bounds.length; i++) {
                sample(b, name + "_bucket", "{engine=" + engine + ",le=\"" + number(bounds[i]) + "\",model_name=" + model + "}",
                        counts[i]);
            }
            sample(b, name + "_bucket", "{engine=" + engine + ",le=\"+Inf\",model_name=" + model + "}", count);
            b.append(name).append("_count{engine=").append(engine).append(",model_name=").append(model).append("} ")
                    .append((double) count).append('\n');
            b.append(name).append("_sum{engine=").append(engine).append(",model_name=").append(model).append("} ")
                    .append(sum).append('\n');
        }

        private static void sample(StringBuilder b, String name, String labels, long v) {
            b.append(name).append(labels).append(' ').append((double) v).append('\n');
        }
    }

    private final Histogram ttft = new Histogram("vllm:time_to_first_token_seconds",
            "Histogram of time to first token in seconds.", TTFT);
    private final Histogram tokenGap = new Histogram("vllm:inter_token_latency_seconds",
            "Histogram of inter-token latency in seconds.", TOKEN_GAP);
    private final Histogram requestTpot = new Histogram("vllm:request_time_per_output_token_seconds",
            "Histogram of time_per_output_token_seconds per request.", TOKEN_GAP);
    private final Histogram e2e = new Histogram("vllm:e2e_request_latency_seconds",
            "Histogram of e2e request latency in seconds.", REQUEST);
    private final Histogram queue = new Histogram("vllm:request_queue_time_seconds",
            "Histogram of time spent in WAITING phase for request.", REQUEST);
    private final Histogram prefill = new Histogram("vllm:request_prefill_time_seconds",
            "Histogram of time spent in PREFILL phase for request.", REQUEST);
    private final Histogram decode = new Histogram("vllm:request_decode_time_seconds",
            "Histogram of time spent in DECODE phase for request.", REQUEST);
    private final Histogram promptTokens;
    private final Histogram generationTokens;

    /** @param maxModelLen the context length, which bounds the token histograms' buckets (1, 2, 5, 10, ...) */
    public LatencyHistograms(int maxModelLen) {
        double[] tokens = tokenBuckets(maxModelLen);
        this.promptTokens = new Histogram("vllm:request_prompt_tokens", "Number of prefill tokens processed.", tokens);
        this.generationTokens = new Histogram("vllm:request_generation_tokens", "Number of generation tokens processed.", tokens);
    }

    /** vLLM's {@code build_1_2_5_buckets(max_model_len)}. */
    static double[] tokenBuckets(int max) {
        java.util.List<Double> out = new java.util.ArrayList<>();
        for (long p = 1; ; p *= 10) {
            for (int m : new int[] {1, 2, 5}) {
                if (m * p > max) {
                    return out.stream().mapToDouble(Double::doubleValue).toArray();
                }
                out.add((double) (m * p));
            }
        }
    }

    /** A sequence's first token at {@code firstMs}; times in simulated milliseconds. */
    synchronized void firstToken(double arrivalMs, double firstMs) {
        ttft.observe((firstMs - arrivalMs) / 1000);
    }

    /** An output token after the first, {@code gapMs} after the one before. */
    synchronized void tokenGap(double gapMs) {
        tokenGap.observe(gapMs / 1000);
    }

    /** A sequence finished; times in simulated milliseconds. */
    synchronized void finished(double arrivalMs, double admittedMs, double firstMs, double lastMs, int prompt, int output) {
        e2e.observe((lastMs - arrivalMs) / 1000);
        queue.observe(Math.max(0, admittedMs - arrivalMs) / 1000);
        prefill.observe((firstMs - admittedMs) / 1000);
        decode.observe((lastMs - firstMs) / 1000);
        if (output > 1) {
            requestTpot.observe((lastMs - firstMs) / 1000 / (output - 1));
        }
        promptTokens.observe(prompt);
        generationTokens.observe(output);
    }

    /** Appends every family, one series per engine label {@code engine} (quoted), model {@code model} (quoted). */
    public synchronized void appendTo(StringBuilder b, String engine, String model) {
        for (Histogram h : new Histogram[] {promptTokens, generationTokens, ttft, tokenGap, requestTpot, e2e, queue,
            prefill, decode}) {
            h.appendTo(b, engine, model);
        }
    }

    private static String number(double d) {
        return d == Math.rint(d) && Math.abs(d) < 1e15 ? String.format(Locale.ROOT, "%.1f", d) : Double.toString(d);
    }
}
