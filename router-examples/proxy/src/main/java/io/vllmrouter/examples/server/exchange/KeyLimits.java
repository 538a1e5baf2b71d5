package io.vllmrouter.examples.server.exchange;

import io.vllmrouter.api.time.Ticker;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The {@code [auth]} limits of each client key: requests per minute (a token bucket holding up to a
 * minute's worth, refilled continuously) and requests in flight. One small state per key in a
 * concurrent map, each guarded by its own lock: no lock is shared between keys. Keys are known
 * (configured) keys' digests, so the map never grows beyond the key list. Thread-safe.
 */
public final class KeyLimits {

    private final ConcurrentHashMap<String, State> keys = new ConcurrentHashMap<>();
    private final Ticker ticker;

    public KeyLimits(Ticker ticker) {
        this.ticker = ticker;
    }

    private static final class State {
        final AtomicInteger inFlight = new AtomicInteger();
        double tokens = -1; // -1: not yet filled
        long lastNanos;
    }

    /**
     * Takes one request of {@code key}'s allowance.
     *
     * @return 0 when admitted (call {@link #release} when it ends if {@code maxConcurrent > 0}),
     *         else the seconds after which to try again (at least 1)
     */
    int acquire(String key, int requestsPerMinute, int maxConcurrent) {
        State s = keys.computeIfAbsent(key, k -> new State());
        if (maxConcurrent > 0 && s.inFlight.incrementAndGet() > maxConcurrent) {
            s.inFlight.decrementAndGet();
            return 1;
        }
        if (requestsPerMinute > 0) {
            int wait = take(s, requestsPerMinute);
            if (wait > 0) {
                if (maxConcurrent > 0) {
                    s.inFlight.decrementAndGet();
                }
                return wait;
            }
        }
        return 0;
    }

    /** Ends a request admitted with {@code maxConcurrent > 0}. */
    void release(String key) {
        State s = keys.get(key);
        if (s != null) {
            s.inFlight.decrementAndGet();
        }
    }

    private int take(State s, int perMinute) {
        long now = ticker.nanoTime();
        double perNano = perMinute / 60e9;
        synchronized (s) {
            if (s.tokens < 0) {
                s.tokens = perMinute;
            } else {
                s.tokens = Math.min(perMinute, s.tokens + (now - s.lastNanos) * perNano);
            }
            s.lastNanos = now;
            if (s.tokens >= 1) {
                s.tokens -= 1;
                return 0;
            }
            return (int) Math.max(1, Math.ceil((1 - s.tokens) / perNano / 1e9));
        }
    }
}
