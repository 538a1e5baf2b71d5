package io.vllmrouter.examples.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vllmrouter.api.BackendState;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterStats;

import java.time.Instant;
import java.util.Map;

/**
 * The proxy's {@code GET /health}: 200 while at least one server is {@linkplain BackendState eligible}
 * (a readiness probe sends traffic only then), 503 otherwise — also before any server's first health
 * check passed — with each server's state and, when it gets no requests, the reason in words.
 *
 * <pre>{@code
 * HealthReport h = HealthReport.of(router.stats(), ServerNames.of(router.config()));
 * send(h.httpStatus(), h.json());
 * // {"status":"unavailable","eligible_servers":0,"servers":[{"name":"gpu-1","state":"not_ready",
 * //   "reason":"not ready: health check failed: GET http://gpu-1:8000/health: unknown host: gpu-1",...}]}
 * }</pre>
 *
 * <p>{@code status} is {@code ok} when every server is eligible, {@code degraded} when some are,
 * {@code unavailable} when none is.
 */
public final class HealthReport {

    private final int eligible;
    private final ObjectNode json;

    private HealthReport(int eligible, ObjectNode json) {
        this.eligible = eligible;
        this.json = json;
    }

    /** The report over {@code stats}; {@code names} are the configured names by server id (may be empty). */
    public static HealthReport of(RouterStats stats, Map<String, String> names) {
        int total = stats.servers().size();
        int eligible = 0;
        int healthy = 0;
        ArrayNode list = JsonNodeFactory.instance.arrayNode();
        for (BackendStats s : stats.servers()) {
            BackendState state = s.state();
            eligible += state == BackendState.ELIGIBLE ? 1 : 0;
            BackendStats.HealthStats h = s.health();
            healthy += h == null || h.healthy() ? 1 : 0;
            ObjectNode n = list.addObject();
            n.put("name", names.get(s.url()));
            n.put("url", s.url());
            n.put("state", state.label());
            n.put("eligible", state == BackendState.ELIGIBLE);
            n.put("reason", s.stateReason());
            n.put("healthy", h == null || h.healthy());
            n.put("last_check", h == null || h.lastCheckEpochMillis() < 0 ? null
                    : Instant.ofEpochMilli(h.lastCheckEpochMillis()).toString());
            n.put("consecutive_failures", h == null ? 0 : h.consecutiveFailures());
            n.put("success_rate", h == null ? 1.0 : Math.round(h.recentSuccessRate() * 1000) / 1000.0);
            if (h == null || h.responseTimeMillis() < 0) {
                n.putNull("response_time_ms");
            } else {
                n.put("response_time_ms", Math.round(h.responseTimeMillis() * 10) / 10.0);
            }
            n.put("circuit_breaker", s.circuitState() == null ? "disabled" : s.circuitState().name().toLowerCase(java.util.Locale.ROOT));
            n.put("draining", s.draining());
            n.put("in_flight", s.inFlight());
            ArrayNode models = n.putArray("models");
            s.models().forEach(models::add);
        }
        ObjectNode root = JsonNodeFactory.instance.objectNode();
        root.put("status", total > 0 && eligible == total ? "ok" : eligible > 0 ? "degraded" : "unavailable");
        root.put("total_servers", total);
        root.put("eligible_servers", eligible);
        root.put("healthy_servers", healthy);
        root.put("strategy", stats.strategy());
        root.put("timestamp", stats.generatedAt() == null ? Instant.now().toString() : stats.generatedAt().toString());
        root.set("servers", list);
        return new HealthReport(eligible, root);
    }

    /** 200 while a server is eligible, else 503. */
    public int httpStatus() {
        return eligible > 0 ? 200 : 503;
    }

    public ObjectNode json() {
        return json;
    }
}
