package io.vllmrouter.strategies;

import java.util.Map;

/**
 * The settings of {@link LatencyAwareStrategy}: the keys of the config's
 * {@code [strategies.latency-aware]} table. An error names the key, the value and what is expected.
 *
 * @param spread how far apart (as a fraction of the expected time) backends may be and still share
 *               requests by rendezvous hashing, against herding between router replicas; 0..1
 *               (default 0.02; 0: always the single soonest, ties to the higher rendezvous weight)
 */
public record LatencyAwareSettings(double spread) {

    /** The defaults. */
    public static final LatencyAwareSettings DEFAULTS = new LatencyAwareSettings(0.02);

    public LatencyAwareSettings {
        if (!(spread >= 0 && spread <= 1)) {
            throw new IllegalArgumentException("spread: " + spread + " (expected: number from 0 to 1)");
        }
    }

    /**
     * The defaults with {@code settings} applied.
     *
     * @throws IllegalArgumentException {@code "key: value (expected: what)"} for an unknown key or bad value
     */
    public static LatencyAwareSettings parse(Map<String, String> settings) {
        double spread = DEFAULTS.spread;
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String v = e.getValue() == null ? "" : e.getValue().strip();
            if (!e.getKey().equals("spread")) {
                throw new IllegalArgumentException(e.getKey() + ": " + e.getValue()
                        + " (expected: a key of [strategies.latency-aware]: spread)");
            }
            try {
                spread = Double.parseDouble(v);
            } catch (NumberFormatException ex) {
                throw new IllegalArgumentException("spread: " + e.getValue() + " (expected: number from 0 to 1)");
            }
        }
        return new LatencyAwareSettings(spread);
    }
}
