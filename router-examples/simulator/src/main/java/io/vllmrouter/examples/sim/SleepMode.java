package io.vllmrouter.examples.sim;

import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.BooleanSupplier;

/**
 * vLLM's sleep mode ({@code --enable-sleep-mode}, served with {@code VLLM_SERVER_DEV_MODE=1}):
 * {@code POST /sleep?level=1|2}, {@code POST /wake_up}, {@code GET /is_sleeping}, and the
 * {@code vllm:engine_sleep_state} series of {@code /metrics}.
 *
 * <p>While asleep the server keeps answering {@code /health}, {@code /metrics} and the other
 * reads, but generation requests that arrive wait, unscheduled, until it wakes (as vLLM's paused
 * scheduler holds them); requests already running when it fell asleep finish (vLLM's
 * {@code mode=wait}).
 *
 * <p>Thread-safe.
 */
final class SleepMode {

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition woken = lock.newCondition();
    /** 0 awake, else the sleep level. */
    private volatile int level;

    /** 0 when awake, else the level it sleeps at (1: weights offloaded, 2: everything discarded). */
    int level() {
        return level;
    }

    void sleep(int newLevel) {
        level = newLevel;
    }

    void wake() {
        lock.lock();
        try {
            level = 0;
            woken.signalAll();
        } finally {
            lock.unlock();
        }
    }

    /** Blocks the calling request while the server sleeps; returns once awake or {@code closed}. */
    void awaitAwake(BooleanSupplier closed) {
        lock.lock();
        try {
            while (level != 0 && !closed.getAsBoolean()) {
                woken.await(50, TimeUnit.MILLISECONDS);    // also sees the simulator closing
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            lock.unlock();
        }
    }

    /** Serves {@code /sleep}, {@code /wake_up} and {@code /is_sleeping}; false for other paths. */
    boolean handle(HttpExchange ex, String method, String path) throws IOException {
        switch (path) {
            case "/sleep" -> {
                if (SimHttp.requireMethod(ex, method, "POST")) {
                    String raw = SimHttp.queryParam(ex, "level");
                    int l;
                    try {
                        l = raw == null ? 1 : Integer.parseInt(raw);
                    } catch (NumberFormatException e) {
                        l = -1;
                    }
                    if (l != 1 && l != 2) {
                        SimHttp.sendJson(ex, 400, Json.error("level: " + raw + " (expected: 1 or 2)",
                                "BadRequestError", "level", 400));
                    } else {
                        sleep(l);
                        ex.sendResponseHeaders(200, -1);
                    }
                }
                return true;
            }
            case "/wake_up" -> {
                if (SimHttp.requireMethod(ex, method, "POST")) {
                    wake();
                    ex.sendResponseHeaders(200, -1);
                }
                return true;
            }
            case "/is_sleeping" -> {
                if (SimHttp.requireMethod(ex, method, "GET")) {
                    SimHttp.sendJson(ex, 200, "{\"is_sleeping\":" + (level != 0) + "}");
                }
                return true;
            }
            default -> {
                return false;
            }
        }
    }
}
