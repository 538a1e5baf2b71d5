package io.vllmrouter.examples.sim;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;

/**
 * The simulator's endpoints beyond completions, each kept in its own class and reached through
 * {@link #handle}, which {@link SimulatedVllm} asks first: {@link SleepMode} (also holding
 * generation requests while asleep), {@link ResponsesEndpoint} (the Responses API and its
 * per-server store), {@link AudioEndpoint} (transcription and translation uploads), and
 * {@code GET /server_info} ({@code {"vllm_config": "..."}}, the configuration as text).
 */
final class SimEndpoints {

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
            if (SimHttp.requireMethod(ex, method, "GET")) {
                SimHttp.sendJson(ex, 200, "{\"vllm_config\":" + Json.quote(sim.config().toString()) + "}");
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

    private static boolean generates(String method, String path) {
        return method.equals("POST") && (path.equals("/v1/chat/completions") || path.equals("/v1/completions")
                || path.equals("/v1/embeddings") || path.equals("/v1/responses") || path.startsWith("/v1/audio/"));
    }
}
