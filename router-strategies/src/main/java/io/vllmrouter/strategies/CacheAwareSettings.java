package io.vllmrouter.strategies;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The settings of {@link CacheAwareStrategy}: the keys of the config's
 * {@code [strategies.cache-aware]} table. Every value is checked; an error names the key, the value
 * and what is expected.
 *
 * @param blockChars        characters per prompt block (default 64, about 16 tokens: one vLLM block)
 * @param charsPerToken     characters per token, to size an index from the backend's cache in tokens (default 4)
 * @param defaultCacheTokens cache size assumed for a backend that does not publish
 *                          {@code vllm:cache_config_info}, in tokens (default 262144)
 * @param cacheTokens       cache size in tokens for every backend, overriding what they publish; 0 = use theirs (default)
 * @param maxIndexBytes     memory cap of all indexes together, bytes (default 64 MiB)
 * @param loadMargin        absolute load margin: a backend whose load (outstanding / capacity) exceeds
 *                          the least-loaded candidate's by more than this and by more than
 *                          {@code loadRatio} is overloaded, and load wins over its cache (default 0.5)
 * @param loadRatio         relative margin, see {@code loadMargin} (default 1.5)
 * @param coldMargin        for a prompt no backend holds: backends whose load is within this of the
 *                          lowest share it by rendezvous hashing (default 0.1; 0: only the least loaded)
 * @param rendezvousBlocks  leading blocks that name a prompt with no cached prefix, for rendezvous hashing (default 4)
 * @param minMatchBlocks    cached blocks needed before a match counts (default 1)
 * @param sessionAffinity   whether an affinity key (the {@code user} field or session header) pins a
 *                          conversation by rendezvous hashing (default true)
 */
public record CacheAwareSettings(int blockChars, double charsPerToken, long defaultCacheTokens, long cacheTokens,
                                 long maxIndexBytes, double loadMargin, double loadRatio, double coldMargin,
                                 int rendezvousBlocks,
                                 int minMatchBlocks, boolean sessionAffinity) {

    /** The defaults. */
    public static final CacheAwareSettings DEFAULTS =
            new CacheAwareSettings(64, 4.0, 262_144, 0, 64L << 20, 0.5, 1.5, 0.1, 4, 1, true);

    public CacheAwareSettings {
        check("block_chars", blockChars, blockChars >= 1 && blockChars <= 65_536, "integer 1..65536");
        check("chars_per_token", charsPerToken, charsPerToken > 0 && charsPerToken <= 64, "number > 0 and <= 64");
        check("default_cache_tokens", defaultCacheTokens, defaultCacheTokens >= 1, "integer >= 1");
        check("cache_tokens", cacheTokens, cacheTokens >= 0, "integer >= 0 (0: what each backend publishes)");
        check("max_index_bytes", maxIndexBytes, maxIndexBytes >= 4096, "integer >= 4096");
        check("load_margin", loadMargin, loadMargin >= 0 && Double.isFinite(loadMargin), "number >= 0");
        check("load_ratio", loadRatio, loadRatio >= 1 && Double.isFinite(loadRatio), "number >= 1");
        check("cold_margin", coldMargin, coldMargin >= 0 && Double.isFinite(coldMargin), "number >= 0");
        check("rendezvous_blocks", rendezvousBlocks, rendezvousBlocks >= 1, "integer >= 1");
        check("min_match_blocks", minMatchBlocks, minMatchBlocks >= 1, "integer >= 1");
    }

    /** Keys and their meaning, in documentation order. */
    public static final Map<String, String> KEYS = keys();

    private static Map<String, String> keys() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("block_chars", "integer 1..65536");
        m.put("chars_per_token", "number > 0 and <= 64");
        m.put("default_cache_tokens", "integer >= 1");
        m.put("cache_tokens", "integer >= 0");
        m.put("max_index_bytes", "integer >= 4096");
        m.put("load_margin", "number >= 0");
        m.put("load_ratio", "number >= 1");
        m.put("cold_margin", "number >= 0");
        m.put("rendezvous_blocks", "integer >= 1");
        m.put("min_match_blocks", "integer >= 1");
        m.put("session_affinity", "true or false");
        return java.util.Collections.unmodifiableMap(m);
    }

    /**
     * The defaults with {@code settings} applied.
     *
     * @throws IllegalArgumentException {@code "key: value (expected: what)"} for an unknown key or bad value
     */
    public static CacheAwareSettings parse(Map<String, String> settings) {
        int blockChars = DEFAULTS.blockChars;
        double charsPerToken = DEFAULTS.charsPerToken;
        long defaultCacheTokens = DEFAULTS.defaultCacheTokens;
        long cacheTokens = DEFAULTS.cacheTokens;
        long maxIndexBytes = DEFAULTS.maxIndexBytes;
        double loadMargin = DEFAULTS.loadMargin;
        double loadRatio = DEFAULTS.loadRatio;
        double coldMargin = DEFAULTS.coldMargin;
        int rendezvousBlocks = DEFAULTS.rendezvousBlocks;
        int minMatchBlocks = DEFAULTS.minMatchBlocks;
        boolean sessionAffinity = DEFAULTS.sessionAffinity;
        for (Map.Entry<String, String> e : settings.entrySet()) {
            String k = e.getKey();
            String v = e.getValue() == null ? "" : e.getValue().strip();
            switch (k) {
                case "block_chars" -> blockChars = (int) integer(k, v, 1, 65_536);
                case "chars_per_token" -> charsPerToken = number(k, v);
                case "default_cache_tokens" -> defaultCacheTokens = integer(k, v, 1, Long.MAX_VALUE);
                case "cache_tokens" -> cacheTokens = integer(k, v, 0, Long.MAX_VALUE);
                case "max_index_bytes" -> maxIndexBytes = integer(k, v, 4096, Long.MAX_VALUE);
                case "load_margin" -> loadMargin = number(k, v);
                case "load_ratio" -> loadRatio = number(k, v);
                case "cold_margin" -> coldMargin = number(k, v);
                case "rendezvous_blocks" -> rendezvousBlocks = (int) integer(k, v, 1, PromptLimits.MAX_BLOCKS);
                case "min_match_blocks" -> minMatchBlocks = (int) integer(k, v, 1, PromptLimits.MAX_BLOCKS);
                case "session_affinity" -> {
                    if (!v.equals("true") && !v.equals("false")) {
                        throw new IllegalArgumentException(k + ": " + e.getValue() + " (expected: true or false)");
                    }
                    sessionAffinity = v.equals("true");
                }
                default -> {
                    if (!KvIndexSettings.KEYS.containsKey(k)) {  // those are KvIndexSettings.parse's
                        throw new IllegalArgumentException(k + ": " + e.getValue()
                                + " (expected: a key of [strategies.cache-aware]: " + String.join(", ", KEYS.keySet())
                                + ", " + String.join(", ", KvIndexSettings.KEYS.keySet()) + ")");
                    }
                }
            }
        }
        return new CacheAwareSettings(blockChars, charsPerToken, defaultCacheTokens, cacheTokens, maxIndexBytes,
                loadMargin, loadRatio, coldMargin, rendezvousBlocks, minMatchBlocks, sessionAffinity);
    }

    private static long integer(String key, String v, long min, long max) {
        long n;
        try {
            n = Long.parseLong(v);
        } catch (NumberFormatException ex) {
            throw new IllegalArgumentException(key + ": " + v + " (expected: " + KEYS.get(key) + ")");
        }
        if (n < min || n > max) {
            throw new IllegalArgumentException(key + ": " + v + " (expected: " + KEYS.get(key) + ")");
        }
        return n;
    }

    private static double number(String key, String v) {
        try {
            double d = Double.parseDouble(v);
            if (Double.isFinite(d)) {
                return d;  // the range is checked by the constructor
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IllegalArgumentException(key + ": " + v + " (expected: " + KEYS.get(key) + ")");
    }

    private static void check(String key, Object value, boolean ok, String expected) {
        if (!ok) {
            throw new IllegalArgumentException(key + ": " + value + " (expected: " + expected + ")");
        }
    }

    /** Limits shared with the API. */
    private static final class PromptLimits {
        static final int MAX_BLOCKS = io.vllmrouter.api.spi.PromptBlocks.MAX_BLOCKS;
    }
}
