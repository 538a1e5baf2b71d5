package io.vllmrouter.core.config;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

/**
 * What a new configuration changes, in words for the reload log line: servers added, removed and
 * changed (by name, with the keys that changed), and the settings that changed, by their TOML keys.
 *
 * <pre>{@code
 * LOG.info("configuration reloaded: " + ConfigDiff.describe(before, after));
 * // servers added: gpu-3 (http://10.0.0.3:8000); removed: gpu-1 (http://10.0.0.1:8000);
 * //   changed: gpu-2 (max_concurrent_requests 4 -> 8); settings: request_timeout 120s -> 60s
 * }</pre>
 *
 * <p>API keys are never shown: a changed key reads {@code api_key changed}.
 */
public final class ConfigDiff {

    /** Every [config] setting by its TOML key. */
    private static final List<Map.Entry<String, Function<RouterConfig, Object>>> SETTINGS = List.of(
            Map.entry("health_check_interval", RouterConfig::healthCheckInterval),
            Map.entry("health_check_timeout", RouterConfig::healthCheckTimeout),
            Map.entry("health_check_min_success_rate", RouterConfig::healthCheckMinSuccessRate),
            Map.entry("health_check_max_response_time", RouterConfig::healthCheckMaxResponseTime),
            Map.entry("health_check_failure_threshold", RouterConfig::healthCheckFailureThreshold),
            Map.entry("health_check_success_threshold", RouterConfig::healthCheckSuccessThreshold),
            Map.entry("health_check_window", RouterConfig::healthCheckWindow),
            Map.entry("config_reload_interval", RouterConfig::configReloadInterval),
            Map.entry("enable_active_health_check", RouterConfig::enableActiveHealthCheck),
            Map.entry("request_timeout", RouterConfig::requestTimeout),
            Map.entry("connect_timeout", RouterConfig::connectTimeout),
            Map.entry("max_retries", RouterConfig::maxRetries),
            Map.entry("retry_delay", RouterConfig::retryDelay),
            Map.entry("strategy", RouterConfig::strategy),
            Map.entry("metrics_interval", RouterConfig::metricsInterval),
            Map.entry("metrics_timeout", RouterConfig::metricsTimeout),
            Map.entry("metrics_stale_after", RouterConfig::metricsStaleAfter),
            Map.entry("models_refresh_interval", RouterConfig::modelsRefreshInterval),
            Map.entry("circuit_breaker_failure_rate", RouterConfig::circuitBreakerFailureRate),
            Map.entry("circuit_breaker_minimum_calls", RouterConfig::circuitBreakerMinimumCalls),
            Map.entry("circuit_breaker_window", RouterConfig::circuitBreakerWindow),
            Map.entry("circuit_breaker_wait", RouterConfig::circuitBreakerWait),
            Map.entry("circuit_breaker_half_open_calls", RouterConfig::circuitBreakerHalfOpenCalls),
            Map.entry("session_header", RouterConfig::sessionHeader),
            Map.entry("retry_on_status", RouterConfig::retryOnStatus),
            Map.entry("first_byte_timeout", RouterConfig::firstByteTimeout),
            Map.entry("stream_failover", RouterConfig::streamFailover),
            Map.entry("stream_failover_max", RouterConfig::streamFailoverMax),
            Map.entry("max_in_flight_factor", RouterConfig::maxInFlightFactor),
            Map.entry("max_queue", RouterConfig::maxQueue),
            Map.entry("queue_timeout", RouterConfig::queueTimeout),
            Map.entry("strategies", RouterConfig::strategySettings));

    private ConfigDiff() {
    }

    /** The changes from {@code before} to {@code after} in one line, or {@code "no change"}. */
    public static String describe(RouterConfig before, RouterConfig after) {
        Map<String, ServerConfig> old = byId(before.servers());
        Map<String, ServerConfig> now = byId(after.servers());
        List<String> added = new ArrayList<>();
        List<String> removed = new ArrayList<>();
        List<String> changed = new ArrayList<>();
        for (ServerConfig s : after.servers()) {
            ServerConfig was = old.get(s.id());
            if (was == null) {
                added.add(label(s));
            } else if (!was.equals(s)) {
                changed.add(label(s) + " (" + String.join(", ", serverChanges(was, s)) + ")");
            }
        }
        for (ServerConfig s : before.servers()) {
            if (!now.containsKey(s.id())) {
                removed.add(label(s));
            }
        }
        List<String> settings = new ArrayList<>();
        for (Map.Entry<String, Function<RouterConfig, Object>> e : SETTINGS) {
            Object a = e.getValue().apply(before);
            Object b = e.getValue().apply(after);
            if (!Objects.equals(a, b)) {
                settings.add(e.getKey() + " " + show(a) + " -> " + show(b));
            }
        }
        // A host's own settings (the front door's, with its keys): named, never shown.
        java.util.Set<String> names = new java.util.TreeSet<>(before.extensions.keySet());
        names.addAll(after.extensions.keySet());
        for (String name : names) {
            if (!Objects.equals(before.extensions.get(name), after.extensions.get(name))) {
                settings.add(name + " settings changed");
            }
        }
        List<String> parts = new ArrayList<>();
        if (!added.isEmpty()) {
            parts.add("servers added: " + String.join(", ", added));
        }
        if (!removed.isEmpty()) {
            parts.add("removed: " + String.join(", ", removed));
        }
        if (!changed.isEmpty()) {
            parts.add("changed: " + String.join(", ", changed));
        }
        if (!settings.isEmpty()) {
            parts.add("settings: " + String.join(", ", settings));
        }
        return parts.isEmpty() ? "no change" : String.join("; ", parts);
    }

    private static List<String> serverChanges(ServerConfig was, ServerConfig now) {
        List<String> out = new ArrayList<>();
        if (was.maxConcurrentRequests() != now.maxConcurrentRequests()) {
            out.add("max_concurrent_requests " + was.maxConcurrentRequests() + " -> " + now.maxConcurrentRequests());
        }
        if (!was.models().equals(now.models())) {
            out.add("models " + was.models() + " -> " + now.models());
        }
        if (!Objects.equals(was.name(), now.name())) {
            out.add("name " + show(was.name()) + " -> " + show(now.name()));
        }
        if (!Objects.equals(was.apiKey(), now.apiKey())) {
            out.add("api_key changed");
        }
        return out;
    }

    private static String label(ServerConfig s) {
        return s.name() == null ? s.id() : s.name() + " (" + s.id() + ")";
    }

    private static Map<String, ServerConfig> byId(List<ServerConfig> servers) {
        Map<String, ServerConfig> m = new LinkedHashMap<>();
        for (ServerConfig s : servers) {
            m.put(s.id(), s);
        }
        return m;
    }

    private static String show(Object v) {
        if (v instanceof Duration d) {
            return d.toMillis() % 1000 == 0 ? d.toSeconds() + "s" : d.toMillis() + "ms";
        }
        return v instanceof String s ? "\"" + s + "\"" : String.valueOf(v);
    }
}
