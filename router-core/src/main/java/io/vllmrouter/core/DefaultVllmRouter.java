package io.vllmrouter.core;

import io.vllmrouter.api.BackendLease;
import io.vllmrouter.api.ModelInfo;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.ConfigWatcher;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.strategy.StrategyRegistry;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.api.transport.Transport;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * The router: wiring of the {@link Fleet} (the one owner of backend state, with its background
 * probes) and the {@link Forwarder} (the request path, a client of the fleet's published snapshot
 * and of the {@link Transport}). Built by {@link VllmRouters}:
 *
 * <pre>{@code
 * VllmRouter router = VllmRouters.builder().config(config).build();
 * try (RouterResponse r = router.route(RouterRequest.post("/v1/completions", body).build())) {
 *     r.body().transferTo(out);
 * }
 * }</pre>
 *
 * <p>Thread-safe. {@code route()} and {@code choose()} read the published snapshot and take no lock;
 * {@link #reconfigure} applies in the fleet's serial context and returns once in force.
 */
public final class DefaultVllmRouter implements VllmRouter {

    private final Fleet fleet;
    private final Forwarder forwarder;
    private final Scheduler scheduler;
    private final boolean ownsScheduler;
    private final Transport transport;
    private final boolean ownsTransport;
    private final Map<String, String> env;
    private final StrategyRegistry strategies;
    private volatile ConfigWatcher configWatcher;

    DefaultVllmRouter(Fleet fleet, Forwarder forwarder, Scheduler scheduler, boolean ownsScheduler,
                      Transport transport, boolean ownsTransport, Map<String, String> env,
                      StrategyRegistry strategies) {
        this.fleet = Objects.requireNonNull(fleet, "fleet");
        this.forwarder = Objects.requireNonNull(forwarder, "forwarder");
        this.scheduler = scheduler;
        this.ownsScheduler = ownsScheduler;
        this.transport = transport;
        this.ownsTransport = ownsTransport;
        this.env = env;
        this.strategies = strategies;
    }

    /** Set once by the builder when the router watches a file. */
    void configWatcher(ConfigWatcher watcher) {
        this.configWatcher = watcher;
    }

    // ---- request path ---------------------------------------------------------------------------

    @Override
    public RouterResponse route(RouterRequest request) {
        return forwarder.route(request);
    }

    @Override
    public CompletableFuture<RouterResponse> routeAsync(RouterRequest request) {
        return forwarder.routeAsync(request);
    }

    @Override
    public BackendLease choose(RouterRequest request) {
        return forwarder.choose(request);
    }

    // ---- views --------------------------------------------------------------------------------

    @Override
    public RouterStats stats() {
        return fleet.stats();
    }

    @Override
    public List<ModelInfo> models() {
        return fleet.models();
    }

    /** The running configuration, typed. */
    @Override
    public RouterConfig config() {
        return fleet.config();
    }

    // ---- configuration ------------------------------------------------------------------------

    /**
     * Applies a new configuration and returns once it is in force; see {@link VllmRouter#reconfigure(String)}.
     * The listener hears {@code onConfigReload} either way.
     *
     * @throws IllegalArgumentException when the strategy name is unknown; the old config stays
     * @throws IllegalStateException when closed, or when called from a listener's fleet event
     */
    public void reconfigure(RouterConfig newConfig) {
        fleet.apply(Objects.requireNonNull(newConfig, "newConfig"), true);
    }

    @Override
    public void reconfigure(String toml) {
        RouterConfig parsed;
        try {
            parsed = ConfigLoader.parse(Objects.requireNonNull(toml, "toml"), "reconfigure", env, strategies);
        } catch (RuntimeException e) {
            fleet.refused(e.getMessage());
            throw e;
        }
        reconfigure(parsed);
    }

    @Override
    public boolean reloadConfig() {
        ConfigWatcher w = configWatcher;
        if (w == null) {
            return false;
        }
        w.checkNow();
        return true;
    }

    /**
     * Completes once every configured server has had its first health check, passed or failed, or at
     * once when active checks are off. A server is not eligible before its first check passes, so a
     * host that routes right after building waits on this (bounded: a check takes at most
     * {@code health_check_timeout}).
     */
    public CompletableFuture<Void> firstHealthChecks() {
        return fleet.firstHealthChecks();
    }

    // ---- for tests: one background round now, the future completing once its results applied ----

    CompletableFuture<Void> runHealthChecks() {
        return fleet.probes().runHealthChecks();
    }

    CompletableFuture<Void> runScrapes() {
        return fleet.probes().runScrapes();
    }

    CompletableFuture<Void> runModelRefresh() {
        return fleet.probes().runModelRefresh();
    }

    // ---- lifecycle ----------------------------------------------------------------------------

    /** Stops the probes and the file watch; closes the scheduler and transport if the builder made them. */
    @Override
    public void close() {
        if (fleet.closed()) {
            return;
        }
        ConfigWatcher w = configWatcher;
        if (w != null) {
            w.close();
        }
        fleet.close();
        if (ownsScheduler) {
            scheduler.close();
        }
        if (ownsTransport) {
            transport.close();
        }
    }

    @Override
    public String toString() {
        Snapshot s = fleet.snapshot();
        return "DefaultVllmRouter[servers=" + s.total + ", admitted=" + s.admitted.size() + ", strategy="
                + s.settings.strategyName() + "]";
    }
}
