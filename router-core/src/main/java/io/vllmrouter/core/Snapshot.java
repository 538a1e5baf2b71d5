package io.vllmrouter.core;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.retry.Retry;
import io.vllmrouter.api.NoBackendForModelException;
import io.vllmrouter.api.NoHealthyBackendException;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.api.time.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The picker: an immutable view of the fleet for the request path — per model, the admitted
 * backends (healthy, breaker not open, not asleep) serving it, as prebuilt immutable {@link java.util.RandomAccess} lists in configuration
 * order — with the strategy and the request settings in force. Built in the fleet's serial context
 * whenever health, breaker state, models or configuration change, and published as a whole;
 * a request reads the current one once per attempt.
 *
 * <p>A backend whose model list is not known yet serves any model: it is in every model's list and
 * in {@link #candidates} for models no backend names.
 */
final class Snapshot {

    private static final System.Logger LOG = System.getLogger(Snapshot.class.getName());

    /** The strategy and request settings of the running configuration: they change only with it. */
    record Settings(BalancingStrategy strategy, String strategyName, Retry retry, Duration requestTimeout,
                    int retryAfterSeconds, String sessionHeader, Statuses retryOnStatus,
                    Duration firstByteTimeout, boolean streamFailover, int streamFailoverMax,
                    double maxInFlightFactor, int maxQueue, Duration queueTimeout,
                    PromptServices.Active prompts, io.vllmrouter.core.config.TtftSlo ttftSlo) {
    }

    /** A set of HTTP statuses asked once per answer: a bit per status, no boxing, no hashing. */
    static final class Statuses {
        private final java.util.BitSet bits = new java.util.BitSet(600);

        Statuses(java.util.Collection<Integer> statuses) {
            for (int s : statuses) {
                if (s >= 0) {
                    bits.set(s);
                }
            }
        }

        boolean contains(int status) {
            return status >= 0 && bits.get(status);
        }
    }

    final Settings settings;

    final List<Backend> all;
    final List<Backend> admitted;
    /** Admitted, or admitted but for being asleep: the candidates of the sleep-mode endpoints. */
    private final List<Backend> admittedAsleepToo;
    /** vLLM's sleep-mode endpoints, which reach a server whatever its sleep state. */
    static final Set<String> SLEEP_PATHS = Set.of("/sleep", "/wake_up", "/is_sleeping");
    private final Map<String, List<Backend>> byModel;
    private final List<Backend> admittedUnknown;
    /** Models named by any configured backend, admitted or not, sorted, for 404 messages. */
    final Set<String> knownModels;
    private final boolean anyUnknown;
    final int total;
    final int healthy;
    final int open;

    Snapshot(List<Backend> backends, Settings settings) {
        this.settings = settings;
        this.all = List.copyOf(backends);
        List<Backend> adm = new ArrayList<>();
        List<Backend> sleepAdm = new ArrayList<>();
        List<Backend> unknownAdm = new ArrayList<>();
        Map<String, List<Backend>> models = new LinkedHashMap<>();
        Set<String> known = new TreeSet<>();
        boolean unknown = false;
        int healthyCount = 0;
        int openCount = 0;
        for (Backend b : all) {
            boolean isHealthy = b.admission.health.healthy();
            boolean breakerOk = b.admission.breakerAdmits();
            healthyCount += isHealthy ? 1 : 0;
            openCount += breakerOk ? 0 : 1;
            List<String> served = b.models();
            if (served.isEmpty()) {
                unknown = true;
            } else {
                known.addAll(served);
            }
            if (isHealthy && breakerOk) {
                sleepAdm.add(b);
            }
            if (isHealthy && breakerOk && !b.admission.sleep().asleep()) {
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
        this.admittedAsleepToo = List.copyOf(sleepAdm);
        this.admittedUnknown = List.copyOf(unknownAdm);
        this.knownModels = Collections.unmodifiableSet(known);
        this.anyUnknown = unknown;
        this.total = all.size();
        this.healthy = healthyCount;
        this.open = openCount;
    }

    /**
     * The candidates for a request to {@code path}: for vLLM's sleep-mode endpoints
     * ({@link #SLEEP_PATHS}) every backend admitted but for being asleep (a sleeping server must
     * still be asked whether it sleeps, and woken), else {@link #candidates(String)}.
     */
    List<Backend> candidates(String model, String path) {
        return sleepPath(path) ? admittedAsleepToo : candidates(model);
    }

    /** Whether {@code path} (query and all) is one of vLLM's sleep-mode endpoints. */
    static boolean sleepPath(String path) {
        if (path == null || path.startsWith("/v1/")) {
            return false;       // every generation request: no further look
        }
        int q = path.indexOf('?');
        return SLEEP_PATHS.contains(q < 0 ? path : path.substring(0, q));
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

    /** The same backends, rebuilt after a change of admission or models. */
    Snapshot rebuilt() {
        return new Snapshot(all, settings);
    }

    /**
     * Lets the strategy pick among {@code candidates} and asks only the chosen backend's breaker for
     * permission; a denied backend is dropped and the strategy picks again among the rest. Called
     * on request threads; takes no lock.
     *
     * @param random the tie-breaking source handed to the strategy
     * @return the started attempt (its in-flight slot taken), or null when no backend could be had
     * @throws IllegalStateException when the strategy returns a backend not among the candidates
     */
    Attempt pick(List<Backend> candidates, RequestInfo info, int attempt, java.util.random.RandomGenerator random,
                 Ticker ticker) {
        BalancingStrategy s = settings.strategy();
        RouteContext ctx = new RequestContext(info, attempt, random, settings.prompts().index());
        List<Backend> pool = candidates;
        while (!pool.isEmpty()) {
            BackendView v;
            try {
                v = s.pick(pool, ctx);
            } catch (RuntimeException e) {
                v = leastLoadedAfter(e, pool);
            }
            if (v == null) {
                return null;
            }
            if (!(v instanceof Backend b) || !pool.contains(b)) {
                throw new IllegalStateException("strategy " + settings.strategyName() + " returned " + v
                        + ", which is not one of the candidates");
            }
            Breaker cb = b.admission.breaker();
            if (cb == null || cb.tryAcquire()) {
                return new Attempt(b, cb, ticker);
            }
            List<Backend> rest = new ArrayList<>(pool.size() - 1);
            for (Backend x : pool) {
                if (x != b) {
                    rest.add(x);
                }
            }
            pool = rest;
        }
        return null;
    }

    /** Whether a strategy's failure has been logged: the first one is, with its stack, the rest are counted. */
    private static final java.util.concurrent.atomic.AtomicBoolean STRATEGY_FAILURE_LOGGED =
            new java.util.concurrent.atomic.AtomicBoolean();
    /**
     * Picks a strategy failed on in this JVM ({@code strategy_failures} in the strategy's figures
     * once there is one): a plug-in's bug costs routing quality, never the request.
     */
    static final java.util.concurrent.atomic.LongAdder STRATEGY_FAILURES = new java.util.concurrent.atomic.LongAdder();

    /**
     * The pick of a strategy that threw: the least loaded of {@code pool} (outstanding requests per
     * slot). The first failure is logged with its stack trace, for the strategy's author.
     */
    private BackendView leastLoadedAfter(RuntimeException e, List<Backend> pool) {
        STRATEGY_FAILURES.increment();
        if (STRATEGY_FAILURE_LOGGED.compareAndSet(false, true)) {
            LOG.log(System.Logger.Level.WARNING, "strategy " + settings.strategyName() + " failed on a pick ("
                    + e.getMessage() + "); such requests go to the least loaded candidate, and later failures "
                    + "are not logged", e);
        }
        Backend best = null;
        double bestLoad = Double.POSITIVE_INFINITY;
        for (Backend b : pool) {
            double load = b.outstanding() / Math.max(1, b.capacity());
            if (best == null || load < bestLoad) {
                best = b;
                bestLoad = load;
            }
        }
        return best;
    }

    /** The error for "no backend could be had": 404 when nothing serves the model, else 503. */
    RouterException unavailable(String model) {
        if (model != null && !served(model)) {
            return new NoBackendForModelException(model, knownModels, total, healthy, open);
        }
        return new NoHealthyBackendException(model, total, healthy, open, settings.retryAfterSeconds());
    }
}
