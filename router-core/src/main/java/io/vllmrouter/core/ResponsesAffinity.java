package io.vllmrouter.core;

import io.vllmrouter.api.time.Ticker;
import io.vllmrouter.core.config.RouterConfig;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

/**
 * Which server holds each Responses API object: vLLM keeps a stored response (and its input
 * messages) in the memory of the server process that created it, so a follow-up sent anywhere else
 * is answered 404. Learned from the answers that create responses ({@link ResponseIdTap}) and from
 * lookups that found one ({@link ResponsesRoute}).
 *
 * <pre>{@code
 * affinity.learned("resp_5d1f...", "http://gpu-2:8000");
 * affinity.serverOf("resp_5d1f...");     // "http://gpu-2:8000" for responses_affinity_ttl
 * }</pre>
 *
 * <p>Bounded twice, by the configuration in force: at most {@code responses_affinity_max} ids (the
 * oldest learned are forgotten first) and each for {@code responses_affinity_ttl}. A forgotten id is
 * not lost: its follow-up is looked up on the candidate servers in turn.
 *
 * <p>Thread-safe without a lock of its own: request threads read, transport threads learn.
 */
final class ResponsesAffinity {

    private record Entry(String id, String server, long expiresAtNanos) {
    }

    private final Ticker ticker;
    private final Supplier<RouterConfig> config;
    private final ConcurrentHashMap<String, Entry> byId = new ConcurrentHashMap<>();
    /** Entries in the order learned, for eviction; an entry replaced in the map is skipped when it comes up. */
    private final ConcurrentLinkedQueue<Entry> order = new ConcurrentLinkedQueue<>();

    ResponsesAffinity(Ticker ticker, Supplier<RouterConfig> config) {
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.config = Objects.requireNonNull(config, "config");
    }

    /** The id of the server that holds response {@code id}, or null when not known (or no longer). */
    String serverOf(String id) {
        Entry e = byId.get(id);
        if (e == null) {
            return null;
        }
        if (ticker.nanoTime() - e.expiresAtNanos > 0) {
            byId.remove(id, e);
            return null;
        }
        return e.server;
    }

    /** Response {@code id} lives on {@code server}; older ids go once over the limits. */
    void learned(String id, String server) {
        RouterConfig c = config.get();
        int max = c.responsesAffinityMax();
        if (max == 0) {
            return;
        }
        long now = ticker.nanoTime();
        Entry e = new Entry(id, server, now + c.responsesAffinityTtl().toNanos());
        byId.put(id, e);
        order.add(e);
        Entry oldest;
        while ((oldest = order.peek()) != null && (byId.size() > max || now - oldest.expiresAtNanos > 0
                || byId.get(oldest.id) != oldest)) {
            if (order.remove(oldest)) {
                byId.remove(oldest.id, oldest);
            }
        }
    }

    /** Ids remembered now (expired ones not yet dropped included). */
    int size() {
        return byId.size();
    }
}
