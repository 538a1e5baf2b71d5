package io.vllmrouter.core;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.retry.Retry;
import io.github.resilience4j.retry.RetryConfig;
import io.vllmrouter.api.ModelInfo;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.metrics.BackendProbe;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.core.metrics.SleepState;
import io.vllmrouter.core.strategy.StrategyRegistry;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.api.time.Ticker;
import java.lang.System.Logger.Level;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The one owner of the fleet's state. Configuration applies, health verdicts, scrape results,
 * model lists and breaker transitions are posted here and run in one {@link SerialContext}; each
 * change that alters admission or routing ends by publishing one immutable {@link Snapshot}, which
 * the request path reads without a lock.
 *
 * <p>Threads: the posting methods may be called from any thread. Health, scrape and model results
 * are drained on the thread that posts them (the probe client's thread); a configuration applies on
 * the caller's thread (which waits for it); breaker transitions, which happen on request threads,
 * are only queued there and drained on the scheduler's thread, so a request never rebuilds a
 * snapshot. Listener fleet events are called from the context after the snapshot is published.
 *
 * <p>The owner's helpers act only inside its context, and only this class publishes a snapshot:
 * {@link FleetMembers} works out which backends a configuration makes (and keeps those draining),
 * {@link FleetBreakers} makes the breakers and brings their transitions into the context,
 * {@link FleetProbes} runs the probes and posts their results here, {@link PromptServices} keeps the
 * KV-event index and tokenizer a configuration asks for, and {@link FleetView} reads a snapshot for
 * {@code /v1/models} and stats.
 */
final class Fleet {

    private static final System.Logger LOG = System.getLogger(Fleet.class.getName());

    private final SerialContext context = new SerialContext();
    private final Ticker ticker;
    private final RouterListener listener;
    private final StrategyRegistry strategies;
    /** A strategy instance from the builder that replaces the config's name, or null. */
    private final BalancingStrategy strategyOverride;
    private final FleetProbes probes;
    private final FleetBreakers breakers;
    private final FleetMembers members;
    private final PromptServices prompts;

    private volatile Snapshot snapshot;
    // Written only in the context; volatile so that config() and stats() can read them anywhere.
    private volatile RouterConfig config;
    private volatile Instant configLoadedAt;
    private volatile boolean closed;
    /** The breakers' settings in force. Context only. */
    private CircuitBreakerConfig breakerConfig;
    /** Completes once every backend of the first configuration has had a health check (or checks are off). */
    private final CompletableFuture<Void> firstChecks = new CompletableFuture<>();

    Fleet(RouterConfig initial, Ticker ticker, Scheduler scheduler, RouterListener listener,
          StrategyRegistry strategies, BalancingStrategy strategyOverride, BackendProbe probe) {
        this(initial, ticker, scheduler, listener, strategies, strategyOverride, probe, null);
    }

    /** @param kvIndexProvider makes the KV-event index instead of {@link java.util.ServiceLoader}'s, or null */
    Fleet(RouterConfig initial, Ticker ticker, Scheduler scheduler, RouterListener listener,
          StrategyRegistry strategies, BalancingStrategy strategyOverride, BackendProbe probe,
          io.vllmrouter.api.spi.KvCacheIndexProvider kvIndexProvider) {
        this.prompts = new PromptServices(kvIndexProvider);
        this.ticker = ticker;
        this.listener = listener;
        this.strategies = strategies;
        this.strategyOverride = strategyOverride;
        this.probes = new FleetProbes(this, probe, ticker, scheduler);
        this.breakers = new FleetBreakers(this, context, scheduler);
        this.members = new FleetMembers(ticker);
        apply(initial, false);
    }

    /** The published snapshot; never null. Any thread. */
    Snapshot snapshot() {
        return snapshot;
    }

    /** The running configuration. Any thread. */
    RouterConfig config() {
        return config;
    }

    FleetProbes probes() {
        return probes;
    }

    // ---- configuration ------------------------------------------------------------------------

    /**
     * Applies {@code c} in the context and waits for it. Servers are matched by id (URL): added ones
     * join and are checked at once, removed ones get no new requests and finish their in-flight ones,
     * changed capacity, api_key and models apply; changed intervals reschedule the probes; changed
     * breaker settings give every backend a new breaker.
     *
     * @param report tell the listener ({@code onConfigReload}) whether it was applied
     * @throws IllegalArgumentException when the strategy name is unknown; nothing changes
     * @throws IllegalStateException when closed, or when called from a fleet event callback
     */
    void apply(RouterConfig c, boolean report) {
        context.executeAndWait(() -> {
            try {
                if (closed) {
                    throw new IllegalStateException("router is closed");
                }
                applyNow(c);
            } catch (RuntimeException | Error e) {
                if (report) {
                    LOG.log(Level.ERROR, "configuration refused, the running one stays: {0}", e.getMessage());
                    listener.onConfigReload(false, e.getMessage());
                }
                throw e;
            }
            if (report) {
                listener.onConfigReload(true, null);
            }
        });
    }

    /** A configuration that could not be read or parsed: told to the listener, in order with the rest. */
    void refused(String problem) {
        context.execute(() -> listener.onConfigReload(false, problem));
    }

    private void applyNow(RouterConfig c) {
        RouterConfig old = config;
        Snapshot.Settings prev = snapshot == null ? null : snapshot.settings;
        BalancingStrategy strategy;
        String strategyName;
        if (strategyOverride != null) {
            strategy = strategyOverride;
            strategyName = strategyOverride.getClass().getSimpleName();
        } else if (prev == null || !c.strategy().equals(old.strategy())
                || !c.strategySettings(c.strategy()).equals(old.strategySettings(c.strategy()))) {
            // throws for an unknown name or a refused setting: nothing changed yet
            strategy = strategies.create(c.strategy(), c.strategySettings(c.strategy()));
            strategyName = c.strategy();
        } else {
            strategy = prev.strategy();                    // keep its state (a round-robin counter)
            strategyName = prev.strategyName();
        }
        PromptServices.Active active = prompts.apply(c, strategy);   // throws for a missing module: nothing changed yet
        boolean newBreakers = old == null || FleetBreakers.settingsChanged(old, c);
        CircuitBreakerConfig cbc = newBreakers ? FleetBreakers.config(c, ticker) : breakerConfig;
        FleetMembers.Change change = members.reconcile(snapshot == null ? List.of() : snapshot.all, c, newBreakers,
                b -> breakers.create(b, cbc));
        List<Backend> next = change.backends();
        Retry retry = Retry.of("vllm-router", RetryConfig.custom()
                .maxAttempts(c.maxRetries() + 1)
                .intervalBiFunction((attempt, either) -> c.retryDelay().toMillis())
                .build());
        long retryAfter = Math.max(1, (c.healthCheckInterval().toMillis() + 999) / 1000);
        this.config = c;
        this.breakerConfig = cbc;
        this.configLoadedAt = ticker.now();
        publish(new Snapshot(next, new Snapshot.Settings(strategy, strategyName, retry, c.requestTimeout(),
                (int) Math.min(Integer.MAX_VALUE, retryAfter), c.sessionHeader(), new Snapshot.Statuses(c.retryOnStatus()),
                c.firstByteTimeout(), c.streamFailover(), c.streamFailoverMax(), c.maxInFlightFactor(), c.maxQueue(),
                c.queueTimeout(), active, c.ttftSlo())));
        try {
            strategy.backendsChanged(List.copyOf(next));
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "strategy " + strategyName + " failed to take the new backend list", e);
        }
        probes.reschedule(old, c);
        if (!c.enableActiveHealthCheck() || next.isEmpty()) {
            firstChecks.complete(null);
        }
        for (Backend b : change.probeNow()) {
            probes.refreshModels(b);
            if (old != null && b.admission.health.lastCheckEpochMillis() < 0) {
                probes.checkHealth(b);
            }
        }
        if (old != null) {
            LOG.log(Level.INFO, "configuration applied: {0} servers, strategy {1}", c.servers().size(), strategyName);
        }
    }

    private void publish(Snapshot s) {
        snapshot = s;
    }

    // ---- results posted by the probes and the breakers ------------------------------------------

    /**
     * One health check's result; the future completes once it is applied (for tests). A backend
     * that has never passed a check is named at WARN on its first failure, so an operator sees at
     * start which servers cannot be reached.
     */
    CompletableFuture<Void> healthChecked(Backend b, HealthTracker.Rules rules, boolean passed, double millis,
                                          String reason) {
        return post(() -> {
            HealthTracker h = b.admission.health;
            boolean firstFailure = !passed && !h.everPassed() && h.consecutiveFailures() == 0;
            HealthTracker.Change change = h.record(passed, millis, reason, ticker.currentTimeMillis(), rules);
            if (change != null && !closed) {
                publish(snapshot.rebuilt());
            }
            listener.onHealthCheck(b.id(), passed, reason);
            if (!firstChecks.isDone() && snapshot.all.stream().allMatch(x -> x.admission.health.lastCheckEpochMillis() >= 0)) {
                firstChecks.complete(null);
            }
            if (firstFailure && !closed) {
                LOG.log(Level.WARNING, "backend {0} is not eligible: its first health check failed: {1}",
                        b.label(), reason);
            }
            if (change == null || closed) {
                return;
            }
            boolean healthy = change != HealthTracker.Change.EJECTED;
            if (!healthy) {
                b.load.cacheLost();  // an ejected server may come back with an empty cache
            }
            String why = switch (change) {
                case ADMITTED -> RouterListener.FIRST_CHECK_PASSED;
                case READMITTED -> RouterListener.RECOVERED;
                case EJECTED -> h.reason();
            };
            LOG.log(healthy ? Level.INFO : Level.WARNING, "backend {0} {1}: {2}", b.label(),
                    healthy ? "healthy" : "ejected", why);
            listener.onHealthChange(b.id(), healthy, why);
            if (healthy) {
                // A server that just came up (or back: it may serve other models now) is asked what
                // it serves at once, not at the next refresh round, minutes later.
                probes.refreshModels(b);
            }
        });
    }

    /** Judges staleness at the start of a scrape round, and lets idle draining backends go. */
    void scrapeRoundStarted() {
        post(() -> {
            boolean admissionChanged = false;
            for (Backend b : snapshot.all) {
                b.load.checkStaleness();
                if (!b.load.fresh()) {
                    admissionChanged |= slept(b, SleepState.UNKNOWN);
                }
            }
            if (admissionChanged && !closed) {
                publish(snapshot.rebuilt());
            }
            SpeedEstimate.round(snapshot.all, ticker.nanoTime());
            members.releaseIdle();
        });
    }

    /**
     * One scrape's result: figures ({@code error == null}) or a failure that stops the old ones
     * steering. A server whose engines are asleep gets no requests until a scrape finds it awake, or
     * until its figures stop steering (its state is then unknown and the health checks judge it).
     */
    CompletableFuture<Void> scraped(Backend b, LoadMetrics m, Throwable error) {
        return post(() -> {
            if (error == null) {
                b.load.scraped(m);
                b.speedEstimate.scraped(m == null ? null : m.latency(), ticker.nanoTime());
            } else {
                b.load.scrapeFailed();
            }
            SleepState sleep = error == null && m.hasLoad() ? m.sleepState() : SleepState.UNKNOWN;
            if (slept(b, sleep) && !closed) {
                publish(snapshot.rebuilt());
            }
            listener.onMetricsScraped(b.id(), error == null);
        });
    }

    /** Records {@code b}'s sleep state; returns whether it went to sleep or woke (admission changed). */
    private boolean slept(Backend b, SleepState s) {
        if (!b.admission.sleep(s)) {
            return false;
        }
        if (s.asleep()) {
            b.load.cacheLost();  // vLLM resets the prefix cache when it sleeps; level 1 and 2 drop the KV cache
            LOG.log(Level.INFO, "backend {0} is asleep ({1}): no requests until it wakes", b.id(), s.describe());
        } else {
            LOG.log(Level.INFO, "backend {0} is {1}: it gets requests again", b.id(),
                    s == SleepState.UNKNOWN ? "no longer known to be asleep (no fresh metrics)" : "awake");
        }
        return true;
    }

    /** A backend's {@code /v1/models}, applied unless its models are configured. */
    CompletableFuture<Void> modelsFetched(Backend b, List<ModelInfo> infos) {
        return post(() -> {
            List<String> ids = new ArrayList<>(infos.size());
            for (ModelInfo m : infos) {
                ids.add(m.id());
            }
            if (b.config().models().isEmpty() && !ids.equals(b.models())) {
                b.models(ids, infos);
                publish(snapshot.rebuilt());
                LOG.log(Level.INFO, "backend {0} serves {1}", b.label(), ids);
            }
            listener.onModelsRefreshed(b.id(), b.models());
        });
    }

    private CompletableFuture<Void> post(Runnable change) {
        CompletableFuture<Void> applied = new CompletableFuture<>();
        context.execute(() -> {
            try {
                change.run();
            } finally {
                applied.complete(null);
            }
        });
        return applied;
    }

    /** Fleet context: {@code b}'s breaker moved ({@link FleetBreakers}); admission changed. */
    void breakerMoved(Backend b, CircuitBreaker.State from, CircuitBreaker.State to) {
        publish(snapshot.rebuilt());
        listener.onCircuitStateChange(b.id(), Admission.toCircuitState(from), Admission.toCircuitState(to));
    }

    // ---- views ------------------------------------------------------------------------------

    /** The catalogue of admitted backends' models, each id once, first backend's entry kept. Any thread. */
    List<ModelInfo> models() {
        return FleetView.models(snapshot);
    }

    /** The fleet as the seed's {@code /load-stats} shows it. Any thread; reads live figures. */
    RouterStats stats() {
        return FleetView.stats(snapshot, members.draining(), configLoadedAt, ticker.now());
    }

    boolean closed() {
        return closed;
    }

    /** Completes once every server has had its first health check, passed or failed (at once when checks are off). */
    CompletableFuture<Void> firstHealthChecks() {
        return firstChecks;
    }

    /** Stops the probes; state stays readable. Idempotent; returns once done unless called from the context. */
    void close() {
        Runnable stop = () -> {
            closed = true;
            probes.cancel();
            firstChecks.complete(null);
            prompts.close();
        };
        if (context.inContext()) {
            context.execute(stop);      // runs right after the current task
        } else {
            context.executeAndWait(stop);
        }
    }
}
