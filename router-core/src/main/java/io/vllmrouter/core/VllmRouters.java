package io.vllmrouter.core;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.ConfigWatcher;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.metrics.BackendClient;
import io.vllmrouter.core.time.Scheduler;
import io.vllmrouter.core.time.Ticker;
import java.net.http.HttpClient;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.random.RandomGenerator;

/**
 * Builds routers.
 *
 * <pre>{@code
 * DefaultVllmRouter router = VllmRouters.builder()
 *         .config(RouterConfig.builder().server(new ServerConfig("http://gpu-1:8000", 4)).build())
 *         .listener(myMetrics)
 *         .build();
 * }</pre>
 *
 * <p>From a TOML file, re-read every {@code config_reload_interval} and applied when it changes:
 * <pre>{@code
 * DefaultVllmRouter router = VllmRouters.fromConfig(Path.of("servers.toml"));
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
     * applied, an invalid one is logged and refused while the running config stays.
     *
     * @throws ConfigException when the file is missing or invalid (the message names the key,
     *     value and expectation)
     */
    public static DefaultVllmRouter fromConfig(Path file) {
        return builder().configFile(file).build();
    }

    /** Configures and builds a router; not thread-safe. */
    public static final class Builder {
        private RouterConfig config;
        private Path configFile;
        private Map<String, String> env;
        private Ticker ticker;
        private Scheduler scheduler;
        private RandomGenerator random;
        private HttpClient httpClient;
        private BalancingStrategy strategy;
        private RouterListener listener;
        private BackendProbe probe;

        private Builder() {
        }

        /** The configuration to start with (required). */
        public Builder config(RouterConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /**
         * Loads the configuration from this TOML file (unless {@link #config} was given too) and
         * watches it for changes every {@code config_reload_interval}, applying valid changes
         * with {@link DefaultVllmRouter#reconfigure}. The file is read at {@link #build()}.
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

        /** Runs background work; default one daemon thread, closed with the router. A given one is not closed. */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
            return this;
        }

        /** Tie-breaking randomness handed to the strategy; default {@link java.util.concurrent.ThreadLocalRandom}. */
        public Builder random(RandomGenerator random) {
            this.random = Objects.requireNonNull(random, "random");
            return this;
        }

        /**
         * The client for forwarding and background calls. Default: one client for the router,
         * HTTP/1.1, {@code connect_timeout} from the config, daemon threads.
         */
        public Builder httpClient(HttpClient httpClient) {
            this.httpClient = Objects.requireNonNull(httpClient, "httpClient");
            return this;
        }

        /** A strategy instance, overriding the config's {@code strategy} name (also across reloads). */
        public Builder strategy(BalancingStrategy strategy) {
            this.strategy = Objects.requireNonNull(strategy, "strategy");
            return this;
        }

        /** Hears requests, retries, health and breaker changes; must be quick and not throw. */
        public Builder listener(RouterListener listener) {
            this.listener = Objects.requireNonNull(listener, "listener");
            return this;
        }

        /** For tests: stands in for {@link BackendClient}. */
        Builder probe(BackendProbe probe) {
            this.probe = Objects.requireNonNull(probe, "probe");
            return this;
        }

        /**
         * Builds and starts the router: background checks are scheduled at once.
         *
         * @throws IllegalStateException when neither a config nor a config file was given
         * @throws ConfigException when the config file is missing or invalid
         * @throws IllegalArgumentException when the config's strategy name is unknown (the message
         *     lists the names found)
         */
        public DefaultVllmRouter build() {
            Map<String, String> environment = env != null ? env : System.getenv();
            if (config == null && configFile != null) {
                config = ConfigLoader.load(configFile, environment);
            }
            if (config == null) {
                throw new IllegalStateException("config: not set (expected: config(RouterConfig) or configFile(Path))");
            }
            Ticker t = ticker != null ? ticker : Ticker.system();
            boolean ownsScheduler = scheduler == null;
            Scheduler s = ownsScheduler ? Scheduler.newDaemon("vllm-router-scheduler") : scheduler;
            HttpClient http = httpClient != null ? httpClient : defaultClient(config);
            BackendProbe p = probe != null ? probe : BackendProbe.of(new BackendClient(http));
            java.util.concurrent.atomic.AtomicReference<ConfigWatcher> watcher = new java.util.concurrent.atomic.AtomicReference<>();
            Runnable onClose = () -> {
                ConfigWatcher w = watcher.get();
                if (w != null) {
                    w.close();
                }
            };
            try {
                DefaultVllmRouter router = new DefaultVllmRouter(config, t, s, ownsScheduler, random, http, p,
                        listener, strategy, onClose);
                if (configFile != null) {
                    ConfigWatcher w = newWatcher(router, configFile, environment, s, config);
                    watcher.set(w);
                    router.configWatcher(w);
                    w.start();
                }
                return router;
            } catch (RuntimeException e) {
                if (ownsScheduler) {
                    s.close();
                }
                throw e;
            }
        }

        private static ConfigWatcher newWatcher(DefaultVllmRouter router, Path file, Map<String, String> env,
                                                Scheduler scheduler, RouterConfig current) {
            ConfigWatcher[] self = new ConfigWatcher[1];
            ConfigWatcher w = new ConfigWatcher(file, env, scheduler, current.configReloadInterval(), current,
                    next -> {
                        try {
                            router.reconfigure(next);
                        } catch (RuntimeException refused) {
                            return; // reconfigure logged it and told the listener
                        }
                        LOG.log(System.Logger.Level.INFO, "configuration reloaded from {0}: {1} server(s)",
                                file, next.servers().size());
                        self[0].setInterval(next.configReloadInterval());
                    },
                    problem -> {
                        LOG.log(System.Logger.Level.ERROR,
                                "configuration file refused, the running one stays: {0}", problem.getMessage());
                        router.listener().onConfigReload(false, problem.getMessage());
                    });
            self[0] = w;
            return w;
        }

        private static HttpClient defaultClient(RouterConfig config) {
            AtomicInteger n = new AtomicInteger();
            ExecutorService executor = Executors.newCachedThreadPool(r -> {
                Thread th = new Thread(r, "vllm-router-client-" + n.incrementAndGet());
                th.setDaemon(true);
                return th;
            });
            return HttpClient.newBuilder()
                    .version(HttpClient.Version.HTTP_1_1)
                    .connectTimeout(config.connectTimeout())
                    .followRedirects(HttpClient.Redirect.NEVER)
                    .executor(executor)
                    .build();
        }
    }
}
