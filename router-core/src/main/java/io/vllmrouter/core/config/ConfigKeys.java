package io.vllmrouter.core.config;

import io.vllmrouter.api.OneLine;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.tomlj.TomlArray;
import org.tomlj.TomlTable;

/**
 * The configuration schema's tables and the small conversions and messages {@link ConfigLoader}
 * and {@link TomlConfigParser} share: every {@code [config]} key with its type and builder setter,
 * the keys of the other tables, environment overrides, value conversion, and the "did you mean"
 * suggestion. Stateless.
 */
final class ConfigKeys {

    private ConfigKeys() {
    }

    /** The Python router's default capacity for a server without {@code max_concurrent_requests}. */
    static final int DEFAULT_MAX_CONCURRENT_REQUESTS = ServerConfig.DEFAULT_MAX_CONCURRENT_REQUESTS;

    /** Largest duration accepted, so that every duration fits {@link Duration#toNanos()} (about 292 years). */
    static final long MAX_SECONDS = 9_000_000_000L;

    static final String SERVERS_EXPECTED =
            "a [servers] table holding servers = [ { url = \"http://host:8000\", max_concurrent_requests = 4 }, ... ]";
    static final String SERVER_EXPECTED =
            "a table such as { url = \"http://host:8000\", max_concurrent_requests = 4 }";
    static final String URL_EXPECTED = "http:// or https:// URL with a host";

    static final List<String> ROOT_KEYS = List.of("servers", "config", "strategies", "discovery", "slo");
    static final List<String> SERVERS_KEYS = List.of("servers");
    static final List<String> SERVER_KEYS = List.of("url", "max_concurrent_requests", "models", "api_key", "name",
            "cache_tokens", "kv_events", "kv_events_replay", "kv_events_ranks");

    /** Keys of the Python router's code (not its README) that have another name here. */
    static final Map<String, String> PYTHON_KEYS = Map.of(
            "failure_threshold", "health_check_failure_threshold",
            "health_check_consecutive_failures", "health_check_failure_threshold",
            "health_check_window_size", "health_check_window");

    /** Matches RouterConfig's and ServerConfig's messages: {@code "key: value (expected: what)"}. */
    static final Pattern BUILDER_MESSAGE = Pattern.compile("([a-z_]+): (.*) \\(expected: (.*)\\)", Pattern.DOTALL);
    static final Pattern ENV_NUMBER = Pattern.compile("[+-]?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?");

    enum Kind { SECONDS, INT, LONG, NUMBER, BOOL, STRING, INT_LIST }

    /**
     * One {@code [config]} key. {@code expected} is shown for a value of the wrong type; the range
     * itself is checked by the builder, whose message is shown for a value out of range.
     */
    record Setting(String name, Kind kind, String expected, BiConsumer<RouterConfigBuilder, Object> apply) {
    }

    static final Map<String, Setting> SETTINGS = settings(
            seconds("health_check_interval", (b, d) -> b.healthCheckInterval(d)),
            seconds("health_check_timeout", (b, d) -> b.healthCheckTimeout(d)),
            new Setting("health_check_min_success_rate", Kind.NUMBER, "number between 0 and 1",
                    (b, v) -> b.healthCheckMinSuccessRate((Double) v)),
            seconds("health_check_max_response_time", (b, d) -> b.healthCheckMaxResponseTime(d)),
            integer("health_check_failure_threshold", 1, (b, n) -> b.healthCheckFailureThreshold(n)),
            integer("health_check_success_threshold", 1, (b, n) -> b.healthCheckSuccessThreshold(n)),
            integer("health_check_window", 1, (b, n) -> b.healthCheckWindow(n)),
            seconds("config_reload_interval", (b, d) -> b.configReloadInterval(d)),
            new Setting("enable_active_health_check", Kind.BOOL, "true or false",
                    (b, v) -> b.enableActiveHealthCheck((Boolean) v)),
            seconds("request_timeout", (b, d) -> b.requestTimeout(d)),
            seconds("connect_timeout", (b, d) -> b.connectTimeout(d)),
            integer("max_retries", 0, (b, n) -> b.maxRetries(n)),
            new Setting("retry_delay", Kind.SECONDS, "number of seconds >= 0", (b, v) -> b.retryDelay((Duration) v)),
            new Setting("strategy", Kind.STRING, "a strategy name such as \"weighted-score\"",
                    (b, v) -> b.strategy((String) v)),
            seconds("metrics_interval", (b, d) -> b.metricsInterval(d)),
            seconds("metrics_timeout", (b, d) -> b.metricsTimeout(d)),
            integer("metrics_stale_after", 1, (b, n) -> b.metricsStaleAfter(n)),
            seconds("models_refresh_interval", (b, d) -> b.modelsRefreshInterval(d)),
            new Setting("circuit_breaker_failure_rate", Kind.NUMBER, "percent > 0 and <= 100",
                    (b, v) -> b.circuitBreakerFailureRate((Double) v)),
            integer("circuit_breaker_minimum_calls", 1, (b, n) -> b.circuitBreakerMinimumCalls(n)),
            integer("circuit_breaker_window", 1, (b, n) -> b.circuitBreakerWindow(n)),
            seconds("circuit_breaker_wait", (b, d) -> b.circuitBreakerWait(d)),
            integer("circuit_breaker_half_open_calls", 1, (b, n) -> b.circuitBreakerHalfOpenCalls(n)),
            new Setting("session_header", Kind.STRING, "an HTTP header name such as \"X-Session-Id\"",
                    (b, v) -> b.sessionHeader((String) v)),
            integer("responses_affinity_max", 0, (b, n) -> b.responsesAffinityMax(n)),
            seconds("responses_affinity_ttl", (b, d) -> b.responsesAffinityTtl(d)),
            new Setting("retry_on_status", Kind.INT_LIST, "a list of HTTP statuses such as [500, 502, 503, 504, 429]",
                    (b, v) -> b.retryOnStatus(ints(v))),
            seconds("first_token_timeout", (b, d) -> b.firstTokenTimeout(d)),
            new Setting("stream_failover", Kind.BOOL, "true or false", (b, v) -> b.streamFailover((Boolean) v)),
            integer("stream_failover_max", 1, (b, n) -> b.streamFailoverMax(n)),
            new Setting("max_in_flight_factor", Kind.NUMBER, "number >= 0 and <= 1000, 0 for off",
                    (b, v) -> b.maxInFlightFactor((Double) v)),
            integer("max_queue", 0, (b, n) -> b.maxQueue(n)),
            seconds("queue_timeout", (b, d) -> b.queueTimeout(d)),
            seconds("speed_half_life", (b, d) -> b.speedHalfLife(d)));

    /** {@code [config]} keys read under a former name, which their messages then use. */
    @SuppressWarnings("deprecation")
    static final Map<String, Setting> ALIASES = Map.of(
            "first_byte_timeout", seconds("first_byte_timeout", (b, d) -> b.firstByteTimeout(d)));

    /** Environment variables that override a {@code [config]} key, in the order they are applied. */
    static final Map<String, String> ENV_OVERRIDES = orderedMap(
            ConfigLoader.ENV_HEALTH_CHECK_INTERVAL, "health_check_interval",
            ConfigLoader.ENV_CONFIG_RELOAD_INTERVAL, "config_reload_interval",
            ConfigLoader.ENV_REQUEST_TIMEOUT, "request_timeout");


    /** The TOML value as converted for {@code kind}, or null when it has the wrong type or is out of representable range. */
    static Object convert(Kind kind, Object raw) {
        switch (kind) {
            case SECONDS:
                return toDuration(raw);
            case INT:
                return toInt(raw);
            case LONG:
                return raw instanceof Long n ? n : null;
            case NUMBER:
                if (raw instanceof Long n) {
                    return n.doubleValue();
                }
                return raw instanceof Double d ? d : null;
            case BOOL:
                return raw instanceof Boolean b ? b : null;
            case STRING:
                return raw instanceof String s ? s : null;
            case INT_LIST:
                if (!(raw instanceof TomlArray a)) {
                    return null;
                }
                List<Integer> out = new java.util.ArrayList<>(a.size());
                for (int i = 0; i < a.size(); i++) {
                    Integer n = toInt(a.get(i));
                    if (n == null) {
                        return null;
                    }
                    out.add(n);
                }
                return out;
            default:
                throw new AssertionError(kind);
        }
    }

    @SuppressWarnings("unchecked")
    static List<Integer> ints(Object v) {
        return (List<Integer>) v;
    }

    static Integer toInt(Object raw) {
        if (raw instanceof Long n && n >= Integer.MIN_VALUE && n <= Integer.MAX_VALUE) {
            return n.intValue();
        }
        return null;
    }

    /** Seconds, integer or fractional, to a Duration rounded to the nanosecond. */
    static Duration toDuration(Object raw) {
        if (raw instanceof Long n) {
            return Math.abs(n) <= MAX_SECONDS ? Duration.ofSeconds(n) : null;
        }
        if (raw instanceof Double d) {
            if (!Double.isFinite(d) || Math.abs(d) > MAX_SECONDS) {
                return null;
            }
            long nanos = BigDecimal.valueOf(d).movePointRight(9).setScale(0, java.math.RoundingMode.HALF_UP).longValueExact();
            return Duration.ofNanos(nanos);
        }
        return null;
    }

    /** An environment value as TOML would have given it: Long, Double, or the string itself. */
    static Object parseEnvNumber(String text) {
        if (!ENV_NUMBER.matcher(text).matches()) {
            return text;
        }
        boolean integral = text.indexOf('.') < 0 && text.indexOf('e') < 0 && text.indexOf('E') < 0;
        try {
            return integral ? (Object) Long.parseLong(text) : (Object) Double.parseDouble(text);
        } catch (NumberFormatException e) {
            return text;
        }
    }

    static String expectedOf(IllegalArgumentException e) {
        Matcher m = BUILDER_MESSAGE.matcher(e.getMessage() == null ? "" : e.getMessage());
        return m.matches() ? m.group(3) : String.valueOf(e.getMessage());
    }

    /** "did you mean x?" for the one known key closest to {@code key}, if it is close. */
    static String suggest(String key, Collection<String> known) {
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String k : known) {
            int d = EditDistance.between(key.toLowerCase(java.util.Locale.ROOT), k);
            if (d < bestDistance) {
                bestDistance = d;
                best = k;
            }
        }
        if (best != null && bestDistance <= Math.max(2, key.length() / 4)) {
            return "did you mean " + best + "?";
        }
        String contained = null;
        for (String k : known) {
            if (key.length() >= 4 && (k.contains(key) || key.contains(k))) {
                if (contained != null) {
                    return null;
                }
                contained = k;
            }
        }
        return contained == null ? null : "did you mean " + contained + "?";
    }

    /** A TOML value as an operator would write it; long values are cut. */
    static String show(Object v) {
        String s;
        if (v == null) {
            s = "(nothing)";
        } else if (v instanceof String str) {
            s = OneLine.quoted(str);
        } else if (v instanceof Double d) {
            s = d.isNaN() ? "nan" : d.isInfinite() ? (d > 0 ? "inf" : "-inf") : d.toString();
        } else if (v instanceof TomlArray a) {
            StringBuilder sb = new StringBuilder("[");
            for (int i = 0; i < a.size(); i++) {
                sb.append(i == 0 ? "" : ", ").append(show(a.get(i)));
            }
            s = sb.append(']').toString();
        } else if (v instanceof TomlTable) {
            s = "{...}";
        } else {
            s = v.toString();
        }
        return s.length() > 120 ? s.substring(0, 117) + "..." : s;
    }

    static String stripPosition(String message) {
        return message == null ? "" : message.replaceFirst(" \\(line \\d+, column \\d+\\)$", "");
    }

    static Setting seconds(String name, BiConsumer<RouterConfigBuilder, Duration> apply) {
        return new Setting(name, Kind.SECONDS, "number of seconds > 0", (b, v) -> apply.accept(b, (Duration) v));
    }

    static Setting integer(String name, int min, BiConsumer<RouterConfigBuilder, Integer> apply) {
        return new Setting(name, Kind.INT, "integer >= " + min, (b, v) -> apply.accept(b, (Integer) v));
    }

    static Map<String, Setting> settings(Setting... all) {
        Map<String, Setting> m = new LinkedHashMap<>();
        for (Setting s : all) {
            m.put(s.name(), s);
        }
        return java.util.Collections.unmodifiableMap(m);
    }

    static Map<String, String> orderedMap(String... pairs) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < pairs.length; i += 2) {
            m.put(pairs[i], pairs[i + 1]);
        }
        return java.util.Collections.unmodifiableMap(m);
    }
}
