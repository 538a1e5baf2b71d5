package io.vllmrouter.core;

import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.ConfigWatcher;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.metrics.BackendClient;
import io.vllmrouter.core.metrics.BackendProbe;
import io.vllmrouter.core.strategy.StrategyRegistry;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.core.time.ExecutorScheduler;
import io.vllmrouter.api.time.Ticker;
import io.vllmrouter.core.transport.JdkHttpTransport;
import io.vllmrouter.api.transport.Transport;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.random.RandomGenerator;

/**
 * Builds routers.
 *
 * <pre>{@code
 * VllmRouter router = VllmRouters.builder()
 *         .config(RouterConfig.builder().server(new ServerConfig("http://gpu-1:8000", 4)).build())
 *         .listener(myMetrics)
 *         .build();
 * }</pre>
 *
 * <p>From a TOML file, re-read every {@code config_reload_interval} and applied when it changes:
 * <pre>{@code
 * VllmRouter router = VllmRouters.fromConfig(Path.of("servers.toml"));
 * }</pre>
 */
public final class VllmRouters {

    private static final System.Logger LOG = System.getLogger(VllmRouters.class.getName());

    private VllmRouters() {
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * A router on the TOML file {@code file} (environment overrides from {@link System#getenv()}),
     * with hot reload: the file is checked every {@code config_reload_interval}; a valid change is
     * applied, an invalid one is logged and refused while the running config stays. Like
     * {@link Builder#build()}, it returns once each server has had its first health check.
     *
     * @throws ConfigException when the file is missing or invalid (the message names the key,
     *     value and expectation; an unknown strategy lists the known names)
     */
    public static VllmRouter fromConfig(Path file) {
        return builder().configFile(file).build();
    }

    /** Configures and builds a router; not thread-safe. */
    public static final class Builder {
        private RouterConfig config;
        private Path configFile;
        private Map<String, String> env;
        private Ticker ticker;
        private Scheduler scheduler;
        private Scheduler requestScheduler;
        private RandomGenerator random;
        private HttpClient httpClient;
        private Transport transport;
        private StrategyRegistry strategies;
        private BalancingStrategy strategy;
        private final List<RouterListener> listeners = new ArrayList<>();
        private BackendProbe probe;
        private io.vllmrouter.api.spi.KvCacheIndexProvider kvIndexProvider;

        private Builder() {
        }

        /** The configuration to start with (this or {@link #configFile} is required). */
        public Builder config(RouterConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /**
         * Loads the configuration from this TOML file (unless {@link #config} was given too) and
         * watches it for changes every {@code config_reload_interval}, applying valid changes.
         * The file is read at {@link #build()}.
         */
        public Builder configFile(Path file) {
            this.configFile = Objects.requireNonNull(file, "file");
            return this;
        }

        /** Environment variables that override the file ({@code REQUEST_TIMEOUT}, ...); default {@link System#getenv()}. */
        public Builder env(Map<String, String> env) {
            this.env = Map.copyOf(Objects.requireNonNull(env, "env"));
            return this;
        }

        /** The source of time; default {@link Ticker#system()}. */
        public Builder ticker(Ticker ticker) {
            this.ticker = Objects.requireNonNull(ticker, "ticker");
            return this;
        }

        /**
         * Runs background work (probes, deadlines, retry pauses, breaker events); default one daemon
         * thread, closed with the router. A given one is not closed.
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Runs the timers of requests in flight (deadlines, first-byte timeouts, queue waits, retry
         * pauses) apart from the background work; default: the {@link #scheduler}. A transport that
         * runs on event loops passes a scheduler on those loops, so that a request's timers are set
         * and cancelled on the thread that carries it, with no lock and no other thread woken. Only
         * short, non-blocking tasks run on it. A given one is not closed.
         */
        public Builder requestScheduler(Scheduler requestScheduler) {
            this.requestScheduler = Objects.requireNonNull(requestScheduler, "requestScheduler");
            return this;
        }

        /** Tie-breaking randomness handed to the strategy; default {@link java.util.concurrent.ThreadLocalRandom}. */
        public Builder random(RandomGenerator random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /**
         * The JDK client for the background probes (and for forwarding, unless a {@link #transport}
         * is given). Default: one client for the router, HTTP/1.1, {@code connect_timeout} from the
         * config, daemon threads. A given client is not closed.
         */
        public Builder httpClient(HttpClient httpClient) {
            this.httpClient = Objects.requireNonNull(httpClient, "httpClient");
            return this;
        }

        /**
         * Moves forwarded requests' bytes; default a {@link JdkHttpTransport} on the probes' client.
         * A given transport is not closed with the router.
         */
        public Builder transport(Transport transport) {
            this.transport = Objects.requireNonNull(transport, "transport");
            return this;
        }

        /**
         * Where strategy names are looked up, at build and at every reload; default
         * {@link StrategyRegistry#defaultRegistry()} (the providers on the class path).
         */
        public Builder strategies(StrategyRegistry strategies) {
            this.strategies = Objects.requireNonNull(strategies, "strategies");
            return this;
        }

        /** A strategy instance, overriding the config's {@code strategy} name (also across reloads). */
        public Builder strategy(BalancingStrategy strategy) {
            this.strategy = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /**
         * Makes the KV-event index ({@code [strategies.cache-aware] index = "kv-events"}) instead of the
         * first {@link io.vllmrouter.api.spi.KvCacheIndexProvider} found by {@link java.util.ServiceLoader}.
         */
        public Builder kvCacheIndexProvider(io.vllmrouter.api.spi.KvCacheIndexProvider provider) {
            this.kvIndexProvider = Objects.requireNonNull(provider, "provider");
            return this;
        }

        /**
         * Adds a listener, which hears requests, retries, health and breaker changes; it must be
         * quick. Every listener added hears every event, in the order they were added; one that
         * throws is logged and does not keep the others from hearing it.
         */
        public Builder listener(RouterListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** Stands in for {@link BackendClient} in the background probes (tests, custom health checks). */
        public Builder probe(BackendProbe probe) {
            this.probe = Objects.requireNonNull(probe, "probe");
            return this;
        }

        /**
         * Builds and starts the router: background checks are scheduled at once. A server is not
         * eligible before its first health check passes, so when the router runs its own scheduler
         * (none was given), this returns once each server has had that check, passed or failed: at
         * most {@code health_check_timeout} and a second later. A request routed right away then finds
         * the servers that answer eligible. With a scheduler of the host's (a test's fake clock), it
         * returns at once; {@link DefaultVllmRouter#firstHealthChecks()} tells when the checks are done.
         *
         * @throws IllegalStateException when neither a config nor a config file was given
         * @throws ConfigException when the config file is missing or invalid
         * @throws IllegalArgumentException when the config's strategy name is unknown (the message
         *     lists the names found)
         */
        public VllmRouter build() {
            return buildRouter();
        }

        /** {@link #build()}, typed: for hosts that need {@link DefaultVllmRouter#reconfigure(RouterConfig)}. */
        public DefaultVllmRouter buildRouter() {
            Map<String, String> environment = env != null ? env : System.getenv();
            StrategyRegistry registry = strategies != null ? strategies : StrategyRegistry.defaultRegistry();
            RouterConfig initial = config;
            if (initial == null && configFile != null) {
                initial = ConfigLoader.load(configFile, environment, registry);
            }
            if (initial == null) {
                throw new IllegalStateException("config: not set (expected: config(RouterConfig) or configFile(Path))");
            }
            Ticker t = ticker != null ? ticker : Ticker.system();
            boolean ownsScheduler = scheduler == null;
            Scheduler s = ownsScheduler ? ExecutorScheduler.newDaemon("vllm-router-scheduler") : scheduler;
            JdkHttpTransport ownTransport = null;
            try {
                HttpClient http = httpClient;
                if (http == null) {
                    ownTransport = JdkHttpTransport.create(initial.connectTimeout());
                    http = ownTransport.client();
                }
                Transport tr = transport != null ? transport
                        : ownTransport != null ? ownTransport : new JdkHttpTransport(http);
                BackendProbe p = probe != null ? probe : new BackendClient(http);
                RouterListener safe = SafeListener.of(listeners);
                Fleet fleet = new Fleet(initial, t, s, safe, registry, strategy, p, kvIndexProvider);
                Forwarder forwarder = new Forwarder(fleet::snapshot, tr, t,
                        requestScheduler != null ? requestScheduler : s, safe, random,
                        new ResponsesAffinity(t, fleet::config));
                DefaultVllmRouter router = new DefaultVllmRouter(fleet, forwarder, s, ownsScheduler, ownTransport,
                        ownTransport != null, environment, registry);
                if (configFile != null) {
                    ConfigWatcher w = newWatcher(router, fleet, configFile, environment, s, initial, registry);
                    router.configWatcher(w);
                    w.start();
                }
                if (ownsScheduler) {
                    awaitFirstChecks(router, initial);
                }
                return router;
            } catch (RuntimeException e) {
                if (ownsScheduler) {
                    s.close();
                }
                if (ownTransport != null) {
                    ownTransport.close();
                }
                throw e;
            }
        }

        private static void awaitFirstChecks(DefaultVllmRouter router, RouterConfig config) {
            try {
                router.firstHealthChecks().get(config.healthCheckTimeout().toMillis() + 1000,
                        java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (java.util.concurrent.TimeoutException | java.util.concurrent.ExecutionException e) {
                // a check still running: the router serves meanwhile, the server is eligible once it passes
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        private static ConfigWatcher newWatcher(DefaultVllmRouter router, Fleet fleet, Path file,
                                                Map<String, String> env, Scheduler scheduler, RouterConfig current,
                                                StrategyRegistry registry) {
            ConfigWatcher[] self = new ConfigWatcher[1];
            ConfigWatcher w = new ConfigWatcher(file, env, scheduler, current.configReloadInterval(), current,
                    next -> {
                        RouterConfig before = router.config();
                        try {
                            router.reconfigure(next);
                        } catch (RuntimeException refused) {
                            return; // the fleet logged it and told the listener
                        }
                        LOG.log(System.Logger.Level.INFO, "configuration reloaded from {0}: {1}",
                                file, io.vllmrouter.core.config.ConfigDiff.describe(before, next));
                        self[0].setInterval(next.configReloadInterval());
                    },
                    problem -> {
                        LOG.log(System.Logger.Level.ERROR,
                                "configuration file refused, the running one stays: {0}", problem.getMessage());
                        fleet.refused(problem.getMessage());
                    },
                    registry);
            self[0] = w;
            return w;
        }
    }
}
