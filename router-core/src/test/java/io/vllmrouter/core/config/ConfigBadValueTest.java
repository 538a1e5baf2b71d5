package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Each kind of bad value for each key gives one message naming file, line, key, value and expectation. */
class ConfigBadValueTest {

    private static final String SECONDS = "number of seconds > 0";

    /** {@code key = value} under [config] (line 2), the value as the message shows it, the expectation. */
    static Stream<Arguments> badConfigValues() {
        return Stream.of(
                // durations > 0: wrong type, zero, negative, not finite
                bad("health_check_interval", "\"10s\"", SECONDS),
                bad("health_check_interval", "0", "seconds > 0"),
                bad("health_check_interval", "-5", "seconds > 0"),
                bad("health_check_timeout", "true", SECONDS),
                bad("health_check_timeout", "-0.5", "seconds > 0"),
                bad("health_check_max_response_time", "[2]", SECONDS),
                bad("health_check_max_response_time", "0.0", "seconds > 0"),
                bad("config_reload_interval", "0", "seconds > 0"),
                bad("config_reload_interval", "inf", SECONDS),
                bad("request_timeout", "\"fast\"", SECONDS),
                bad("request_timeout", "-1", "seconds > 0"),
                bad("request_timeout", "nan", SECONDS),
                bad("request_timeout", "99999999999", SECONDS),
                bad("connect_timeout", "0", "seconds > 0"),
                bad("connect_timeout", "\"5\"", SECONDS),
                bad("metrics_interval", "0", "seconds > 0"),
                bad("metrics_interval", "false", SECONDS),
                bad("metrics_timeout", "-2", "seconds > 0"),
                bad("models_refresh_interval", "0", "seconds > 0"),
                bad("circuit_breaker_wait", "-1.5", "seconds > 0"),
                bad("circuit_breaker_wait", "{ s = 1 }", SECONDS, "{...}"),
                // durations >= 0
                bad("retry_delay", "-0.1", "seconds >= 0"),
                bad("retry_delay", "\"100ms\"", "number of seconds >= 0"),
                // integers
                bad("max_retries", "-1", "integer >= 0"),
                bad("max_retries", "2.5", "integer >= 0"),
                bad("max_retries", "\"3\"", "integer >= 0"),
                bad("max_retries", "3000000000", "integer >= 0"),
                bad("health_check_failure_threshold", "0", "integer >= 1"),
                bad("health_check_failure_threshold", "1.0", "integer >= 1"),
                bad("health_check_success_threshold", "0", "integer >= 1"),
                bad("health_check_success_threshold", "\"two\"", "integer >= 1"),
                bad("health_check_window", "-3", "integer >= 1"),
                bad("metrics_stale_after", "0", "integer >= 1"),
                bad("circuit_breaker_minimum_calls", "0", "integer >= 1"),
                bad("circuit_breaker_window", "0", "integer >= 1"),
                bad("circuit_breaker_half_open_calls", "0", "integer >= 1"),
                bad("circuit_breaker_half_open_calls", "true", "integer >= 1"),
                // fractions and percentages
                bad("health_check_min_success_rate", "1.5", "number between 0 and 1"),
                bad("health_check_min_success_rate", "-0.1", "number between 0 and 1"),
                bad("health_check_min_success_rate", "80", "number between 0 and 1"),
                bad("health_check_min_success_rate", "\"80%\"", "number between 0 and 1"),
                bad("health_check_min_success_rate", "nan", "number between 0 and 1"),
                bad("circuit_breaker_failure_rate", "0", "percent > 0 and <= 100"),
                bad("circuit_breaker_failure_rate", "101", "percent > 0 and <= 100"),
                bad("circuit_breaker_failure_rate", "\"50%\"", "percent > 0 and <= 100"),
                // booleans
                bad("enable_active_health_check", "\"true\"", "true or false"),
                bad("enable_active_health_check", "1", "true or false"),
                // strategy
                bad("strategy", "\"Weighted Score\"", "a strategy name such as \"weighted-score\", lower case letters, digits and -"),
                bad("strategy", "\"\"", "a strategy name such as \"weighted-score\", lower case letters, digits and -"),
                bad("strategy", "3", "a strategy name such as \"weighted-score\""),
                bad("session_header", "\"X Session\"", "an HTTP header name such as \"X-Session-Id\""),
                bad("session_header", "7", "an HTTP header name such as \"X-Session-Id\""),
                bad("responses_affinity_max", "-1", "integer >= 0"),
                bad("responses_affinity_max", "1e5", "integer >= 0", "100000.0"),
                bad("responses_affinity_ttl", "0", "seconds > 0"),
                bad("responses_affinity_ttl", "\"1d\"", SECONDS),
                // the proxy's front door
                bad("retry_on_status", "500", "a list of HTTP statuses such as [500, 502, 503, 504, 429]"),
                bad("retry_on_status", "[\"500\"]", "a list of HTTP statuses such as [500, 502, 503, 504, 429]"),
                bad("retry_on_status", "[200]", "a list of HTTP statuses from 400 to 599, such as [500, 502, 503, 504, 429]"),
                bad("first_token_timeout", "0", "seconds > 0"),
                bad("stream_failover", "\"yes\"", "true or false"),
                bad("stream_failover_max", "0", "integer >= 1"),
                bad("max_in_flight_factor", "-1", "number >= 0 and <= 1000, 0 for off"),
                bad("max_queue", "-1", "integer >= 0"),
                bad("queue_timeout", "0", "seconds > 0"),
                bad("speed_half_life", "0", "seconds > 0"),
                bad("first_token_timeout", "\"30s\"", SECONDS));
    }

    private static Arguments bad(String key, String toml, String expected) {
        return bad(key, toml, expected, toml);
    }

    private static Arguments bad(String key, String toml, String expected, String shown) {
        return Arguments.of(key, toml, shown, expected);
    }

    @ParameterizedTest(name = "{0} = {1}")
    @MethodSource("badConfigValues")
    void badConfigValueIsNamed(String key, String toml, String shown, String expected) {
        String text = "[config]\n" + key + " = " + toml + "\n";

        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.parse(text, "servers.toml", Map.of()));

        assertThat(e).as("no exception for %s = %s", key, toml).isNotNull();
        assertThat(e.file()).isEqualTo("servers.toml");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.key()).isEqualTo("config." + key);
        assertThat(e.value()).isEqualTo(shown);
        assertThat(e.expected()).isEqualTo(expected);
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: config." + key + " = " + shown + " (expected: " + expected + ")");
    }

    @Test
    void tableCoversEveryConfigKey() {
        Set<String> covered = new LinkedHashSet<>();
        badConfigValues().forEach(a -> covered.add((String) a.get()[0]));

        assertThat(covered).containsExactlyInAnyOrderElementsOf(ConfigLoader.configKeys());
    }

    /** A server entry on line 3, its key, the value as shown, the expectation. */
    /** The JDK's own words for a bad URI (the index it names differs between Java 17 and 25). */
    private static String jdkUriReason(String uri) {
        try {
            new java.net.URI(uri);
            throw new AssertionError("valid URI: " + uri);
        } catch (java.net.URISyntaxException e) {
            assertThat(e.getReason()).startsWith("Illegal character");
            return e.getReason() + " at index " + e.getIndex();
        }
    }

    static Stream<Arguments> badServerValues() {
        return Stream.of(
                Arguments.of("{ url = \"ftp://a:1\" }", "url", "\"ftp://a:1\"", "http:// or https:// URL with a host"),
                Arguments.of("{ url = \"gpu-1:8000\" }", "url", "\"gpu-1:8000\"", "http:// or https:// URL with a host"),
                Arguments.of("{ url = \"http://\" }", "url", "\"http://\"",
                        "http:// or https:// URL with a host (Expected authority at index 7)"),
                Arguments.of("{ url = \"http://gpu 1:80\" }", "url", "\"http://gpu 1:80\"",
                        "http:// or https:// URL with a host (" + jdkUriReason("http://gpu 1:80") + ")"),
                Arguments.of("{ url = \"http://gpu_1:80\" }", "url", "\"http://gpu_1:80\"",
                        "http:// or https:// URL with a host; host names cannot contain '_'"),
                Arguments.of("{ url = \"http://a:1/?x=1\" }", "url", "\"http://a:1/?x=1\"", "no query or fragment"),
                Arguments.of("{ url = 8000 }", "url", "8000", "http:// or https:// URL with a host, in quotes"),
                Arguments.of("{ url = \"http://a:1\", max_concurrent_requests = 0 }", "max_concurrent_requests", "0", "integer >= 1"),
                Arguments.of("{ url = \"http://a:1\", max_concurrent_requests = -2 }", "max_concurrent_requests", "-2", "integer >= 1"),
                Arguments.of("{ url = \"http://a:1\", max_concurrent_requests = 2.5 }", "max_concurrent_requests", "2.5", "integer >= 1"),
                Arguments.of("{ url = \"http://a:1\", max_concurrent_requests = \"4\" }", "max_concurrent_requests", "\"4\"", "integer >= 1"),
                Arguments.of("{ url = \"http://a:1\", models = \"llama\" }", "models", "\"llama\"",
                        "an array of model names, e.g. [\"llama-3.1-8b\"]"),
                Arguments.of("{ url = \"http://a:1\", models = [\"llama\", 3] }", "models[1]", "3", "a non-empty model name in quotes"),
                Arguments.of("{ url = \"http://a:1\", models = [\" \"] }", "models[0]", "\" \"", "a non-empty model name in quotes"),
                Arguments.of("{ url = \"http://a:1\", api_key = 123 }", "api_key", "123", "a string (sent as Authorization: Bearer)"),
                Arguments.of("{ url = \"http://a:1\", cache_tokens = -1 }", "cache_tokens", "-1", ServerConfig.CACHE_TOKENS_EXPECTED),
                Arguments.of("{ url = \"http://a:1\", cache_tokens = 1.5e6 }", "cache_tokens", "1500000.0", ServerConfig.CACHE_TOKENS_EXPECTED),
                Arguments.of("{ url = \"http://a:1\", cache_tokens = \"1M\" }", "cache_tokens", "\"1M\"", ServerConfig.CACHE_TOKENS_EXPECTED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badServerValues")
    void badServerValueIsNamed(String entry, String key, String shown, String expected) {
        String text = "[servers]\nservers = [\n  " + "{ url = \"http://ok:1\" },\n  " + entry + ",\n]\n";

        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> ConfigLoader.parse(text, "servers.toml", Map.of()));

        assertThat(e).as("no exception for %s", entry).isNotNull();
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.key()).isEqualTo("servers[1]." + key);
        assertThat(e.value()).isEqualTo(shown);
        assertThat(e.expected()).isEqualTo(expected);
        assertThat(e.getMessage()).isEqualTo("servers.toml:4: servers[1]." + key + " = " + shown + " (expected: " + expected + ")");
    }

    @Test
    void apiKeyNeverAppearsInAnError() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(
                "[servers]\nservers = [ { url = \"http://a:1\", api_key = \"sk-secret\", max_concurrent_requests = 0 } ]\n",
                "servers.toml", Map.of()));

        assertThat(e.getMessage()).doesNotContain("sk-secret");
    }
}
