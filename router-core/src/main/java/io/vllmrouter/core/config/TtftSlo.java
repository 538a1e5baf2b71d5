package io.vllmrouter.core.config;

import java.time.Duration;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * The optional time-to-first-token objective ({@code [slo]}): when a request has one, the router
 * sends it only to backends expected to give its first token in time, and answers 429 with
 * {@code Retry-After} when none is. A request has one when it carries {@link #header()} (milliseconds)
 * or its model has one here; otherwise nothing changes. Off by default: no per-model objective, and
 * the header honoured only from clients that send it.
 *
 * <pre>{@code
 * TtftSlo slo = new TtftSlo("X-TTFT-SLO-Ms", Duration.ofSeconds(2), Map.of("llama-70b", Duration.ofMillis(800)));
 * }</pre>
 *
 * @param header  the request header a client sets its own objective with, in milliseconds; "" for none
 * @param ttft    the objective of every model without its own, or null for none
 * @param models  objectives by model name
 */
public record TtftSlo(String header, Duration ttft, Map<String, Duration> models) {

    /** Declared first: {@link #DEFAULT} is checked against it. */
    private static final Pattern HEADER_NAME = Pattern.compile("[!#$%&'*+.^_`|~0-9A-Za-z-]*");

    /** The header a client sets its objective with by default: {@value}. */
    public static final String DEFAULT_HEADER = "X-TTFT-SLO-Ms";
    /** The default: no per-model objective, {@link #DEFAULT_HEADER} honoured. */
    public static final TtftSlo DEFAULT = new TtftSlo(DEFAULT_HEADER, null, Map.of());

    public TtftSlo {
        Objects.requireNonNull(header, "header");
        if (!HEADER_NAME.matcher(header).matches()) {
            throw new IllegalArgumentException("header: \"" + header
                    + "\" (expected: an HTTP header name such as \"" + DEFAULT_HEADER + "\", or \"\" for none)");
        }
        check("ttft", ttft);
        Map<String, Duration> m = new TreeMap<>();
        for (Map.Entry<String, Duration> e : models.entrySet()) {
            check(e.getKey(), e.getValue());
            m.put(e.getKey(), e.getValue());
        }
        models = java.util.Collections.unmodifiableMap(m);
    }

    private static void check(String key, Duration d) {
        if (d != null && (d.isNegative() || d.isZero())) {
            throw new IllegalArgumentException(key + ": " + d.toNanos() / 1e9 + " (expected: seconds > 0)");
        }
    }

    /** The configured objective of {@code model} (null: any), or null when there is none. */
    public Duration forModel(String model) {
        Duration d = model == null ? null : models.get(model);
        return d != null ? d : ttft;
    }
}
