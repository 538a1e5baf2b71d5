package io.vllmrouter.strategies;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The settings of {@link LatencyAwareStrategy}: the keys of the config's
 * {@code [strategies.latency-aware]} table. An error names the key, the value and what is expected.
 *
 * @param queueWeight how much a second of waiting for a slot counts against a second of service
 *                    (default 3: the wait is paid by this request and, as the queue it lengthens, by
 *                    those that arrive after it); {@code >= 1}
 * @param loadWeight  how much the work already on a backend ({@code outstanding * typical / capacity})
 *                    counts besides the wait (default 0.25: a fuller batch counts as busier, so equal
 *                    backends share requests as {@code least-loaded} shares them); {@code >= 0}
 * @param spread      how far apart (as a fraction of the score) backends may be and still share
 *                    requests by rendezvous hashing, against herding between router replicas; 0..1
 *                    (default 0.02; 0: always the single best, ties to the higher rendezvous weight)
 */
public record LatencyAwareSettings(double queueWeight, double loadWeight, double spread) {

    /** The defaults. */
    public static final LatencyAwareSettings DEFAULTS =
            new LatencyAwareSettings(io.vllmrouter.api.spi.ExpectedTime.QUEUE_WEIGHT, io.vllmrouter.api.spi.ExpectedTime.LOAD_WEIGHT, 0.02);

    /** Keys and what each expects, in documentation order. */
    public static final Map<String, String> KEYS = keys();

    private static Map<String, String> keys() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("queue_weight", "number >= 1");
        m.put("load_weight", "number >= 0");
        m.put("spread", "number from 0 to 1");
        return java.util.Collections.unmodifiableMap(m);
    }

    public LatencyAwareSettings {
        check("queue_weight", queueWeight, queueWeight >= 1 && Double.isFinite(queueWeight));
        check("load_weight", loadWeight, loadWeight >= 0 && Double.isFinite(loadWeight));
        check("spread", spread, spread >= 0 && spread <= 1);
    }

    private static void check(String key, double v, boolean ok) {
        if (!ok) {
            throw new IllegalArgumentException(key + ": " + v + " (expected: " + KEYS.get(key) + ")");
        }
    }

    /**
     * The defaults with {@code settings} applied.
     *
     * @throws IllegalArgumentException {@code "key: value (expected: what)"} for an unknown key or bad value
     */
    public static LatencyAwareSettings parse(Map<String, String> settings) {
        double queueWeight = DEFAULTS.queueWeight;
        double loadWeight = DEFAULTS.loadWeight;
        double spread = DEFAULTS.spread;
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String key = e.getKey();
            if (!KEYS.containsKey(key)) {
                throw new IllegalArgumentException(key + ": " + e.getValue()
                        + " (expected: a key of [strategies.latency-aware]: " + String.join(", ", KEYS.keySet()) + ")");
            }
            double v;
            try {
                v = Double.parseDouble(e.getValue() == null ? "" : e.getValue().strip());
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException(key + ": " + e.getValue() + " (expected: " + KEYS.get(key) + ")");
            }
            switch (key) {
                case "queue_weight" -> queueWeight = v;
                case "load_weight" -> loadWeight = v;
                default -> spread = v;
            }
        }
        return new LatencyAwareSettings(queueWeight, loadWeight, spread);
    }
}
