package io.vllmrouter.core;

import io.vllmrouter.api.time.Ticker;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * Which backends make up the fleet, from one configuration to the next. Servers are matched by id
 * (their URL): a new server gets a new {@link Backend}; one that stays keeps its backend (counters,
 * load, health, breaker unless its settings changed) and takes its new settings; one the
 * configuration dropped is draining: it gets no new requests and is shown in stats until its
 * requests in flight have finished; one that comes back while still draining is taken back as it
 * was.
 *
 * <p>Threads: {@link #reconcile} and {@link #releaseIdle} run in the fleet's serial context only;
 * {@link #draining} may be read from any thread.
 */
final class FleetMembers {

    /**
     * The backends of a configuration, in its order, and those to ask at once for their models (and
     * their health, when never checked): the new ones, and those whose configured models were removed.
     */
    record Change(List<Backend> backends, List<Backend> probeNow) {
    }

    private final Ticker ticker;
    /** Backends removed by a reload that still had requests in flight, shown in stats until idle. */
    private final List<Backend> draining = new CopyOnWriteArrayList<>();

    FleetMembers(Ticker ticker) {
        this.ticker = ticker;
    }

    /**
     * Matches {@code c}'s servers with the {@code current} backends and applies their settings.
     *
     * @param newBreakers the breaker settings changed: every backend gets a new breaker
     * @param breakerFor  makes a backend's breaker with the settings in force
     */
    Change reconcile(List<Backend> current, RouterConfig c, boolean newBreakers, Function<Backend, Breaker> breakerFor) {
        long staleAfter = c.metricsInterval().toNanos() * c.metricsStaleAfter();
        Map<String, Backend> byId = new HashMap<>();
        for (Backend b : current) {
            byId.put(b.id(), b);
        }
        List<Backend> next = new ArrayList<>(c.servers().size());
        List<Backend> probeNow = new ArrayList<>();
        for (int i = 0; i < c.servers().size(); i++) {
            ServerConfig sc = c.servers().get(i);
            Backend b = byId.remove(sc.id());
            if (b == null) {
                b = revive(sc.id());
            }
            if (b == null) {
                b = new Backend(sc, i, ticker, staleAfter);
                b.admission.breaker(breakerFor.apply(b));
                b.configuredModels(sc);
                probeNow.add(b);
            } else {
                boolean modelsChanged = !b.config().models().equals(sc.models());
                b.config(sc, i);
                if (newBreakers || b.admission.breaker() == null) {
                    b.admission.breaker(breakerFor.apply(b));
                }
                if (modelsChanged) {
                    b.configuredModels(sc);
                    if (sc.models().isEmpty()) {
                        probeNow.add(b);
                    }
                }
            }
            b.load.staleAfterNanos(staleAfter);
            b.speedEstimate.halfLifeNanos(c.speedHalfLife().toNanos());
            if (!c.enableActiveHealthCheck()) {
                b.admission.health.reset();
            }
            next.add(b);
        }
        for (Backend gone : byId.values()) {
            gone.admission.draining(true);
            if (gone.inFlight() > 0) {
                draining.add(gone);
            }
        }
        return new Change(next, probeNow);
    }

    private Backend revive(String id) {
        for (Backend b : draining) {
            if (b.id().equals(id)) {
                draining.remove(b);
                b.admission.draining(false);
                return b;
            }
        }
        return null;
    }

    /** Lets go of the draining backends whose requests have all finished. */
    void releaseIdle() {
        draining.removeIf(b -> b.inFlight() == 0);
    }

    /** The removed backends still finishing requests. Any thread. */
    List<Backend> draining() {
        return draining;
    }
}
