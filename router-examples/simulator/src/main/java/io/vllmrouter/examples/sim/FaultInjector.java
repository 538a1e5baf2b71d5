package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;

/**
 * The {@link Faults} in force and what they do to a request before any work: an injected 500 or
 * 503 ({@link #injectError}), a request held open until the simulator closes ({@link #hang}, and
 * {@link #stall} for a stream, which gets its headers first), and {@code GET|POST /sim/faults},
 * which reads or replaces them. Stream faults (cuts, in-band errors) are {@link SseAnswer}'s, which
 * reads the faults in force when an answer starts.
 *
 * <p>Threads: any handler thread; the faults are replaced atomically and apply to requests that
 * arrive from then on. The draws for injected errors are seeded ({@link SimConfig#seed()}).
 */
final class FaultInjector {

    private final SplittableRandom random;
    private final Runnable holdsChanged;
    private final ConcurrentHashMap<String, Integer> hanging = new ConcurrentHashMap<>();
    private final CountDownLatch released = new CountDownLatch(1);
    private volatile Faults faults;

    /** @param holdsChanged called when a request is put on hold or let go (the simulator's state changed) */
    FaultInjector(SimConfig config, Runnable holdsChanged) {
        this.faults = config.faults();
        this.random = new SplittableRandom(config.seed() ^ 0x5DEECE66DL);
        this.holdsChanged = holdsChanged;
    }

    Faults faults() {
        return faults;
    }

    void faults(Faults faults) {
        this.faults = Objects.requireNonNull(faults, "faults");
    }

    /** Requests to {@code path} held open by {@link #hang} now. */
    int hanging(String path) {
        return hanging.getOrDefault(path, 0);
    }

    /** Whether this request draws an injected error (and sends it). */
    boolean injectError(HttpExchange ex) throws IOException {
        double rate = faults.errorRate();
        if (rate <= 0) {
            return false;
        }
        boolean fail;
        boolean unavailable;
        synchronized (random) {
            fail = random.nextDouble() < rate;
            unavailable = random.nextBoolean();
        }
        if (!fail) {
            return false;
        }
        if (unavailable) {
            SimHttp.sendJson(ex, 503, Json.error("Simulated fault: service unavailable", "ServiceUnavailableError", null, 503));
        } else {
            SimHttp.sendJson(ex, 500, Json.error("Simulated fault: internal server error", "InternalServerError", null, 500));
        }
        return true;
    }

    /** Holds the calling handler thread, a request to {@code path}, until {@link #releaseAll}. */
    void hang(String path) {
        hanging.merge(path, 1, Integer::sum);
        holdsChanged.run();
        try {
            released.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            hanging.merge(path, -1, (a, b) -> a + b == 0 ? null : a + b);
        }
    }

    /** The {@link Faults#stall()} fault: a stream gets its headers, then, like any request, nothing. */
    void stall(HttpExchange ex, boolean stream, String path) throws IOException {
        if (stream) {
            SimHttp.sseHeaders(ex);
        }
        hang(path);
    }

    /** Lets every held request go, for good (the simulator is closing). */
    void releaseAll() {
        released.countDown();
    }

    /** {@code GET /sim/faults} answers the faults in force; {@code POST} replaces them first. */
    void handle(HttpExchange ex, String method) throws IOException {
        if (method.equals("POST")) {
            JsonNode n = SimHttp.readJson(ex);
            try {
                faults(new Faults(n.path("error_rate").asDouble(0), n.path("hang").asBoolean(false),
                        n.path("reset_after_events").asInt(0), n.path("stall").asBoolean(false),
                        n.path("error_after_events").asInt(0), n.path("reset_after_done").asBoolean(false)));
            } catch (IllegalArgumentException e) {
                throw SimHttp.BadRequest.of(e.getMessage());
            }
        } else if (!method.equals("GET")) {
            SimHttp.requireMethod(ex, method, "POST");
            return;
        }
        SimHttp.sendJson(ex, 200, faults.toJson());
    }
}
