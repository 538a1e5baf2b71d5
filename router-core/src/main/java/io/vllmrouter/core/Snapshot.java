package io.vllmrouter.core;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * An immutable view of the fleet for the request path: per model, the admitted backends serving
 * it, as prebuilt immutable {@link java.util.RandomAccess} lists in configuration order. Built on
 * the router's serialized state path whenever health, breaker state, models or configuration
 * change; {@code route()} reads the current one once.
 *
 * <p>A backend whose model list is not known yet serves any model: it is in every model's list and
 * in {@link #candidates} for models no backend names.
 */
final class Snapshot {

    static final Snapshot EMPTY = new Snapshot(List.of());

    final List<Backend> all;
    final List<Backend> admitted;
    private final Map<String, List<Backend>> byModel;
    private final List<Backend> admittedUnknown;
    /** Models named by any configured backend, admitted or not, sorted, for 404 messages. */
    final Set<String> knownModels;
    private final boolean anyUnknown;
    final int total;
    final int healthy;
    final int open;

    Snapshot(List<Backend> backends) {
        this.all = List.copyOf(backends);
        List<Backend> adm = new ArrayList<>();
        List<Backend> unknownAdm = new ArrayList<>();
        Map<String, List<Backend>> models = new LinkedHashMap<>();
        Set<String> known = new TreeSet<>();
        boolean unknown = false;
        int healthyCount = 0;
        int openCount = 0;
        for (Backend b : all) {
            boolean isHealthy = b.health.healthy();
            boolean breakerOk = Backend.breakerAdmits(b.breaker());
            healthyCount += isHealthy ? 1 : 0;
            openCount += breakerOk ? 0 : 1;
            List<String> served = b.models();
            if (served.isEmpty()) {
                unknown = true;
            } else {
                known.addAll(served);
            }
            if (isHealthy && breakerOk) {
                adm.add(b);
                if (served.isEmpty()) {
                    unknownAdm.add(b);
                }
            }
        }
        for (String m : known) {
            models.put(m, new ArrayList<>());
        }
        for (Backend b : adm) {
            List<String> served = b.models();
            if (served.isEmpty()) {
                models.values().forEach(l -> l.add(b));
            } else {
                for (String m : served) {
                    models.get(m).add(b);
                }
            }
        }
        Map<String, List<Backend>> frozen = new HashMap<>();
        models.forEach((k, v) -> frozen.put(k, List.copyOf(v)));
        this.byModel = Collections.unmodifiableMap(frozen);
        this.admitted = List.copyOf(adm);
        this.admittedUnknown = List.copyOf(unknownAdm);
        this.knownModels = Collections.unmodifiableSet(known);
        this.anyUnknown = unknown;
        this.total = all.size();
        this.healthy = healthyCount;
        this.open = openCount;
    }

    /** Admitted backends that may serve {@code model} (null: any model), possibly empty. Allocates nothing. */
    List<Backend> candidates(String model) {
        if (model == null) {
            return admitted;
        }
        List<Backend> l = byModel.get(model);
        return l != null ? l : admittedUnknown;
    }

    /** Whether some configured backend (admitted or not) may serve {@code model}. */
    boolean served(String model) {
        if (model == null || anyUnknown) {
            return total > 0;
        }
        return knownModels.contains(model);
    }
}
