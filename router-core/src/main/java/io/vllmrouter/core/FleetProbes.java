package io.vllmrouter.core;

import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.metrics.BackendProbe;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.api.time.Ticker;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

/**
 * The fleet's three background loops — active health checks, {@code /metrics} scrapes and
 * {@code /v1/models} refreshes — which call the backends through a {@link BackendProbe} and post
 * every result to the {@link Fleet}. They never change state themselves.
 *
 * <p>Threads: rounds start on the scheduler's thread and only start asynchronous calls; results
 * arrive on the probe client's threads. {@link #reschedule} and {@link #cancel} run in the fleet's
 * context. A backend still being checked or scraped is skipped by the next round.
 */
final class FleetProbes {

    private static final System.Logger LOG = System.getLogger(FleetProbes.class.getName());

    /** What is in progress for one backend. */
    private static final class Running {
        final AtomicBoolean check = new AtomicBoolean();
        final AtomicBoolean scrape = new AtomicBoolean();
        /** The /v1/models read in progress, or null. */
        final AtomicReference<CompletableFuture<Void>> models = new AtomicReference<>();
    }

    private final Fleet fleet;
    private final BackendProbe probe;
    private final Ticker ticker;
    private final Scheduler scheduler;
    private final Map<Backend, Running> running = new ConcurrentHashMap<>();

    // Fleet context only.
    private Scheduler.Cancellable healthTask;
    private Scheduler.Cancellable scrapeTask;
    private Scheduler.Cancellable modelsTask;

    FleetProbes(Fleet fleet, BackendProbe probe, Ticker ticker, Scheduler scheduler) {
        this.fleet = fleet;
        this.probe = probe;
        this.ticker = ticker;
        this.scheduler = scheduler;
    }

    private Running running(Backend b) {
        return running.computeIfAbsent(b, k -> new Running());
    }

    /** Fleet context: (re)starts the loops whose interval changed; {@code old} is null at start. */
    void reschedule(RouterConfig old, RouterConfig c) {
        if (old == null || old.enableActiveHealthCheck() != c.enableActiveHealthCheck()
                || !old.healthCheckInterval().equals(c.healthCheckInterval())) {
            cancel(healthTask);
            healthTask = c.enableActiveHealthCheck()
                    ? scheduler.scheduleAtFixedRate(this::runHealthChecks, Duration.ZERO, c.healthCheckInterval())
                    : null;
        }
        if (old == null || !old.metricsInterval().equals(c.metricsInterval())) {
            cancel(scrapeTask);
            scrapeTask = scheduler.scheduleAtFixedRate(this::runScrapes, Duration.ZERO, c.metricsInterval());
        }
        if (old == null || !old.modelsRefreshInterval().equals(c.modelsRefreshInterval())) {
            cancel(modelsTask);
            modelsTask = scheduler.scheduleAtFixedRate(this::runModelRefresh, c.modelsRefreshInterval(),
                    c.modelsRefreshInterval());
        }
        running.keySet().retainAll(fleet.snapshot().all);
    }

    /** Fleet context: stops the loops. */
    void cancel() {
        cancel(healthTask);
        cancel(scrapeTask);
        cancel(modelsTask);
    }

    private static void cancel(Scheduler.Cancellable c) {
        if (c != null) {
            c.cancel();
        }
    }

    /**
     * One round of active health checks, all backends at once. The future completes when this
     * round's results are applied (for tests).
     */
    CompletableFuture<Void> runHealthChecks() {
        List<CompletableFuture<?>> round = new ArrayList<>();
        for (Backend b : fleet.snapshot().all) {
            round.add(checkHealth(b));
        }
        return settled(round);
    }

    /**
     * Checks one backend now (a backend that joined on a reload is checked at once rather than at
     * the next round, since it gets no traffic before a check passes). Skipped when checks are
     * off or one is running; the future completes when the result is applied.
     */
    CompletableFuture<Void> checkHealth(Backend b) {
        RouterConfig c = fleet.config();
        AtomicBoolean busy = running(b).check;
        if (fleet.closed() || !c.enableActiveHealthCheck() || !busy.compareAndSet(false, true)) {
            return CompletableFuture.completedFuture(null);
        }
        HealthTracker.Rules rules = new HealthTracker.Rules(c.healthCheckFailureThreshold(),
                c.healthCheckSuccessThreshold(), c.healthCheckWindow(), c.healthCheckMinSuccessRate());
        long start = ticker.nanoTime();
        return call(() -> probe.checkHealth(b.url(), b.apiKey(), c.healthCheckTimeout()))
                .handle((status, err) -> {
                    double millis = (ticker.nanoTime() - start) / 1e6;
                    String reason = verdict(c, status, err, millis);
                    busy.set(false);
                    return fleet.healthChecked(b, rules, reason == null, millis, reason);
                }).thenCompose(applied -> applied);
    }

    /** Why a check failed, or null when it passed. */
    private static String verdict(RouterConfig c, Integer status, Throwable err, double millis) {
        if (err != null) {
            Throwable cause = unwrap(err);
            return TransportException.describe(cause);
        }
        if (status == null || status < 200 || status >= 300) {
            return "status " + status;
        }
        if (millis > c.healthCheckMaxResponseTime().toNanos() / 1e6) {
            return String.format(java.util.Locale.ROOT, "slow: %.0f ms > %d ms", millis,
                    c.healthCheckMaxResponseTime().toMillis());
        }
        return null;
    }

    /** One round of /metrics scrapes; failures mark that backend's figures stale at once. */
    CompletableFuture<Void> runScrapes() {
        RouterConfig c = fleet.config();
        if (fleet.closed()) {
            return CompletableFuture.completedFuture(null);
        }
        fleet.scrapeRoundStarted();
        List<CompletableFuture<?>> round = new ArrayList<>();
        for (Backend b : fleet.snapshot().all) {
            AtomicBoolean busy = running(b).scrape;
            if (!busy.compareAndSet(false, true)) {
                continue;
            }
            round.add(call(() -> probe.scrapeMetrics(b.url(), b.apiKey(), c.metricsTimeout()))
                    .handle((m, err) -> {
                        if (err != null) {
                            LOG.log(Level.DEBUG, "scrape of {0} failed: {1}", b.id(), unwrap(err).toString());
                        }
                        busy.set(false);
                        return fleet.scraped(b, m, err);
                    }).thenCompose(applied -> applied));
        }
        return settled(round);
    }

    /** Re-reads /v1/models of every backend without configured models. */
    CompletableFuture<Void> runModelRefresh() {
        if (fleet.closed()) {
            return CompletableFuture.completedFuture(null);
        }
        List<CompletableFuture<?>> round = new ArrayList<>();
        for (Backend b : fleet.snapshot().all) {
            round.add(refreshModels(b));
        }
        return settled(round);
    }

    /**
     * Reads the backend's /v1/models unless its models are configured. When a read is already
     * running (the one started with the backend, say), returns that one's future, so a caller
     * waiting on the round sees its result. The future completes once the list is applied.
     */
    CompletableFuture<?> refreshModels(Backend b) {
        if (!b.config().models().isEmpty()) {
            return CompletableFuture.completedFuture(null);
        }
        AtomicReference<CompletableFuture<Void>> inProgress = running(b).models;
        CompletableFuture<Void> mine = new CompletableFuture<>();
        CompletableFuture<Void> other = inProgress.compareAndExchange(null, mine);
        if (other != null) {
            return other;
        }
        Duration timeout = fleet.config().metricsTimeout();
        call(() -> probe.fetchModels(b.url(), b.apiKey(), timeout)).handle((infos, err) -> {
            if (err != null || infos == null) {
                LOG.log(Level.DEBUG, "models of {0} not read: {1}", b.id(), err == null ? "null" : unwrap(err));
                return CompletableFuture.<Void>completedFuture(null);
            }
            return fleet.modelsFetched(b, infos);
        }).thenCompose(applied -> applied).whenComplete((v, e) -> {
            inProgress.set(null);
            mine.complete(null);
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

    private static CompletableFuture<Void> settled(List<CompletableFuture<?>> round) {
        return CompletableFuture.allOf(round.stream().map(f -> f.handle((v, e) -> null))
                .toArray(CompletableFuture[]::new));
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }
}
