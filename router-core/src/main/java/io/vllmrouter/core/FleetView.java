package io.vllmrouter.core;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.ModelInfo;
import io.vllmrouter.api.RouterStats;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Read-only views of the fleet for the public API: the model catalogue ({@code /v1/models}) and the
 * {@code /load-stats} figures. Built from one published {@link Snapshot} plus the backends' live
 * counters, never from {@link Fleet}'s context state, so any thread may call them without a lock.
 */
final class FleetView {

    /** Fleet's logger: the fleet's messages keep one name for operators' logging settings. */
    private static final System.Logger LOG = System.getLogger(Fleet.class.getName());

    private FleetView() {
    }

    /** Admitted backends' models, each id once, the first backend's entry kept. */
    static List<ModelInfo> models(Snapshot snapshot) {
        Map<String, ModelInfo> out = new LinkedHashMap<>();
        for (Backend b : snapshot.admitted) {
            for (ModelInfo m : b.modelInfos()) {
                out.putIfAbsent(m.id(), m);
            }
        }
        return List.copyOf(out.values());
    }

    /**
     * Every configured backend, then the draining ones that still have requests in flight, with the
     * fleet's totals and the strategy's own figures (empty when it fails to give them).
     */
    static RouterStats stats(Snapshot s, List<Backend> draining, Instant configLoadedAt, Instant now) {
        List<BackendStats> servers = new ArrayList<>(s.total + draining.size());
        int healthy = 0;
        long load = 0;
        long capacity = 0;
        for (Backend b : s.all) {
            BackendStats bs = b.stats();
            servers.add(bs);
            healthy += bs.status() ? 1 : 0;
            load += bs.currentLoad();
            capacity += bs.maxCapacity();
        }
        for (Backend b : draining) {
            if (b.inFlight() > 0) {
                servers.add(b.stats());
            }
        }
        double util = capacity == 0 ? 0.0 : Backend.round1(100.0 * load / capacity);
        Map<String, Long> strategyStats;
        try {
            strategyStats = s.settings.strategy() == null ? Map.of() : s.settings.strategy().stats();
            Map<String, Long> more = s.settings.prompts().stats();
            long failures = Snapshot.STRATEGY_FAILURES.sum();
            if (!more.isEmpty() || failures > 0) {
                strategyStats = new java.util.LinkedHashMap<>(strategyStats);
                strategyStats.putAll(more);
                if (failures > 0) {
                    strategyStats.put("strategy_failures", failures);
                }
            }
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "strategy " + s.settings.strategyName() + " failed to report its figures", e);
            strategyStats = Map.of();
        }
        return new RouterStats(servers, new RouterStats.Summary(s.total, healthy, load, capacity, util),
                s.settings.strategyName(), configLoadedAt, now, strategyStats);
    }
}
