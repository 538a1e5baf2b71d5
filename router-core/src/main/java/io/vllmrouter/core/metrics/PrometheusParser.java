package io.vllmrouter.core.metrics;

import java.util.Objects;

/**
 * Reads the load figures of an inference server from its {@code /metrics} page (Prometheus text
 * exposition format 0.0.4).
 *
 * <pre>{@code
 * LoadMetrics m = PrometheusParser.parseLoad(body);
 * if (m.hasLoad()) { ... m.running() ... m.waiting() ... m.kvCacheUsage() ... }
 * }</pre>
 *
 * <p>Every line is checked against the format (metric and label names, quoted label values with
 * their escapes {@code \\ \" \n}, the value, the optional integer timestamp, {@code # HELP} and
 * {@code # TYPE} lines), but only the samples of the families below are turned into numbers; the
 * rest is scanned in place without building strings, so a page of a few hundred lines costs a few
 * microseconds. Metric names are matched whole: {@code vllm:num_requests_running_created} is not
 * {@code vllm:num_requests_running}.
 *
 * <table>
 *   <caption>Figures and where they come from, first family that has a number wins</caption>
 *   <tr><th>figure</th><th>families</th><th>over several series</th></tr>
 *   <tr><td>running</td><td>{@code vllm:num_requests_running}, {@code sglang:num_running_reqs}</td><td>sum</td></tr>
 *   <tr><td>waiting</td><td>{@code vllm:num_requests_waiting}, {@code sglang:num_queue_reqs}</td><td>sum</td></tr>
 *   <tr><td>kvCacheUsage</td><td>{@code vllm:kv_cache_usage_perc}, {@code vllm:gpu_cache_usage_perc} (V0 and
 *       deprecated alias in V1), {@code sglang:token_usage}</td><td>mean</td></tr>
 *   <tr><td>maxFds</td><td>{@code process_max_fds}</td><td>minimum (the binding limit)</td></tr>
 *   <tr><td>cacheBlocks, cacheBlockSize</td><td>labels {@code num_gpu_blocks} and {@code block_size} of
 *       {@code vllm:cache_config_info}</td><td>the first series that has them: vLLM writes the same,
 *       already summed, {@code num_gpu_blocks} under every {@code engine}</td></tr>
 *   <tr><td>cacheTokens</td><td>label {@code kv_cache_size_tokens} of {@code vllm:cache_config_info}
 *       (one engine's), else {@code num_gpu_blocks * block_size}</td><td>times the series (engines)</td></tr>
 *   <tr><td>prefixCacheQueries</td><td>{@code vllm:prefix_cache_queries_total}</td><td>sum</td></tr>
 *   <tr><td>sleepState</td><td>{@code vllm:engine_sleep_state} by its {@code sleep_state} label</td>
 *       <td>asleep when any engine's {@code awake} is 0</td></tr>
 *   <tr><td>latency ({@link LatencyCounters})</td><td>{@code _sum} and {@code _count} of
 *       {@code vllm:inter_token_latency_seconds} (else {@code vllm:time_per_output_token_seconds}, else
 *       {@code sglang:inter_token_latency_seconds}), {@code vllm:request_prefill_time_seconds},
 *       {@code vllm:request_prompt_tokens}, {@code vllm:request_generation_tokens}</td><td>sum</td></tr>
 * </table>
 *
 * <p>"Several series" means any label sets: vLLM's {@code engine} (data parallel), SGLang's
 * {@code tp_rank}/{@code dp_rank}, or anything else. A sample whose value is NaN carries no figure
 * and is left out of the sum or mean; a figure with no number at all is NaN. The same series (same
 * name and label set, in any label order) twice for one of the families above is rejected as
 * {@link MetricsFormatException}: the page is ambiguous, and a sum would double count. Timestamps
 * are checked and ignored. Lines may end in LF or CRLF; blank lines and any other comments are
 * skipped; the text of a {@code # HELP} line may contain anything.
 *
 * <p>Not checked (they need state per family for every family, which this reader avoids): one
 * {@code # HELP}/{@code # TYPE} per family, a family's lines being grouped, repeated label names in
 * one sample, and the {@code le}/{@code quantile} labels of histograms and summaries. Values are
 * decimal floats, {@code NaN} and {@code [+-]Inf}/{@code Infinity} in any case; hexadecimal floats
 * are refused.
 *
 * <p>Stateless and thread-safe.
 */
public final class PrometheusParser {

    private PrometheusParser() {
    }

    /**
     * Reads the load figures from Prometheus text format 0.0.4.
     *
     * @param text the whole page; a page without any of the figures gives all NaN, not an error
     * @throws MetricsFormatException when the text is not valid exposition format, or repeats a
     *                                series of a family read here; the message names the line and
     *                                column and what was wrong
     */
    public static LoadMetrics parseLoad(CharSequence text) throws MetricsFormatException {
        Objects.requireNonNull(text, "text");
        return new Scan(text).run();
    }

    /**
     * One pass over one page: the syntax of a sample line (name, label set, value, timestamp) here,
     * the lexical pieces in {@link PrometheusText}, and the families read with their arithmetic in
     * {@link LoadFamilies}.
     */
    private static final class Scan extends PrometheusText {

        private long labelSetHash;
        /** The family of the sample being read, and the labels read of a cache_config_info or sleep-state sample. */
        private int family = -1;
        private long labelGpuBlocks;
        private long labelBlockSize;
        private long labelKvTokens;
        private int labelSleep;
        private final LoadFamilies page = new LoadFamilies();

        Scan(CharSequence t) {
            super(t);
        }

        LoadMetrics run() throws MetricsFormatException {
            String s = t instanceof String str ? str : null;
            int pos = 0;
            while (pos < n) {
                line++;
                lineStart = pos;
                int nl = s != null ? s.indexOf('\n', pos) : indexOfNewline(pos);
                if (nl < 0) {
                    nl = n;
                }
                int end = nl > pos && t.charAt(nl - 1) == '\r' ? nl - 1 : nl;
                parseLine(pos, end);
                pos = nl + 1;
            }
            return page.metrics();
        }

        private int indexOfNewline(int from) {
            for (int i = from; i < n; i++) {
                if (t.charAt(i) == '\n') {
                    return i;
                }
            }
            return -1;
        }

        private void parseLine(int s, int e) throws MetricsFormatException {
            int p = skipBlanks(s, e);
            if (p == e) {
                return;
            }
            char c = t.charAt(p);
            if (c == '#') {
                comment(p + 1, e);
                return;
            }
            if (!isNameStart(c)) {
                throw error(p, "expected a metric name, found " + describe(c));
            }
            int nameStart = p;
            int hash = c;
            p++;
            while (p < e && isNameChar(c = t.charAt(p))) {
                hash = 31 * hash + c;
                p++;
            }
            int nameEnd = p;
            if (p < e && !isBlank(c) && c != '{') {
                throw error(p, "invalid character " + describe(c) + " in metric name "
                        + slice(nameStart, nameEnd));
            }
            int family = LoadFamilies.of(t, nameStart, nameEnd, hash);
            this.family = family;
            labelGpuBlocks = -1;
            labelBlockSize = -1;
            labelKvTokens = -1;
            labelSleep = 0;
            p = skipBlanks(p, e);
            labelSetHash = 0;
            if (p < e && t.charAt(p) == '{') {
                p = skipBlanks(labels(p + 1, e, nameStart, nameEnd), e);
            }
            int valueStart = p;
            while (p < e && !isBlank(t.charAt(p))) {
                p++;
            }
            if (valueStart == p) {
                throw error(p, "missing value for " + slice(nameStart, nameEnd));
            }
            double value = number(valueStart, p, family >= 0, nameStart, nameEnd);
            p = skipBlanks(p, e);
            if (p < e) {
                p = skipBlanks(timestamp(p, e), e);
                if (p < e) {
                    throw error(p, "unexpected text after the timestamp: " + describe(t.charAt(p)));
                }
            }
            if (family >= 0) {
                page.add(family, labelSetHash, value, t, s, e, line);
                if (family == LoadFamilies.CACHE_CONFIG) {
                    page.engines().cacheConfig(labelGpuBlocks, labelBlockSize, labelKvTokens);
                } else if (family == LoadFamilies.SLEEP_STATE) {
                    page.engines().sleepSample(labelSleep, value);
                }
            }
        }

        /**
         * Reads {@code name="value", ...}} from just after the opening brace; returns the index after
         * the closing brace and leaves an order-independent hash of the label set in
         * {@link #labelSetHash}.
         */
        private int labels(int p, int e, int metricStart, int metricEnd) throws MetricsFormatException {
            long setHash = 0;
            while (true) {
                p = skipBlanks(p, e);
                if (p >= e) {
                    throw error(p, "unterminated label set of " + slice(metricStart, metricEnd)
                            + ": expected a label name or '}'");
                }
                char c = t.charAt(p);
                if (c == '}') {
                    labelSetHash = setHash;
                    return p + 1;
                }
                if (!isLabelStart(c)) {
                    throw error(p, "expected a label name or '}' in the labels of "
                            + slice(metricStart, metricEnd) + ", found " + describe(c));
                }
                int nameStart = p;
                long nameHash = c;
                p++;
                while (p < e && isLabelChar(c = t.charAt(p))) {
                    nameHash = 31 * nameHash + c;
                    p++;
                }
                int nameEnd = p;
                p = skipBlanks(p, e);
                if (p >= e || t.charAt(p) != '=') {
                    throw error(p, "expected '=' after label name " + slice(nameStart, nameEnd)
                            + (p < e ? ", found " + describe(t.charAt(p)) : ", found end of line"));
                }
                p = skipBlanks(p + 1, e);
                if (p >= e || t.charAt(p) != '"') {
                    throw error(p, "expected '\"' to open the value of label " + slice(nameStart, nameEnd)
                            + (p < e ? ", found " + describe(t.charAt(p)) : ", found end of line"));
                }
                int quote = p;
                p++;
                long valueHash = 0;
                // A cache_config_info label this reader wants as a number: its decimal value, -1 if not one.
                int wanted = family != LoadFamilies.CACHE_CONFIG ? 0
                        : equalsExact(nameStart, nameEnd, "num_gpu_blocks") ? 1
                        : equalsExact(nameStart, nameEnd, "block_size") ? 2
                        : equalsExact(nameStart, nameEnd, "kv_cache_size_tokens") ? 3 : 0;
                boolean sleepLabel = family == LoadFamilies.SLEEP_STATE && equalsExact(nameStart, nameEnd, "sleep_state");
                long number = 0;
                boolean isNumber = true;
                int valueStart = p;
                while (true) {
                    if (p >= e) {
                        throw error(quote, "unterminated quote: the value of label "
                                + slice(nameStart, nameEnd) + " has no closing '\"' on this line");
                    }
                    c = t.charAt(p);
                    if (c == '"') {
                        p++;
                        break;
                    }
                    if (c == '\\') {
                        if (p + 1 >= e) {
                            throw error(quote, "unterminated quote: the value of label "
                                    + slice(nameStart, nameEnd) + " ends in a lone backslash");
                        }
                        char x = t.charAt(p + 1);
                        if (x == 'n') {
                            c = '\n';
                        } else if (x == '\\' || x == '"') {
                            c = x;
                        } else {
                            throw error(p, "invalid escape sequence \\" + x + " in the value of label "
                                    + slice(nameStart, nameEnd) + " (expected: \\\\, \\\" or \\n)");
                        }
                        p += 2;
                    } else {
                        p++;
                    }
                    valueHash = 31 * valueHash + c;
                    if (wanted != 0 && isNumber) {
                        if (isDigit(c) && number < Long.MAX_VALUE / 10 - 10) {
                            number = number * 10 + (c - '0');
                        } else {
                            isNumber = false;
                        }
                    }
                }
                if (wanted != 0 && isNumber && p - 1 > valueStart) {
                    if (wanted == 1) {
                        labelGpuBlocks = number;
                    } else if (wanted == 2) {
                        labelBlockSize = number;
                    } else {
                        labelKvTokens = number;
                    }
                }
                if (sleepLabel) {
                    // The raw text: the three values have no characters that need escapes.
                    labelSleep = equalsExact(valueStart, p - 1, "awake") ? EngineInfo.AWAKE
                            : equalsExact(valueStart, p - 1, "weights_offloaded") ? EngineInfo.WEIGHTS_OFFLOADED
                            : equalsExact(valueStart, p - 1, "discard_all") ? EngineInfo.DISCARD_ALL : 0;
                }
                setHash += mix(nameHash * 0x9E3779B97F4A7C15L + valueHash);
                p = skipBlanks(p, e);
                if (p >= e) {
                    throw error(p, "unterminated label set of " + slice(metricStart, metricEnd)
                            + ": expected ',' or '}'");
                }
                c = t.charAt(p);
                if (c == ',') {
                    p++;
                } else if (c == '}') {
                    labelSetHash = setHash;
                    return p + 1;
                } else {
                    throw error(p, "expected ',' or '}' after the value of label " + slice(nameStart, nameEnd)
                            + ", found " + describe(c));
                }
            }
        }

        /** MurmurHash3's finalizer: spreads a label pair's hash so that summing pairs stays distinct. */
        private static long mix(long h) {
            h ^= h >>> 33;
            h *= 0xff51afd7ed558ccdL;
            h ^= h >>> 33;
            h *= 0xc4ceb9fe1a85ec53L;
            h ^= h >>> 33;
            return h;
        }

    }
}
