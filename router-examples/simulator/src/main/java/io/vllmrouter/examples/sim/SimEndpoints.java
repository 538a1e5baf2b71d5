package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * The simulator's endpoints beyond completions, each kept in its own class and reached through
 * {@link #handle}, which {@link SimulatedVllm} asks first: {@link SleepMode} (also holding
 * generation requests while asleep), {@link ResponsesEndpoint} (the Responses API and its
 * per-server store), {@link AudioEndpoint} (transcription and translation uploads), and
 * {@code GET /server_info} ({@code {"vllm_config": "..."}}, the configuration as text).
 */
final class SimEndpoints {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private final SimulatedVllm sim;
    private final SleepMode sleep = new SleepMode();
    private final java.util.concurrent.atomic.AtomicInteger heldAsleep = new java.util.concurrent.atomic.AtomicInteger();
    private final ResponsesEndpoint responses;
    private final AudioEndpoint audio;

    SimEndpoints(SimulatedVllm sim) {
        this.sim = sim;
        this.responses = new ResponsesEndpoint(sim);
        this.audio = new AudioEndpoint(sim);
    }

    /**
     * Serves {@code path} when it is one of these endpoints and returns true; else returns false
     * for {@link SimulatedVllm} to serve it, after holding a generation request while asleep.
     */
    boolean handle(HttpExchange ex, String method, String path) throws IOException {
        if (sleep.handle(ex, method, path)) {
            return true;
        }
        if (sleep.level() != 0 && generates(method, path)) {
            heldAsleep.incrementAndGet();
            sim.stateChanged();
            try {
                sleep.awaitAwake(sim::isClosed);
            } finally {
                heldAsleep.decrementAndGet();
                sim.stateChanged();
            }
        }
        if (path.equals("/server_info")) {
            if (requireMethod(ex, method, "GET")) {
                SimulatedVllm.sendJson(ex, 200, "{\"vllm_config\":" + Json.quote(sim.config().toString()) + "}");
            }
            return true;
        }
        return responses.handle(ex, method, path) || audio.handle(ex, method, path);
    }

    int heldAsleep() {
        return heldAsleep.get();
    }

    int sleepLevel() {
        return sleep.level();
    }

    /** The sleep-state series, for {@code /metrics}. */
    void sleepMetrics(SimMetrics m) {
        m.sleepState(sleep.level());
    }

    private static boolean generates(String method, String path) {
        return method.equals("POST") && (path.equals("/v1/chat/completions") || path.equals("/v1/completions")
                || path.equals("/v1/embeddings") || path.equals("/v1/responses") || path.startsWith("/v1/audio/"));
    }

    /** FastAPI's 405 (with {@code Allow}) unless {@code method} is {@code expected}. */
    static boolean requireMethod(HttpExchange ex, String method, String expected) throws IOException {
        if (method.equals(expected)) {
            return true;
        }
        ex.getResponseHeaders().set("Allow", expected);
        SimulatedVllm.sendJson(ex, 405, "{\"detail\":\"Method Not Allowed\"}");
        return false;
    }

    /** The first value of query parameter {@code name}, decoded, or null. */
    static String queryParam(HttpExchange ex, String name) {
        String q = ex.getRequestURI().getRawQuery();
        if (q == null) {
            return null;
        }
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            if (k.equals(name)) {
                return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** The request body as a JSON object, or null after answering vLLM's 400 for one that is not. */
    static JsonNode jsonBody(HttpExchange ex) throws IOException {
        JsonNode n;
        try {
            n = MAPPER.readTree(ex.getRequestBody().readAllBytes());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            n = null;
        }
        if (n == null || !n.isObject()) {
            SimulatedVllm.sendJson(ex, 400, Json.error("Request body: expected a JSON object", "BadRequestError", null, 400));
            return null;
        }
        return n;
    }

    /** vLLM's 404 for a model the server does not serve. */
    static void modelNotFound(HttpExchange ex, String model) throws IOException {
        SimulatedVllm.sendJson(ex, 404, Json.error("The model `" + model + "` does not exist.", "NotFoundError", "model", 404));
    }
}
