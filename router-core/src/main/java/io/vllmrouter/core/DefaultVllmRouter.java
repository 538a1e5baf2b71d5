package io.vllmrouter.core;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.vllmrouter.api.BackendLease;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.NoBackendForModelException;
import io.vllmrouter.api.NoHealthyBackendException;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.api.spi.RouteContext;
import io.vllmrouter.core.config.ConfigWatcher;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.strategy.StrategyRegistry;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.ModelInfo;
import io.vllmrouter.core.time.Scheduler;
import io.vllmrouter.core.time.Ticker;
import java.lang.System.Logger.Level;
import java.net.http.HttpClient;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.Supplier;
import java.util.random.RandomGenerator;

/**
 * The router: holds the fleet's state, publishes immutable {@link Snapshot}s for the request path,
 * forwards requests ({@link Exchange}) and runs the background work (health checks, scrapes,
 * model refreshes). Built by {@link VllmRouters}:
 *
 * <pre>{@code
 * DefaultVllmRouter router = VllmRouters.builder().config(config).build();
 * try (RouterResponse r = router.route(RouterRequest.post("/v1/completions", body).build())) {
 *     r.body().transferTo(out);
 * }
 * }</pre>
 *
 * <p>State changes (health verdicts, breaker transitions, model lists, reconfiguration) run under
 * one state lock and end by publishing a new snapshot; {@code route()} and {@code choose()} read
 * the published snapshot once and never take that lock. Thread-safe.
 */
public final class DefaultVllmRouter implements VllmRouter {

    private static final System.Logger LOG = System.getLogger(DefaultVllmRouter.class.getName());
    /** Breakers judge failures only: a long generation is not a slow call. */
    private static final Duration NEVER_SLOW = Duration.ofDays(3650);

    private final Ticker ticker;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final RandomGenerator random;
    private final HttpClient http;
    private final BackendProbe probe;
    private final RouterListener listener;
    private final BalancingStrategy strategyOverride;
    private final Runnable onClose;

    private final Object stateLock = new Object();
    private volatile RouterConfig config;
    private volatile BalancingStrategy strategy;
    private volatile String strategyName;
    private volatile Retry retry;
    private volatile CircuitBreakerConfig breakerConfig;
    private volatile Snapshot snapshot = Snapshot.EMPTY;
    private volatile Instant configLoadedAt;
    private final List<Backend> draining = new CopyOnWriteArrayList<>();
    private Scheduler.Cancellable healthTask;
    private Scheduler.Cancellable scrapeTask;
    private Scheduler.Cancellable modelsTask;
    private volatile boolean closed;
    private volatile ConfigWatcher configWatcher;

    DefaultVllmRouter(RouterConfig config, Ticker ticker, Scheduler scheduler, boolean ownsScheduler,
                      RandomGenerator random, HttpClient http, BackendProbe probe, RouterListener listener,
                      BalancingStrategy strategyOverride, Runnable onClose) {
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.ownsScheduler = ownsScheduler;
        this.random = random;
        this.http = Objects.requireNonNull(http, "httpClient");
        this.probe = Objects.requireNonNull(probe, "probe");
        this.listener = new SafeListener(listener == null ? new RouterListener() { } : listener);
        this.strategyOverride = strategyOverride;
        this.onClose = onClose == null ? () -> { } : onClose;
        apply(Objects.requireNonNull(config, "config"), true);
    }

    // ---- accessors for Exchange ---------------------------------------------------------------

    Ticker ticker() { return ticker; }
    Scheduler scheduler() { return scheduler; }
    HttpClient http() { return http; }
    RouterListener listener() { return listener; }
    Snapshot snapshot() { return snapshot; }

    void configWatcher(ConfigWatcher watcher) {
        this.configWatcher = watcher;
    }

    /**
     * Re-reads the configuration file now, instead of at the next {@code config_reload_interval},
     * and applies it if it changed and is valid (for a host that watches the file itself).
     *
     * @return false when this router was not built from a file
     */
    public boolean reloadConfigFileNow() {
        ConfigWatcher w = configWatcher;
        if (w == null) {
            return false;
        }
        w.checkNow();
        return true;
    }

    /** The running configuration. */
    public RouterConfig config() {
        return config;
    }

    // ---- request path -------------------------------------------------------------------------

    @Override
    public RouterResponse route(RouterRequest request) {
        CompletableFuture<RouterResponse> f = routeAsync(request);
        try {
            return f.get();
        } catch (InterruptedException e) {
            f.cancel(true);
            Thread.currentThread().interrupt();
            Snapshot s = snapshot;
            throw new UpstreamException(null, 0, null, e, s.total, s.healthy, s.open);
        } catch (ExecutionException e) {
            Throwable cause = Exchange.unwrap(e);
            if (cause instanceof RouterException re) {
                throw re;
            }
            Snapshot s = snapshot;
            throw new UpstreamException(null, 0, null, cause, s.total, s.healthy, s.open);
        }
    }

    @Override
    public CompletableFuture<RouterResponse> routeAsync(RouterRequest request) {
        Objects.requireNonNull(request, "request");
        RequestInfo info;
        try {
            info = RequestInfo.of(request, config.sessionHeader());
        } catch (RouterException e) {
            return CompletableFuture.failedFuture(e);
        }
        RouterConfig c = config;
        Duration timeout = request.timeout() != null ? request.timeout() : c.requestTimeout();
        return new Exchange(this, request, info, requestId(request), timeout, retry).start();
    }

    @Override
    public BackendLease choose(RouterRequest request) {
        Objects.requireNonNull(request, "request");
        RequestInfo info = RequestInfo.of(request, config.sessionHeader());
        Snapshot snap = snapshot;
        List<Backend> candidates = snap.candidates(info.model());
        Attempt a = candidates.isEmpty() ? null : pick(candidates, info, 1);
        if (a == null) {
            throw unavailable(snap, info.model());
        }
        return new Lease(a, info, requestId(request), listener, ticker);
    }

    /**
     * Lets the strategy pick among {@code candidates} and asks only the chosen backend's breaker for
     * permission; a denied backend is dropped and the strategy picks again among the rest.
     *
     * @return the started attempt, or null when no backend could be had
     */
    Attempt pick(List<Backend> candidates, RequestInfo info, int attempt) {
        BalancingStrategy s = strategy;
        RouteContext ctx = new RequestContext(info, attempt, random != null ? random : ThreadLocalRandom.current());
        List<Backend> pool = candidates;
        while (!pool.isEmpty()) {
            BackendView v = s.pick(pool, ctx);
            if (v == null) {
                return null;
            }
            if (!(v instanceof Backend b) || !pool.contains(b)) {
                throw new IllegalStateException("strategy " + strategyName + " returned " + v
                        + ", which is not one of the candidates");
            }
            CircuitBreaker cb = b.breaker();
            if (cb == null || cb.tryAcquirePermission()) {
                return new Attempt(b, cb, ticker, () -> released(b));
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

    RouterException unavailable(Snapshot s, String model) {
        if (model != null && !s.served(model)) {
            return new NoBackendForModelException(model, s.knownModels, s.total, s.healthy, s.open);
        }
        long secs = Math.max(1, (config.healthCheckInterval().toMillis() + 999) / 1000);
        return new NoHealthyBackendException(model, s.total, s.healthy, s.open, (int) Math.min(Integer.MAX_VALUE, secs));
    }

    private static String requestId(RouterRequest r) {
        String id = r.requestId();
        return id != null ? id : "req-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    }

    /** An attempt gave back its slot: a draining backend leaves once idle. */
    private void released(Backend b) {
        if (b.draining() && b.inFlight() == 0) {
            draining.remove(b);
        }
    }

    // ---- catalog and stats --------------------------------------------------------------------

    /**
     * The models served by admitted backends, each id once, keeping the first backend's entry (in
     * configuration order): the body of {@code GET /v1/models}.
     */
    public List<ModelInfo> modelCatalog() {
        Map<String, ModelInfo> out = new LinkedHashMap<>();
        for (Backend b : snapshot.admitted) {
            for (ModelInfo m : b.modelInfos()) {
                out.putIfAbsent(m.id(), m);
            }
        }
        return List.copyOf(out.values());
    }

    @Override
    public RouterStats stats() {
        Snapshot s = snapshot;
        List<BackendStats> servers = new ArrayList<>(s.total + draining.size());
        int healthy = 0;
        long load = 0;
        long capacity = 0;
        for (Backend b : s.all) {
            BackendStats bs = b.stats(b.admitted());
            servers.add(bs);
            healthy += bs.status() ? 1 : 0;
            load += bs.currentLoad();
            capacity += bs.maxCapacity();
        }
        for (Backend b : draining) {
            if (b.inFlight() > 0) {
                servers.add(b.stats(false));
            }
        }
        double util = capacity == 0 ? 0.0 : Backend.round1(100.0 * load / capacity);
        Map<String, Long> strategyStats;
        try {
            strategyStats = strategy.stats();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "strategy " + strategyName + " failed to report its figures", e);
            strategyStats = Map.of();
        }
        return new RouterStats(servers, new RouterStats.Summary(s.total, healthy, load, capacity, util),
                strategyName, configLoadedAt, ticker.now(), strategyStats);
    }

    // ---- configuration ------------------------------------------------------------------------

    /**
     * Applies a new configuration: servers are matched by id (URL); added ones join and are checked
     * at once, removed ones get no new requests and finish their in-flight ones (shown as draining
     * in {@link #stats()}), changed capacity, api_key and models apply; changed intervals
     * reschedule the background work; changed breaker settings give every backend a new breaker.
     *
     * @throws IllegalArgumentException when the new strategy name is unknown; the old config stays
     */
    public void reconfigure(RouterConfig newConfig) {
        Objects.requireNonNull(newConfig, "newConfig");
        if (closed) {
            throw new IllegalStateException("router is closed");
        }
        try {
            apply(newConfig, false);
        } catch (RuntimeException e) {
            LOG.log(Level.ERROR, "configuration refused, the running one stays: {0}", e.getMessage());
            listener.onConfigReload(false, e.getMessage());
            throw e;
        }
        listener.onConfigReload(true, null);
    }

    private void apply(RouterConfig c, boolean initial) {
        synchronized (stateLock) {
            RouterConfig old = config;
            BalancingStrategy nextStrategy = strategy;
            String nextName = strategyName;
            if (strategyOverride != null) {
                nextStrategy = strategyOverride;
                nextName = strategyOverride.getClass().getSimpleName();
            } else if (initial || !c.strategy().equals(old.strategy())
                    || !c.strategySettings(c.strategy()).equals(old.strategySettings(c.strategy()))) {
                nextStrategy = StrategyRegistry.defaultRegistry().create(c.strategy(), c.strategySettings(c.strategy()));
                nextName = c.strategy();
            }
            boolean newBreakers = initial || breakerSettingsChanged(old, c);
            CircuitBreakerConfig cbc = newBreakers ? breakerConfig(c) : breakerConfig;
            long staleAfter = c.metricsInterval().toNanos() * c.metricsStaleAfter();

            Map<String, Backend> current = new HashMap<>();
            for (Backend b : snapshot.all) {
                current.put(b.id(), b);
            }
            List<Backend> next = new ArrayList<>(c.servers().size());
            List<Backend> added = new ArrayList<>();
            for (int i = 0; i < c.servers().size(); i++) {
                ServerConfig sc = c.servers().get(i);
                Backend b = current.remove(sc.id());
                if (b == null) {
                    b = revive(sc.id());
                }
                if (b == null) {
                    b = new Backend(sc, i, ticker, staleAfter);
                    b.breaker(newBreaker(b, cbc, c.circuitBreakerWait()));
                    setConfiguredModels(b, sc);
                    added.add(b);
                } else {
                    boolean modelsChanged = !b.config().models().equals(sc.models());
                    b.config(sc, i);
                    if (newBreakers || b.breaker() == null) {
                        b.breaker(newBreaker(b, cbc, c.circuitBreakerWait()));
                    }
                    if (modelsChanged) {
                        setConfiguredModels(b, sc);
                        if (sc.models().isEmpty()) {
                            added.add(b);
                        }
                    }
                }
                b.staleAfterNanos(staleAfter);
                if (!c.enableActiveHealthCheck()) {
                    b.health.reset();
                }
                next.add(b);
            }
            for (Backend gone : current.values()) {
                gone.draining(true);
                if (gone.inFlight() > 0) {
                    draining.add(gone);
                }
            }
            this.config = c;
            this.strategy = nextStrategy;
            this.strategyName = nextName;
            this.breakerConfig = cbc;
            this.retry = Retry.of("vllm-router", RetryConfig.custom()
                    .maxAttempts(c.maxRetries() + 1)
                    .intervalBiFunction((attempt, either) -> c.retryDelay().toMillis())
                    .build());
            this.configLoadedAt = ticker.now();
            this.snapshot = new Snapshot(next);
            try {
                nextStrategy.backendsChanged(List.copyOf(next));
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "strategy " + nextName + " failed to take the new backend list", e);
            }
            if (!closed) {
                reschedule(old, c, initial);
                for (Backend b : added) {
                    refreshModels(b);
                }
            }
        }
        if (!initial) {
            LOG.log(Level.INFO, "configuration applied: {0} servers, strategy {1}", c.servers().size(), strategyName);
        }
    }

    private Backend revive(String id) {
        for (Backend b : draining) {
            if (b.id().equals(id)) {
                draining.remove(b);
                b.draining(false);
                return b;
            }
        }
        return null;
    }

    private static void setConfiguredModels(Backend b, ServerConfig sc) {
        List<ModelInfo> infos = new ArrayList<>(sc.models().size());
        for (String m : sc.models()) {
            ObjectNode raw = RouterJson.mapper().createObjectNode();
            raw.put("id", m).put("object", "model").put("owned_by", "vllm");
            infos.add(new ModelInfo(m, raw));
        }
        b.models(sc.models(), infos);
    }

    private static boolean breakerSettingsChanged(RouterConfig a, RouterConfig b) {
        return a.circuitBreakerFailureRate() != b.circuitBreakerFailureRate()
                || a.circuitBreakerMinimumCalls() != b.circuitBreakerMinimumCalls()
                || a.circuitBreakerWindow() != b.circuitBreakerWindow()
                || !a.circuitBreakerWait().equals(b.circuitBreakerWait())
                || a.circuitBreakerHalfOpenCalls() != b.circuitBreakerHalfOpenCalls();
    }

    private CircuitBreakerConfig breakerConfig(RouterConfig c) {
        return CircuitBreakerConfig.custom()
                .slidingWindowType(CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .slidingWindowSize(c.circuitBreakerWindow())
                .minimumNumberOfCalls(c.circuitBreakerMinimumCalls())
                .failureRateThreshold((float) c.circuitBreakerFailureRate())
                .waitDurationInOpenState(c.circuitBreakerWait())
                .permittedNumberOfCallsInHalfOpenState(c.circuitBreakerHalfOpenCalls())
                .slowCallDurationThreshold(NEVER_SLOW)
                .recordException(t -> true)
                .clock(ticker.asClock())
                .build();
    }

    private CircuitBreaker newBreaker(Backend b, CircuitBreakerConfig cbc, Duration wait) {
        CircuitBreaker cb = CircuitBreaker.of(b.id(), cbc);
        cb.getEventPublisher().onStateTransition(e -> onBreakerTransition(b, cb, wait, e.getStateTransition()));
        return cb;
    }

    private void onBreakerTransition(Backend b, CircuitBreaker cb, Duration wait, CircuitBreaker.StateTransition t) {
        LOG.log(Level.INFO, "circuit breaker of {0}: {1} -> {2}", b.id(), t.getFromState(), t.getToState());
        if (t.getToState() == CircuitBreaker.State.OPEN) {
            // OPEN backends get no traffic, so nothing would ask the breaker to half-open: we do, on time.
            scheduler.schedule(() -> {
                if (b.breaker() == cb && cb.getState() == CircuitBreaker.State.OPEN) {
                    try {
                        cb.transitionToHalfOpenState();
                    } catch (RuntimeException e) {
                        LOG.log(Level.DEBUG, "breaker of " + b.id() + " moved on by itself", e);
                    }
                }
            }, wait);
        }
        republish();
        listener.onCircuitStateChange(b.id(), Backend.toCircuitState(t.getFromState()),
                Backend.toCircuitState(t.getToState()));
    }

    /** Rebuilds the snapshot from the current backends after a change of admission. */
    private void republish() {
        synchronized (stateLock) {
            snapshot = new Snapshot(snapshot.all);
        }
    }

    // ---- background work ----------------------------------------------------------------------

    private void reschedule(RouterConfig old, RouterConfig c, boolean initial) {
        boolean healthChanged = initial || old.enableActiveHealthCheck() != c.enableActiveHealthCheck()
                || !old.healthCheckInterval().equals(c.healthCheckInterval());
        if (healthChanged) {
            cancel(healthTask);
            healthTask = c.enableActiveHealthCheck()
                    ? scheduler.scheduleAtFixedRate(this::runHealthChecks, Duration.ZERO, c.healthCheckInterval())
                    : null;
        }
        if (initial || !old.metricsInterval().equals(c.metricsInterval())) {
            cancel(scrapeTask);
            scrapeTask = scheduler.scheduleAtFixedRate(this::runScrapes, Duration.ZERO, c.metricsInterval());
        }
        if (initial || !old.modelsRefreshInterval().equals(c.modelsRefreshInterval())) {
            cancel(modelsTask);
            modelsTask = scheduler.scheduleAtFixedRate(this::runModelRefresh, c.modelsRefreshInterval(),
                    c.modelsRefreshInterval());
        }
    }

    private static void cancel(Scheduler.Cancellable c) {
        if (c != null) {
            c.cancel();
        }
    }

    /**
     * One round of active health checks, all backends at once; a backend still being checked is
     * skipped. The future completes when this round's results are applied (for tests).
     */
    CompletableFuture<Void> runHealthChecks() {
        RouterConfig c = config;
        if (closed || !c.enableActiveHealthCheck()) {
            return CompletableFuture.completedFuture(null);
        }
        List<CompletableFuture<?>> round = new ArrayList<>();
        HealthTracker.Rules rules = new HealthTracker.Rules(c.healthCheckFailureThreshold(),
                c.healthCheckSuccessThreshold(), c.healthCheckWindow(), c.healthCheckMinSuccessRate());
        for (Backend b : snapshot.all) {
            if (!b.checkRunning.compareAndSet(false, true)) {
                continue;
            }
            long start = ticker.nanoTime();
            round.add(call(() -> probe.checkHealth(b.url(), b.apiKey(), c.healthCheckTimeout())).whenComplete((status, err) -> {
                try {
                    onHealthResult(b, c, rules, start, status, err);
                } catch (RuntimeException e) {
                    LOG.log(Level.ERROR, "health result of " + b.id() + " not applied", e);
                } finally {
                    b.checkRunning.set(false);
                }
            }));
        }
        return settled(round);
    }

    private static CompletableFuture<Void> settled(List<CompletableFuture<?>> round) {
        return CompletableFuture.allOf(round.stream().map(f -> f.handle((v, e) -> null))
                .toArray(CompletableFuture[]::new));
    }

    private void onHealthResult(Backend b, RouterConfig c, HealthTracker.Rules rules, long start, Integer status,
                                Throwable err) {
        double millis = (ticker.nanoTime() - start) / 1e6;
        String reason = null;
        if (err != null) {
            Throwable cause = Exchange.unwrap(err);
            reason = cause.getClass().getSimpleName() + (cause.getMessage() == null ? "" : ": " + cause.getMessage());
        } else if (status == null || status < 200 || status >= 300) {
            reason = "status " + status;
        } else if (millis > c.healthCheckMaxResponseTime().toNanos() / 1e6) {
            reason = String.format(java.util.Locale.ROOT, "slow: %.0f ms > %d ms", millis,
                    c.healthCheckMaxResponseTime().toMillis());
        }
        HealthTracker.Change change = b.health.record(reason == null, millis, reason, ticker.currentTimeMillis(), rules);
        if (change == null || closed) {
            return;
        }
        republish();
        boolean healthy = change == HealthTracker.Change.READMITTED;
        if (!healthy) {
            b.cacheLost();
        }
        String why = healthy ? "recovered" : b.health.reason();
        LOG.log(healthy ? Level.INFO : Level.WARNING, "backend {0} {1}: {2}", b.id(),
                healthy ? "re-admitted" : "ejected", why);
        listener.onHealthChange(b.id(), healthy, why);
    }

    /** One round of /metrics scrapes; failures mark that backend's figures stale at once. */
    CompletableFuture<Void> runScrapes() {
        RouterConfig c = config;
        if (closed) {
            return CompletableFuture.completedFuture(null);
        }
        List<CompletableFuture<?>> round = new ArrayList<>();
        for (Backend b : snapshot.all) {
            b.checkStaleness();
            if (!b.scrapeRunning.compareAndSet(false, true)) {
                continue;
            }
            round.add(call(() -> probe.scrapeMetrics(b.url(), b.apiKey(), c.metricsTimeout())).whenComplete((m, err) -> {
                try {
                    if (err == null) {
                        b.scraped(m);
                    } else {
                        b.scrapeFailed();
                        LOG.log(Level.DEBUG, "scrape of {0} failed: {1}", b.id(), Exchange.unwrap(err).toString());
                    }
                } finally {
                    b.scrapeRunning.set(false);
                }
            }));
        }
        return settled(round);
    }

    /** Re-reads /v1/models of every backend without configured models. */
    CompletableFuture<Void> runModelRefresh() {
        if (closed) {
            return CompletableFuture.completedFuture(null);
        }
        List<CompletableFuture<?>> round = new ArrayList<>();
        for (Backend b : snapshot.all) {
            round.add(refreshModels(b));
        }
        return settled(round);
    }

    /**
     * Reads the backend's /v1/models unless its models are configured. When a read is already
     * running (the one started with the backend, say), returns that one's future rather than a
     * finished one, so a caller waiting on the round sees its result.
     */
    private CompletableFuture<?> refreshModels(Backend b) {
        if (!b.config().models().isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        CompletableFuture<Void> mine = new CompletableFuture<>();
        CompletableFuture<Void> running = b.modelsFetch.compareAndExchange(null, mine);
        if (running != null) {
            return running;
        }
        RouterConfig c = config;
        call(() -> probe.fetchModels(b.url(), b.apiKey(), c.metricsTimeout())).whenComplete((infos, err) -> {
            try {
                if (err != null || infos == null) {
                    LOG.log(Level.DEBUG, "models of {0} not read: {1}", b.id(), err == null ? "null" : Exchange.unwrap(err));
                    return;
                }
                List<String> ids = new ArrayList<>(infos.size());
                for (ModelInfo m : infos) {
                    ids.add(m.id());
                }
                synchronized (stateLock) {
                    if (b.config().models().isEmpty() && !ids.equals(b.models())) {
                        b.models(ids, infos);
                        snapshot = new Snapshot(snapshot.all);
                        LOG.log(Level.INFO, "backend {0} serves {1}", b.id(), ids);
                    }
                }
            } finally {
                b.modelsFetch.set(null);
                mine.complete(null);
            }
        });
        return mine;
    }

    private static <T> CompletableFuture<T> call(Supplier<CompletableFuture<T>> s) {
        try {
            CompletableFuture<T> f = s.get();
            return f != null ? f : CompletableFuture.failedFuture(new IllegalStateException("probe returned null"));
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    // ---- lifecycle ----------------------------------------------------------------------------

    @Override
    public void close() {
        synchronized (stateLock) {
            if (closed) {
                return;
            }
            closed = true;
            cancel(healthTask);
            cancel(scrapeTask);
            cancel(modelsTask);
        }
        try {
            onClose.run();
        } finally {
            if (ownsScheduler) {
                scheduler.close();
            }
        }
    }

    @Override
    public String toString() {
        Snapshot s = snapshot;
        return "DefaultVllmRouter[servers=" + s.total + ", admitted=" + s.admitted.size() + ", strategy="
                + strategyName + "]";
    }

    /** Calls the host's listener, logging and swallowing what it throws. */
    private static final class SafeListener implements RouterListener {
        private final RouterListener d;

        SafeListener(RouterListener d) {
            this.d = d;
        }

        @Override
        public void onRequestComplete(RequestRecord r) {
            try {
                d.onRequestComplete(r);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "listener failed in onRequestComplete", e);
            }
        }

        @Override
        public void onRetry(String requestId, String failedBackend, String reason) {
            try {
                d.onRetry(requestId, failedBackend, reason);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "listener failed in onRetry", e);
            }
        }

        @Override
        public void onHealthChange(String backend, boolean healthy, String reason) {
            try {
                d.onHealthChange(backend, healthy, reason);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "listener failed in onHealthChange", e);
            }
        }

        @Override
        public void onCircuitStateChange(String backend, io.vllmrouter.api.CircuitState from,
                                         io.vllmrouter.api.CircuitState to) {
            try {
                d.onCircuitStateChange(backend, from, to);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "listener failed in onCircuitStateChange", e);
            }
        }

        @Override
        public void onConfigReload(boolean applied, String error) {
            try {
                d.onConfigReload(applied, error);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "listener failed in onConfigReload", e);
            }
        }
    }
}
