package io.vllmrouter.examples.server.exchange;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.vllmrouter.api.ModelInfo;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.RouterJson;
import io.vllmrouter.examples.dashboard.ServerNames;
import io.vllmrouter.examples.server.DashboardPage;
import io.vllmrouter.examples.server.HealthReport;
import io.vllmrouter.examples.server.ProxyContext;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The proxy's own endpoints, in the original router's JSON shapes: {@code GET /} (the service and
 * its endpoints), {@code /health}, {@code /load-stats}, {@code /metrics} (Prometheus text),
 * {@code /v1/models} and {@code /v1/models/{id}} (OpenAI's list over the router's catalogue), and the
 * web dashboard's page. Thread-safe; each answer is built from the router's current stats.
 */
public final class LocalEndpoints {

    private final ProxyContext context;

    public LocalEndpoints(ProxyContext context) {
        this.context = context;
    }

    FullHttpResponse answer(Routes.Local endpoint, ProxyExchange x) {
        return switch (endpoint) {
            case INFO -> Responses.json(200, info());
            case HEALTH -> {
                HealthReport h = HealthReport.of(context.router().stats(),
                        ServerNames.of(context.router().config()));
                yield Responses.json(h.httpStatus(), h.json());
            }
            case LOAD_STATS -> Responses.full(200, "application/json", loadStats());
            case METRICS -> Responses.full(200, "text/plain; version=0.0.4; charset=utf-8",
                    context.options().metrics().render(context.router().stats()).getBytes(StandardCharsets.UTF_8));
            case MODELS -> Responses.json(200, models());
            case MODEL -> model(x.path.substring("/v1/models/".length()));
            case DASHBOARD -> dashboard();
            case DASHBOARD_DATA -> Responses.json(200, context.dashboard().data());
        };
    }

    private byte[] loadStats() {
        try {
            return RouterJson.mapper().writeValueAsBytes(context.router().stats());
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    ObjectNode info() {
        VllmRouter router = context.router();
        ObjectNode n = Responses.JSON.createObjectNode();
        n.put("service", "vLLM Router");
        n.put("name", "vllm-router");
        n.put("version", context.options().version());
        n.put("status", context.stopping() ? "stopping" : "running");
        n.put("strategy", router.config().strategy());
        n.put("started_at", context.startedAt().toString());
        n.put("uptime_seconds", Duration.between(context.startedAt(), Instant.now()).toSeconds());
        n.put("servers", router.config().servers().size());
        ObjectNode e = n.putObject("endpoints");
        e.put("POST /v1/chat/completions", "chat completions (stream or not), forwarded");
        e.put("POST /v1/completions", "text completions, forwarded");
        e.put("POST /v1/embeddings", "embeddings, forwarded");
        e.put("GET /v1/models", "models of the healthy backends (union)");
        e.put("/v1/*", "every other OpenAI/vLLM path under /v1, forwarded (GET, POST; DELETE under /v1/responses/)");
        e.put("POST " + Routes.extraForwarded(), "vLLM's endpoints outside /v1, forwarded");
        e.put("GET /health", "readiness: 200 while a server is eligible, else 503, with each server's state and reason");
        e.put("GET /load-stats", "live load per backend");
        e.put("GET /metrics", "Prometheus metrics of the router");
        e.put("GET " + DashboardPage.PATH, "live web dashboard of the fleet");
        return n;
    }

    /** OpenAI's list shape over the router's catalogue, each model once (first backend's entry kept). */
    ObjectNode models() {
        ObjectNode root = Responses.JSON.createObjectNode();
        root.put("object", "list");
        ArrayNode data = root.putArray("data");
        Set<String> seen = new LinkedHashSet<>();
        for (ModelInfo m : context.router().models()) {
            if (seen.add(m.id())) {
                data.add(entry(m));
            }
        }
        return root;
    }

    /** One model's entry ({@code id} as decoded from the path), or 404 when no admitted backend serves it. */
    private FullHttpResponse model(String id) {
        for (ModelInfo m : context.router().models()) {
            if (m.id().equals(id)) {
                return Responses.json(200, entry(m));
            }
        }
        return Responses.error(404, "invalid_request_error", "model_not_found",
                "The model '" + id + "' does not exist on any healthy backend", -1);
    }

    private static ObjectNode entry(ModelInfo m) {
        try {
            if (Responses.JSON.readTree(m.json()) instanceof ObjectNode raw) {
                return raw;
            }
        } catch (IOException e) {
            // the backend's entry was JSON when it was read; fall back to the plain shape
        }
        ObjectNode n = Responses.JSON.createObjectNode();
        n.put("id", m.id());
        n.put("object", "model");
        n.put("owned_by", "vllm");
        return n;
    }

    /** The web dashboard: one static page, served from memory without a copy. */
    private static FullHttpResponse dashboard() {
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(DashboardPage.buffer()));
        DashboardPage.HEADERS.forEach(resp.headers()::set);
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, DashboardPage.length());
        return resp;
    }
}
