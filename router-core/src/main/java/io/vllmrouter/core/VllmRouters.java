package io.vllmrouter.core;

import io.vllmrouter.api.spi.BalancingStrategy;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.metrics.BackendClient;
import io.vllmrouter.core.time.Scheduler;
import io.vllmrouter.core.time.Ticker;
import java.net.http.HttpClient;
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
 */
public final class VllmRouters {

    private VllmRouters() {
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Configures and builds a router; not thread-safe. */
    public static final class Builder {
        private RouterConfig config;
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
         * @throws IllegalStateException when no config was given
         * @throws IllegalArgumentException when the config's strategy name is unknown (the message
         *     lists the names found)
         */
        public DefaultVllmRouter build() {
            if (config == null) {
                throw new IllegalStateException("config: not set (expected: config(RouterConfig))");
            }
            Ticker t = ticker != null ? ticker : Ticker.system();
            boolean ownsScheduler = scheduler == null;
            Scheduler s = ownsScheduler ? Scheduler.newDaemon("vllm-router-scheduler") : scheduler;
            HttpClient http = httpClient != null ? httpClient : defaultClient(config);
            BackendProbe p = probe != null ? probe : BackendProbe.of(new BackendClient(http));
            try {
                return new DefaultVllmRouter(config, t, s, ownsScheduler, random, http, p, listener, strategy, null);
            } catch (RuntimeException e) {
                if (ownsScheduler) {
                    s.close();
                }
                throw e;
            }
        }

        private static HttpClient defaultClient(RouterConfig config) {
            AtomicInteger n = new AtomicInteger();
            ExecutorService executor = Executors.newCachedThreadPool(r -> {
                Thread th = new Thread(r, "vllm-router-http-" + n.incrementAndGet());
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
