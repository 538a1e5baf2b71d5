package io.vllmrouter.core.metrics;

import java.util.Arrays;

/**
 * The metric families {@link PrometheusParser} reads, and how one page's samples of them add up to
 * a {@link LoadMetrics}. The table in {@link PrometheusParser}'s javadoc is this class's contract:
 * which family gives which figure, the first family with a number winning, and how several series
 * (engines, ranks) combine.
 *
 * <pre>{@code
 * LoadFamilies page = new LoadFamilies();
 * int family = LoadFamilies.of(text, nameStart, nameEnd, nameHash);   // -1: a family not read here
 * if (family >= 0) {
 *     page.add(family, labelSetHash, value, text, lineStart, lineEnd, line);
 * }
 * LoadMetrics m = page.metrics();
 * }</pre>
 *
 * <p>Per family it keeps the sum (for {@code process_max_fds} the minimum, the binding limit) of
 * the values that are not NaN, how many there were, and the label sets seen, so that a series given
 * twice is refused rather than counted twice. The labels of {@code vllm:cache_config_info} and
 * {@code vllm:engine_sleep_state} go to {@link #engines()}.
 *
 * <p>One page, one thread; it allocates only on a family's first sample and when a family has
 * more series than its arrays hold.
 */
final class LoadFamilies {

    private static final int V_RUNNING = 0;
    private static final int V_WAITING = 1;
    private static final int V_KV_USAGE = 2;
    private static final int V_GPU_USAGE = 3;
    private static final int S_RUNNING = 4;
    private static final int S_QUEUE = 5;
    private static final int S_TOKEN_USAGE = 6;
    private static final int MAX_FDS = 7;
    static final int CACHE_CONFIG = 8;
    private static final int PREFIX_QUERIES = 9;
    static final int SLEEP_STATE = 10;
    // Latency histograms' sums and counts (LatencyCounters).
    private static final int ITL_SUM = 11;
    private static final int ITL_COUNT = 12;
    private static final int TPOT_SUM = 13;
    private static final int TPOT_COUNT = 14;
    private static final int S_ITL_SUM = 15;
    private static final int S_ITL_COUNT = 16;
    private static final int PREFILL_SUM = 17;
    private static final int PREFILL_COUNT = 18;
    private static final int PROMPT_SUM = 19;
    private static final int GENERATION_SUM = 20;
    private static final int GENERATION_COUNT = 21;

    private static final String[] NAMES = {
        "vllm:num_requests_running",
        "vllm:num_requests_waiting",
        "vllm:kv_cache_usage_perc",
        "vllm:gpu_cache_usage_perc",
        "sglang:num_running_reqs",
        "sglang:num_queue_reqs",
        "sglang:token_usage",
        "process_max_fds",
        "vllm:cache_config_info",
        "vllm:prefix_cache_queries_total",
        "vllm:engine_sleep_state",
        "vllm:inter_token_latency_seconds_sum",
        "vllm:inter_token_latency_seconds_count",
        "vllm:time_per_output_token_seconds_sum",
        "vllm:time_per_output_token_seconds_count",
        "sglang:inter_token_latency_seconds_sum",
        "sglang:inter_token_latency_seconds_count",
        "vllm:request_prefill_time_seconds_sum",
        "vllm:request_prefill_time_seconds_count",
        "vllm:request_prompt_tokens_sum",
        "vllm:request_generation_tokens_sum",
        "vllm:request_generation_tokens_count",
    };
    private static final int[] NAME_HASHES = new int[NAMES.length];

    static {
        for (int i = 0; i < NAMES.length; i++) {
            NAME_HASHES[i] = NAMES[i].hashCode();
        }
    }

    /** Per family: sum (or minimum for max fds) of the non-NaN values and their count. */
    private final double[] acc = new double[NAMES.length];
    private final int[] numbers = new int[NAMES.length];
    /** Per family, created on its first sample: label-set hashes and lines seen, to find repeats. */
    private final long[][] seenSets = new long[NAMES.length][];
    private final int[][] seenLines = new int[NAMES.length][];
    private final int[] seenCount = new int[NAMES.length];
    private final EngineInfo engines = new EngineInfo();

    /**
     * The family named by {@code text[start, end)}, whose {@link String#hashCode} is {@code hash}, or
     * -1 when it is not one read here. Names are matched whole.
     */
    static int of(CharSequence text, int start, int end, int hash) {
        int len = end - start;
        for (int i = 0; i < NAMES.length; i++) {
            if (NAME_HASHES[i] == hash && NAMES[i].length() == len && PrometheusText.regionEquals(text, start, NAMES[i])) {
                return i;
            }
        }
        return -1;
    }

    /**
     * One sample of {@code family}: its label set (an order-independent hash) and value, and where
     * it stands, for the message when the same series came before.
     *
     * @throws MetricsFormatException the same name and label set was already given on this page
     */
    void add(int family, long labelSetHash, double value, CharSequence text, int lineStart, int lineEnd, int line)
            throws MetricsFormatException {
        long[] sets = seenSets[family];
        int count = seenCount[family];
        if (sets == null) {
            sets = seenSets[family] = new long[4];
            seenLines[family] = new int[4];
        }
        for (int i = 0; i < count; i++) {
            if (sets[i] == labelSetHash) {
                throw new MetricsFormatException(line, "duplicate series "
                        + text.subSequence(lineStart, lineEnd).toString().trim()
                        + " (same name and labels as line " + seenLines[family][i] + ")");
            }
        }
        if (count == sets.length) {
            sets = seenSets[family] = Arrays.copyOf(sets, count * 2);
            seenLines[family] = Arrays.copyOf(seenLines[family], count * 2);
        }
        sets[count] = labelSetHash;
        seenLines[family][count] = line;
        seenCount[family] = count + 1;
        if (Double.isNaN(value)) {
            return;
        }
        if (numbers[family] == 0) {
            acc[family] = value;
        } else if (family == MAX_FDS) {
            acc[family] = Math.min(acc[family], value);
        } else {
            acc[family] += value;
        }
        numbers[family]++;
    }

    /** What the page says of the server's engines as a whole: cache geometry and sleep state. */
    EngineInfo engines() {
        return engines;
    }

    /** The figures of the samples added so far. */
    LoadMetrics metrics() {
        double running = first(sum(V_RUNNING), sum(S_RUNNING));
        double waiting = first(sum(V_WAITING), sum(S_QUEUE));
        double usage = first(mean(V_KV_USAGE), first(mean(V_GPU_USAGE), mean(S_TOKEN_USAGE)));
        double maxFds = numbers[MAX_FDS] == 0 ? Double.NaN : acc[MAX_FDS];
        return new LoadMetrics(running, waiting, usage, maxFds, engines.cacheBlocks(), engines.cacheBlockSize(),
                sum(PREFIX_QUERIES), engines.cacheTokens(), engines.sleepState(), latency());
    }

    /** The first token-gap family present (sum and count together), and the per-request histograms. */
    private LatencyCounters latency() {
        int gapSum = ITL_SUM;
        int gapCount = ITL_COUNT;
        if (Double.isNaN(sum(ITL_SUM)) || Double.isNaN(sum(ITL_COUNT))) {
            boolean older = !Double.isNaN(sum(TPOT_SUM)) && !Double.isNaN(sum(TPOT_COUNT));
            gapSum = older ? TPOT_SUM : S_ITL_SUM;
            gapCount = older ? TPOT_COUNT : S_ITL_COUNT;
        }
        return new LatencyCounters(sum(gapSum), sum(gapCount), sum(PREFILL_SUM), sum(PREFILL_COUNT), sum(PROMPT_SUM),
                sum(GENERATION_SUM), sum(GENERATION_COUNT));
    }

    private static double first(double a, double b) {
        return Double.isNaN(a) ? b : a;
    }

    private double sum(int family) {
        return numbers[family] == 0 ? Double.NaN : acc[family];
    }

    private double mean(int family) {
        return numbers[family] == 0 ? Double.NaN : acc[family] / numbers[family];
    }
}
