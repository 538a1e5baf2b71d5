package io.vllmrouter.strategies;

import io.vllmrouter.api.spi.PickInputs;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Where {@link CacheAwareStrategy} learns what each backend caches: the keys of
 * {@code [strategies.cache-aware]} that choose the index, read beside {@link CacheAwareSettings}.
 *
 * <pre>{@code
 * [strategies.cache-aware]
 * index = "kv-events"          # "approximate" (default): this router's own guess
 * tokenizer = "backend"        # each server's POST /tokenize; or a local tokenizer's directory
 * tokenize_timeout = 0.02      # seconds a request waits for its tokens, then routes without them
 * offloaded_weight = 0.5       # worth of a block held only in CPU memory against one in GPU memory
 * }</pre>
 *
 * @param kvEvents        {@code index = "kv-events"}: the servers' KV-cache events, with the
 *                        approximate index for servers that publish none and for requests whose
 *                        tokens came too late
 * @param tokenizer       {@code "backend"} or a local tokenizer's setting (a directory holding
 *                        {@code tokenizer.json}); used only with {@code kv-events}
 * @param tokenizeTimeout how long a request waits for its tokens (default 20 ms)
 * @param offloadedWeight a cached block in offloaded (CPU) memory counts this much of one in GPU
 *                        memory, 0..1 (default 0.5)
 */
public record KvIndexSettings(boolean kvEvents, String tokenizer, Duration tokenizeTimeout, double offloadedWeight) {

    public static final String APPROXIMATE = "approximate";
    public static final String KV_EVENTS = "kv-events";
    public static final String BACKEND_TOKENIZER = "backend";

    /** The defaults: the approximate index. */
    public static final KvIndexSettings DEFAULTS =
            new KvIndexSettings(false, BACKEND_TOKENIZER, Duration.ofMillis(20), 0.5);

    /** Keys and what they take, in documentation order. */
    public static final Map<String, String> KEYS = keys();

    private static Map<String, String> keys() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("index", "\"approximate\" or \"kv-events\"");
        m.put("tokenizer", "\"backend\" or the directory of a local tokenizer (tokenizer.json)");
        m.put("tokenize_timeout", "number of seconds >= 0 and <= 10");
        m.put("offloaded_weight", "number from 0 to 1");
        return Collections.unmodifiableMap(m);
    }

    public KvIndexSettings {
        if (tokenizer == null || tokenizer.isBlank()) {
            throw new IllegalArgumentException("tokenizer: " + tokenizer + " (expected: " + KEYS.get("tokenizer") + ")");
        }
        if (tokenizeTimeout == null || tokenizeTimeout.isNegative() || tokenizeTimeout.compareTo(Duration.ofSeconds(10)) > 0) {
            throw new IllegalArgumentException("tokenize_timeout: " + tokenizeTimeout + " (expected: "
                    + KEYS.get("tokenize_timeout") + ")");
        }
        if (!(offloadedWeight >= 0 && offloadedWeight <= 1)) {
            throw new IllegalArgumentException("offloaded_weight: " + offloadedWeight + " (expected: "
                    + KEYS.get("offloaded_weight") + ")");
        }
    }

    /**
     * The defaults with this record's keys of {@code settings} applied; other keys are left to
     * {@link CacheAwareSettings#parse}.
     *
     * @throws IllegalArgumentException {@code "key: value (expected: what)"} for a bad value
     */
    public static KvIndexSettings parse(Map<String, String> settings) {
        boolean kvEvents = DEFAULTS.kvEvents;
        String tokenizer = DEFAULTS.tokenizer;
        Duration timeout = DEFAULTS.tokenizeTimeout;
        double weight = DEFAULTS.offloadedWeight;
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String k = e.getKey();
            String v = e.getValue() == null ? "" : e.getValue().strip();
            switch (k) {
                case "index" -> {
                    String lower = v.toLowerCase(Locale.ROOT);
                    if (!lower.equals(APPROXIMATE) && !lower.equals(KV_EVENTS)) {
                        throw new IllegalArgumentException(k + ": " + e.getValue() + " (expected: " + KEYS.get(k) + ")");
                    }
                    kvEvents = lower.equals(KV_EVENTS);
                }
                case "tokenizer" -> tokenizer = v;
                case "tokenize_timeout" -> {
                    double s = number(k, v);
                    if (!(s >= 0 && s <= 10)) {
                        throw new IllegalArgumentException(k + ": " + e.getValue() + " (expected: " + KEYS.get(k) + ")");
                    }
                    timeout = Duration.ofNanos(Math.round(s * 1e9));
                }
                case "offloaded_weight" -> weight = number(k, v);
                default -> {
                    // a CacheAwareSettings key
                }
            }
        }
        return new KvIndexSettings(kvEvents, tokenizer, timeout, weight);
    }

    private static double number(String key, String v) {
        try {
            double d = Double.parseDouble(v);
            if (Double.isFinite(d)) {
                return d;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(key + ": " + v + " (expected: " + KEYS.get(key) + ")");
    }

    /** What the router prepares for each pick: tokens and the index with {@code kv-events}, nothing otherwise. */
    public PickInputs pickInputs(long maxIndexBytes) {
        return kvEvents ? new PickInputs(tokenizer, tokenizeTimeout, true, maxIndexBytes) : PickInputs.NONE;
    }
}
