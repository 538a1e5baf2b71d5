package io.vllmrouter.examples.micrometer;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.RouterListener;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The router's metrics in Micrometer: counters and timers fed as a {@link RouterListener}, per-backend
 * gauges read from {@link RouterStats}. One line binds them to any {@link MeterRegistry}:
 *
 * <pre>{@code
 * RouterMetrics metrics = new RouterMetrics();
 * DefaultVllmRouter router = VllmRouters.builder().config(config).listener(metrics).build();
 * metrics.stats(router::stats).bindTo(meterRegistry);        // Prometheus, Actuator, Datadog, ...
 * }</pre>
 *
 * <p>In a Spring Boot application, declaring the {@code RouterMetrics} as a bean is enough: Actuator
 * binds every {@link MeterBinder} bean to its registry. Names follow Micrometer's dotted convention
 * ({@code vllm.router.requests}); the Prometheus registry writes them as {@code vllm_router_requests_total},
 * {@code vllm_router_request_duration_seconds} and so on (see docs/observability.md).
 *
 * <p>Per-backend gauges follow the fleet: backends that join (a reload, discovery) get gauges at the next
 * read of the stats, and those that leave lose them. The stats are read from the supplier at most once
 * a second, or given directly with {@link #update(RouterStats)}. The {@code model} label comes from
 * request bodies, so distinct request series are capped at {@value #MAX_SERIES}; later new models count
 * under {@code model="_other"}. Events heard before {@link #bindTo} are not counted.
 */
public final class RouterMetrics implements RouterListener, MeterBinder {

    /** Most distinct (backend, model, status, outcome) series; further models count as {@code _other}. */
    public static final int MAX_SERIES = 2000;

    /** Timer buckets, 5 ms to 5 min: short embeddings to long generations. */
    static final Duration[] BUCKETS = durations(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300);

    private static final long STATS_MAX_AGE_NANOS = TimeUnit.SECONDS.toNanos(1);

    private final List<Bound> bound = new CopyOnWriteArrayList<>();
    private volatile Supplier<RouterStats> statsSource;
    private volatile Snapshot snapshot = new Snapshot(Map.of(), 0, 0, "", Map.of(),
            System.nanoTime() - 2 * STATS_MAX_AGE_NANOS);

    /** @param strategyStats the strategy's own figures, e.g. cache-aware's index_bytes */
    private record Snapshot(Map<String, BackendStats> backends, int configured, int healthy, String strategy,
                            Map<String, Long> strategyStats, long readAtNanos) {
    }

    private record RequestKey(String backend, String model, int status, String outcome) {
    }

    /** Metrics without a stats source yet: gauges appear once {@link #stats} or {@link #update} is called. */
    public RouterMetrics() {
    }

    /** Metrics whose gauges read {@code stats} (usually {@code router::stats}). */
    public RouterMetrics(Supplier<RouterStats> stats) {
        this.statsSource = stats;
    }

    /** Sets where gauges read the fleet from (usually {@code router::stats}); returns this. */
    public RouterMetrics stats(Supplier<RouterStats> stats) {
        this.statsSource = stats;
        return this;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Bound b = new Bound(registry);
        bound.add(b);
        Gauge.builder("vllm.router.backends", () -> current().configured)
                .tag("state", "configured").description("Backends in the fleet.").register(registry);
        Gauge.builder("vllm.router.backends", () -> current().healthy)
                .tag("state", "healthy").description("Backends admitted (health checks pass, breaker not open).").register(registry);
        Snapshot now = current();
        b.follow(now.backends.keySet());
        b.followStrategy(now.strategy, now.strategyStats.keySet());
    }

    /** Takes {@code stats} as the fleet's state now (gauges for new backends are added, gone ones removed). */
    public void update(RouterStats stats) {
        if (stats == null) {
            return;
        }
        Map<String, BackendStats> byUrl = new HashMap<>();
        for (BackendStats s : stats.servers()) {
            byUrl.put(s.url(), s);
        }
        Snapshot next = new Snapshot(Map.copyOf(byUrl), stats.summary().totalServers(),
                stats.summary().healthyServers(), stats.strategy() == null ? "" : stats.strategy(),
                stats.strategyStats(), System.nanoTime());
        Snapshot before = snapshot;
        snapshot = next;
        if (!before.backends.keySet().equals(next.backends.keySet())) {
            for (Bound b : bound) {
                b.follow(next.backends.keySet());
            }
        }
        if (!before.strategy.equals(next.strategy) || !before.strategyStats.keySet().equals(next.strategyStats.keySet())) {
            for (Bound b : bound) {
                b.followStrategy(next.strategy, next.strategyStats.keySet());
            }
        }
    }

    private Snapshot current() {
        Snapshot s = snapshot;
        Supplier<RouterStats> source = statsSource;
        if (source != null && System.nanoTime() - s.readAtNanos > STATS_MAX_AGE_NANOS) {
            update(source.get());
            s = snapshot;
        }
        return s;
    }

    private BackendStats backend(String url) {
        return current().backends.get(url);
    }

    // ---- listener ------------------------------------------------------------------------------

    @Override
    public void onRequestComplete(RequestRecord r) {
        for (Bound b : bound) {
            b.request(r);
        }
    }

    @Override
    public void onRetry(String requestId, String failedBackend, String reason) {
        for (Bound b : bound) {
            b.counter(b.retries, failedBackend == null ? "none" : failedBackend,
                    RouterMetrics::retryCounter).increment();
        }
    }

    @Override
    public void onHealthChange(String backend, boolean healthy, String reason) {
        for (Bound b : bound) {
            String transition = !healthy ? "ejected" : FIRST_CHECK_PASSED.equals(reason) ? "admitted" : "readmitted";
            b.counter(b.healthTransitions, transition,
                    k -> Counter.builder("vllm.router.health.transitions").tag("transition", k)
                            .description("Backends admitted (first check passed), ejected or re-admitted by the active health checks.")).increment();
        }
    }

    @Override
    public void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
        for (Bound b : bound) {
            b.counter(b.circuitTransitions, stateName(to), RouterMetrics::circuitCounter).increment();
        }
    }

    @Override
    public void onConfigReload(boolean applied, String error) {
        for (Bound b : bound) {
            b.counter(b.reloads, applied ? "applied" : "refused", this::reloadCounter).increment();
        }
    }

    private static String stateName(CircuitState state) {
        return state == null ? "closed" : state.name().toLowerCase(java.util.Locale.ROOT);
    }

    private static Counter.Builder circuitCounter(String state) {
        return Counter.builder("vllm.router.circuit.transitions").tag("state", state)
                .description("Circuit breaker transitions, by the state entered.");
    }

    private static Counter.Builder retryCounter(String backend) {
        return Counter.builder("vllm.router.retries").tag("backend", backend)
                .description("Attempts that failed and were retried on another backend, by failed backend.");
    }

    private Counter.Builder reloadCounter(String result) {
        return Counter.builder("vllm.router.config.reloads").tag("result", result)
                .description("Configuration reloads, by result (applied, refused).");
    }

    /** Requests counted so far in the first bound registry, over all labels. */
    public long requestsTotal() {
        if (bound.isEmpty()) {
            return 0;
        }
        return (long) bound.get(0).requests.values().stream().mapToDouble(Counter::count).sum();
    }

    /** Requests counted so far in the first bound registry, by outcome label ({@code success}, {@code cut_short}, ...). */
    public Map<String, Long> requestsByOutcome() {
        Map<String, Long> out = new java.util.TreeMap<>();
        if (!bound.isEmpty()) {
            bound.get(0).requests.forEach((k, c) -> out.merge(k.outcome(), (long) c.count(), Long::sum));
        }
        return out;
    }

    /** Configuration reloads counted with {@code result} ({@code applied} or {@code refused}) in the first bound registry. */
    public long reloads(String result) {
        if (bound.isEmpty()) {
            return 0;
        }
        Counter c = bound.get(0).reloads.get(result);
        return c == null ? 0 : (long) c.count();
    }

    static int circuitValue(CircuitState state) {
        if (state == null) {
            return 0;
        }
        switch (state) {
            case HALF_OPEN: return 1;
            case OPEN: return 2;
            default: return 0;
        }
    }

    private static Duration[] durations(double... seconds) {
        Duration[] out = new Duration[seconds.length];
        for (int i = 0; i < seconds.length; i++) {
            out[i] = Duration.ofNanos((long) (seconds[i] * 1e9));
        }
        return out;
    }

    /** The meters of one registry, cached so that the request path does a map lookup, not a registration. */
    private final class Bound {
        final MeterRegistry registry;
        final ConcurrentMap<RequestKey, Counter> requests = new ConcurrentHashMap<>();
        final ConcurrentMap<String, BackendMeters> perBackend = new ConcurrentHashMap<>();
        final ConcurrentMap<String, Counter> retries = new ConcurrentHashMap<>();
        final ConcurrentMap<String, Counter> reloads = new ConcurrentHashMap<>();
        final ConcurrentMap<String, Counter> healthTransitions = new ConcurrentHashMap<>();
        final ConcurrentMap<String, Counter> circuitTransitions = new ConcurrentHashMap<>();
        final Map<String, List<Meter>> backendGauges = new HashMap<>();
        final List<Meter> strategyGauges = new ArrayList<>();

        Bound(MeterRegistry registry) {
            this.registry = registry;
            // Both results exist from the start, so that rate() and alerts see a zero, not an absence.
            counter(reloads, "applied", RouterMetrics.this::reloadCounter);
            counter(reloads, "refused", RouterMetrics.this::reloadCounter);
            for (CircuitState st : CircuitState.values()) {
                counter(circuitTransitions, stateName(st), RouterMetrics::circuitCounter);
            }
            for (String t : new String[] {"admitted", "ejected", "readmitted"}) {
                counter(healthTransitions, t, k -> Counter.builder("vllm.router.health.transitions").tag("transition", k)
                        .description("Backends admitted (first check passed), ejected or re-admitted by the active health checks."));
            }
        }

        void request(RequestRecord r) {
            String backend = r.backend() == null ? "none" : r.backend();
            BackendMeters m = perBackend.get(backend);
            if (m == null) {
                m = perBackend.computeIfAbsent(backend, BackendMeters::new);
            }
            m.requests(r).increment();
            m.latency.record(r.latencyNanos(), TimeUnit.NANOSECONDS);
            if (r.ttfbNanos() >= 0) {
                m.ttfb().record(r.ttfbNanos(), TimeUnit.NANOSECONDS);
            }
            if (r.bytes() > 0) {
                m.bytes().increment(r.bytes());
            }
        }

        /** The request counter of this series, made and registered the first time it is seen. */
        Counter requestCounter(String backend, String model, int status, String outcome) {
            RequestKey key = new RequestKey(backend, model, status, outcome);
            Counter c = requests.get(key);
            if (c == null) {
                if (requests.size() >= MAX_SERIES) {
                    key = new RequestKey(backend, "_other", status, outcome);
                }
                c = requests.computeIfAbsent(key, k -> Counter.builder("vllm.router.requests")
                        .tags("backend", k.backend(), "model", k.model(), "status", String.valueOf(k.status()),
                                "outcome", k.outcome())
                        .description("Requests finished, by the backend of the last attempt, model, HTTP status "
                                + "(499: client went away) and outcome (success, client_error, upstream_error, cut_short, "
                                + "resumed, timeout, rejected, no_backend, cancelled).")
                        .register(registry));
            }
            return c;
        }

        /**
         * One backend's meters, found with one lookup per request: its timers and byte counter, and
         * the request counters of the series seen most (a short list scanned by status, outcome and
         * model, instead of hashing a four-part key per request).
         */
        final class BackendMeters {
            /** Series remembered per backend; more are found in {@link #requests}, as the first ones were. */
            private static final int CACHED_SERIES = 16;

            private final String backend;
            final Timer latency;
            private volatile Timer ttfb;
            private volatile Counter bytes;
            private volatile Series[] series = new Series[0];

            BackendMeters(String backend) {
                this.backend = backend;
                this.latency = timer("vllm.router.request.duration", backend,
                        "Time from route() to the response body's end (or the failure), by backend.");
            }

            Counter requests(RequestRecord r) {
                String model = r.model() == null ? "" : r.model();
                String outcome = r.outcome().label();
                int status = r.status();
                for (Series s : series) {
                    if (s.status == status && s.outcome.equals(outcome) && s.model.equals(model)) {
                        return s.counter;
                    }
                }
                Counter c = requestCounter(backend, model, status, outcome);
                synchronized (this) { // only the first time a series is seen here
                    Series[] now = series;
                    if (now.length < CACHED_SERIES) {
                        Series[] more = java.util.Arrays.copyOf(now, now.length + 1);
                        more[now.length] = new Series(model, status, outcome, c);
                        series = more;
                    }
                }
                return c;
            }

            // Made when first needed. Registering a meter again returns the registry's own, so two
            // threads that get here at once share one meter.
            Timer ttfb() {
                Timer t = ttfb;
                if (t == null) {
                    t = ttfb = timer("vllm.router.time.to.first.byte", backend,
                            "Time from route() to the backend's response headers (for a stream: its first bytes), by backend.");
                }
                return t;
            }

            Counter bytes() {
                Counter c = bytes;
                if (c == null) {
                    c = bytes = Counter.builder("vllm.router.response").baseUnit("bytes").tag("backend", backend)
                            .description("Response body bytes passed to callers, by backend.").register(registry);
                }
                return c;
            }
        }

        private record Series(String model, int status, String outcome, Counter counter) {
        }

        private Timer timer(String name, String backend, String help) {
            return Timer.builder(name).tag("backend", backend).description(help)
                    .serviceLevelObjectives(BUCKETS).register(registry);
        }

        Counter counter(ConcurrentMap<String, Counter> map, String key, java.util.function.Function<String, Counter.Builder> make) {
            Counter c = map.get(key);
            if (c == null) {
                c = map.computeIfAbsent(key, k -> make.apply(k).register(registry));
            }
            return c;
        }

        synchronized void follow(Set<String> urls) {
            for (String url : new ArrayList<>(backendGauges.keySet())) {
                if (!urls.contains(url)) {
                    for (Meter m : backendGauges.remove(url)) {
                        registry.remove(m);
                    }
                }
            }
            Set<String> toAdd = new HashSet<>(urls);
            toAdd.removeAll(backendGauges.keySet());
            for (String url : toAdd) {
                counter(retries, url, RouterMetrics::retryCounter); // a zero from the start, for rate()
                List<Meter> meters = new ArrayList<>(6);
                meters.add(gauge(url, "vllm.router.backend.in.flight", "Requests this router has on the backend now.",
                        BackendStats::inFlight));
                meters.add(gauge(url, "vllm.router.backend.load",
                        "Estimated requests on the backend (scraped running + waiting, adjusted by this router).",
                        BackendStats::currentLoad));
                meters.add(gauge(url, "vllm.router.backend.capacity", "The backend's max_concurrent_requests.",
                        BackendStats::maxCapacity));
                meters.add(gauge(url, "vllm.router.backend.healthy",
                        "1 when the backend is admitted (health checks pass, breaker not open), else 0.",
                        s -> s.status() ? 1 : 0));
                meters.add(gauge(url, "vllm.router.backend.circuit.state",
                        "Circuit breaker state: 0 closed (or disabled), 1 half-open, 2 open.",
                        s -> circuitValue(s.circuitState())));
                meters.add(gauge(url, "vllm.router.backend.draining",
                        "1 while a backend removed from the configuration finishes its requests, else 0.",
                        s -> s.draining() ? 1 : 0));
                meters.addAll(speedGauges(url));
                backendGauges.put(url, meters);
            }
        }

        /** One gauge per figure the strategy reports (none for strategies that report nothing). */
        synchronized void followStrategy(String strategy, Set<String> figures) {
            for (Meter m : strategyGauges) {
                registry.remove(m);
            }
            strategyGauges.clear();
            for (String figure : figures) {
                strategyGauges.add(Gauge.builder("vllm.router.strategy", () -> {
                    Long v = current().strategyStats.get(figure);
                    return v == null ? Double.NaN : v;
                }).tags("strategy", strategy, "figure", figure)
                        .description("The balancing strategy's own figures by name, e.g. cache-aware's index_bytes and index_max_bytes.")
                        .register(registry));
            }
        }

        /** The router's speed estimate of the backend (BackendStats.speed), in seconds. */
        private List<Meter> speedGauges(String url) {
            return List.of(
                    seconds(url, "vllm.router.backend.time.per.output.token",
                            "The router's estimate of the backend's time between two output tokens of one answer.",
                            s -> s.speed().timePerOutputTokenMillis() / 1000),
                    seconds(url, "vllm.router.backend.time.to.first.token",
                            "The router's estimate of the backend's time to the first token of a request that finds a free slot.",
                            s -> s.speed().timeToFirstTokenMillis() / 1000),
                    seconds(url, "vllm.router.backend.expected.wait",
                            "How long a request sent now would wait for a batch slot on the backend, as the router expects.",
                            s -> s.speed().expectedWaitMillis() / 1000),
                    gauge(url, "vllm.router.backend.speed.confidence",
                            "0..1: how much of the speed estimate is the backend's own recent measurement.",
                            s -> s.speed().confidence()));
        }

        private Meter seconds(String url, String name, String help, ToDoubleFunction<BackendStats> f) {
            return Gauge.builder(name, () -> {
                BackendStats s = backend(url);
                return s == null ? Double.NaN : f.applyAsDouble(s);
            }).tags(Tags.of("backend", url)).baseUnit("seconds").description(help).register(registry);
        }

        private Meter gauge(String url, String name, String help, ToDoubleFunction<BackendStats> f) {
            return Gauge.builder(name, () -> {
                BackendStats s = backend(url);
                return s == null ? Double.NaN : f.applyAsDouble(s);
            }).tags(Tags.of("backend", url)).description(help).register(registry);
        }
    }
}
