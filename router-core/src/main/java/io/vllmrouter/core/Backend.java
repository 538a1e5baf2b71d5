package io.vllmrouter.core;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.spi.BackendView;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.core.metrics.ModelInfo;
import io.vllmrouter.core.time.Ticker;
import java.net.URI;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * One backend's live state: exact in-flight count, last scrape, breaker, health verdict, models
 * and request counters. Strategies see it as a {@link BackendView}; its reads take no lock.
 *
 * <p>Fields that decide admission (health, breaker, models, config) change only on the router's
 * serialized state path, which then publishes a new {@link Snapshot}; load figures change at any
 * time and are read live.
 */
final class Backend implements BackendView {

    private static final double EWMA_ALPHA = 0.2;
    /** Source of cache epochs: unique across backends, so a backend object made anew never repeats one. */
    private static final AtomicLong EPOCHS = new AtomicLong();

    private final String id;
    private final URI url;
    private final Ticker ticker;

    private volatile ServerConfig config;
    private volatile int index;
    private volatile long staleAfterNanos;
    private volatile CircuitBreaker breaker;
    private volatile boolean draining;
    /** Effective model ids: configured, or fetched; empty = unknown (serves any model). */
    private volatile List<String> models;
    /** Catalog entries for {@code /v1/models}: configured (synthesized) or fetched; empty when unknown. */
    private volatile List<ModelInfo> modelInfos = List.of();

    final AtomicInteger inFlight = new AtomicInteger();
    final HealthTracker health = new HealthTracker();
    final AtomicBoolean scrapeRunning = new AtomicBoolean();
    final AtomicBoolean checkRunning = new AtomicBoolean();
    /** The /v1/models read in progress, or null. */
    final java.util.concurrent.atomic.AtomicReference<java.util.concurrent.CompletableFuture<Void>> modelsFetch =
            new java.util.concurrent.atomic.AtomicReference<>();

    /** The last good scrape, shown in stats even when stale. */
    private volatile Scrape lastGood;
    /** {@link #lastGood} while it may steer, null once stale: picks read this one field. */
    private volatile Scrape steering;

    private final LongAdder total = new LongAdder();
    private final LongAdder succeeded = new LongAdder();
    private final LongAdder failed = new LongAdder();
    private final AtomicLong latencyBits = new AtomicLong(Double.doubleToRawLongBits(Double.NaN));
    private final AtomicLong ttfbBits = new AtomicLong(Double.doubleToRawLongBits(Double.NaN));
    private final RateMeter completions;

    /** See {@link #cacheEpoch()}; changed by {@link #cacheLost()}. */
    private volatile long cacheEpoch = EPOCHS.incrementAndGet();
    private volatile long cacheBlocks = -1;
    private volatile int cacheBlockSize = -1;
    /** vllm:prefix_cache_queries_total at the last scrape that had it; NaN before. */
    private double prefixQueries = Double.NaN;

    /** One good scrape and this router's in-flight count at that moment. */
    private record Scrape(double running, double waiting, double kvCacheUsage, double maxFds, long nanos,
                          int inFlightAtScrape) {
    }

    Backend(ServerConfig config, int index, Ticker ticker, long staleAfterNanos) {
        this.id = config.id();
        this.url = config.url();
        this.ticker = ticker;
        this.config = config;
        this.index = index;
        this.staleAfterNanos = staleAfterNanos;
        this.models = config.models();
        this.completions = new RateMeter(ticker);
    }

    @Override public String id() { return id; }
    @Override public URI url() { return url; }
    @Override public int capacity() { return config.maxConcurrentRequests(); }
    @Override public int inFlight() { return inFlight.get(); }
    @Override public int index() { return index; }
    @Override public List<String> models() { return models; }

    ServerConfig config() { return config; }
    String apiKey() { return config.apiKey(); }
    CircuitBreaker breaker() { return breaker; }
    boolean draining() { return draining; }
    List<ModelInfo> modelInfos() { return modelInfos; }

    void config(ServerConfig c, int index) {
        this.config = c;
        this.index = index;
    }

    void staleAfterNanos(long nanos) { this.staleAfterNanos = nanos; }
    void breaker(CircuitBreaker b) { this.breaker = b; }
    void draining(boolean d) { this.draining = d; }

    void models(List<String> ids, List<ModelInfo> infos) {
        this.models = List.copyOf(ids);
        this.modelInfos = List.copyOf(infos);
    }

    /** Admitted: the health checks pass and the breaker lets traffic through. */
    boolean admitted() {
        return health.healthy() && breakerAdmits(breaker);
    }

    static boolean breakerAdmits(CircuitBreaker b) {
        if (b == null) {
            return true;
        }
        CircuitBreaker.State s = b.getState();
        return s != CircuitBreaker.State.OPEN && s != CircuitBreaker.State.FORCED_OPEN;
    }

    CircuitState circuitState() {
        CircuitBreaker b = breaker;
        if (b == null) {
            return CircuitState.DISABLED;
        }
        return toCircuitState(b.getState());
    }

    static CircuitState toCircuitState(CircuitBreaker.State s) {
        return switch (s) {
            case CLOSED -> CircuitState.CLOSED;
            case OPEN, FORCED_OPEN -> CircuitState.OPEN;
            case HALF_OPEN -> CircuitState.HALF_OPEN;
            case DISABLED, METRICS_ONLY -> CircuitState.DISABLED;
        };
    }

    // ---- load figures -------------------------------------------------------------------------

    /** Publishes a good scrape; a page without running/waiting figures counts as a failed one. */
    void scraped(LoadMetrics m) {
        if (m == null || !m.hasLoad()) {
            scrapeFailed();
            return;
        }
        if (m.cacheBlocks() >= 0) {
            cacheBlocks = m.cacheBlocks();
        }
        if (m.cacheBlockSize() > 0) {
            cacheBlockSize = m.cacheBlockSize();
        }
        double q = m.prefixCacheQueries();
        if (!Double.isNaN(q)) {
            if (q < prefixQueries) {
                cacheLost();  // a counter went back: the server restarted with an empty cache
            }
            prefixQueries = q;
        }
        Scrape fresh = new Scrape(nanToZero(m.running()), nanToZero(m.waiting()), m.kvCacheUsage(), m.maxFds(),
                ticker.nanoTime(), inFlight.get());
        lastGood = fresh;
        steering = fresh;
    }

    /**
     * Marks the figures stale once no good scrape arrived for {@code staleAfterNanos}. Called by the
     * scheduler at every scrape round (so staleness is judged to within one {@code metrics_interval}),
     * which keeps the clock off the request path: a pick reads two volatile fields per backend.
     */
    void checkStaleness() {
        Scrape s = lastGood;
        if (s != null && ticker.nanoTime() - s.nanos > staleAfterNanos) {
            steering = null;
        }
    }

    /** The last scrape failed (error, timeout, malformed page): its figures stop steering now. */
    void scrapeFailed() {
        steering = null;
    }

    private static double nanToZero(double d) {
        return Double.isNaN(d) ? 0 : Math.max(0, d);
    }

    @Override
    public long cacheBlocks() {
        return cacheBlocks;
    }

    @Override
    public int cacheBlockSize() {
        return cacheBlockSize;
    }

    @Override
    public long cacheEpoch() {
        return cacheEpoch;
    }

    /** What the backend had cached may be gone (ejected, restarted): strategies forget it. */
    void cacheLost() {
        cacheEpoch = EPOCHS.incrementAndGet();
    }

    @Override
    public boolean metricsFresh() {
        return steering != null;
    }


    @Override
    public double running() {
        Scrape s = steering;
        int f = inFlight.get();
        if (s == null) {
            return f;
        }
        return estimatedRunning(s, f, capacity());
    }

    @Override
    public double waiting() {
        Scrape s = steering;
        int f = inFlight.get();
        if (s == null) {
            return 0;
        }
        return estimatedTotal(s, f) - estimatedRunning(s, f, capacity());
    }

    @Override
    public double outstanding() {
        Scrape s = steering;
        int f = inFlight.get();
        return s != null ? estimatedTotal(s, f) : f;
    }

    /**
     * Requests sent since the scrape start running while the backend has room (capacity), the rest
     * wait; requests finished since free running slots, which queued requests take. With no change
     * since the scrape this is exactly the scraped figure.
     */
    private static double estimatedRunning(Scrape s, int inFlightNow, int capacity) {
        int delta = inFlightNow - s.inFlightAtScrape;
        if (delta >= 0) {
            return s.running + Math.min(delta, Math.max(0, capacity - s.running));
        }
        return Math.min(estimatedTotal(s, inFlightNow), s.running);
    }

    private static double estimatedTotal(Scrape s, int inFlightNow) {
        return Math.max(0, s.running + s.waiting + (inFlightNow - s.inFlightAtScrape));
    }

    @Override
    public double kvCacheUsage() {
        Scrape s = steering;
        return s != null ? s.kvCacheUsage : Double.NaN;
    }

    // ---- request counters ---------------------------------------------------------------------

    /** One attempt sent to this backend. */
    void attemptStarted() {
        total.increment();
    }

    void headersArrived(long ttfbNanos) {
        ewma(ttfbBits, ttfbNanos / 1e6);
    }

    /** An attempt ended; {@code failure} when it counts against the backend, null when cancelled. */
    void attemptEnded(Boolean failure, long latencyNanos) {
        if (failure == null) {
            return;
        }
        if (failure) {
            failed.increment();
        } else {
            succeeded.increment();
            ewma(latencyBits, latencyNanos / 1e6);
        }
        completions.mark();
    }

    private static void ewma(AtomicLong bits, double sample) {
        while (true) {
            long cur = bits.get();
            double old = Double.longBitsToDouble(cur);
            double next = Double.isNaN(old) ? sample : old + EWMA_ALPHA * (sample - old);
            if (bits.compareAndSet(cur, Double.doubleToRawLongBits(next))) {
                return;
            }
        }
    }

    // ---- stats --------------------------------------------------------------------------------

    BackendStats stats(boolean admitted) {
        Scrape s = lastGood;
        long now = ticker.nanoTime();
        boolean fresh = steering != null;
        long load = Math.round(outstanding());
        int cap = capacity();
        BackendStats.DetailedMetrics dm = new BackendStats.DetailedMetrics(
                s == null ? 0 : Math.round(s.running),
                s == null ? 0 : Math.round(s.waiting),
                s == null || Double.isNaN(s.kvCacheUsage) ? Double.NaN : round1(s.kvCacheUsage * 100.0),
                s == null || Double.isNaN(s.maxFds) ? -1 : Math.round(s.maxFds),
                s == null ? -1 : (now - s.nanos) / 1_000_000L,
                !fresh);
        BackendStats.HealthStats hs = new BackendStats.HealthStats(health.healthy(), health.lastCheckEpochMillis(),
                health.consecutiveFailures(), health.successRate(), health.lastResponseMillis(), health.reason());
        BackendStats.RequestStats rs = new BackendStats.RequestStats(total.sum(), succeeded.sum(), failed.sum(),
                completions.perSecond(), Double.longBitsToDouble(latencyBits.get()),
                Double.longBitsToDouble(ttfbBits.get()));
        return new BackendStats(id, load, cap, Math.max(0, cap - load), round1(100.0 * load / cap), admitted, dm,
                models, inFlight.get(), circuitState(), draining, hs, rs);
    }

    static double round1(double d) {
        return Math.round(d * 10.0) / 10.0;
    }

    @Override
    public String toString() {
        return "Backend[" + id + ", inFlight=" + inFlight.get() + "]";
    }

    /** Completions per second over the last {@value #SECONDS} whole seconds. Per backend, tiny lock. */
    static final class RateMeter {
        static final int SECONDS = 5;
        private final Ticker ticker;
        private final long[] counts = new long[SECONDS + 1];
        private final long[] secondOf = new long[SECONDS + 1];

        RateMeter(Ticker ticker) {
            this.ticker = ticker;
        }

        synchronized void mark() {
            long sec = ticker.nanoTime() / 1_000_000_000L;
            int i = (int) Math.floorMod(sec, (long) counts.length);
            if (secondOf[i] != sec) {
                secondOf[i] = sec;
                counts[i] = 0;
            }
            counts[i]++;
        }

        synchronized double perSecond() {
            long sec = ticker.nanoTime() / 1_000_000_000L;
            long sum = 0;
            for (int i = 0; i < counts.length; i++) {
                // whole seconds before the current one
                if (secondOf[i] < sec && secondOf[i] >= sec - SECONDS) {
                    sum += counts[i];
                }
            }
            return (double) sum / SECONDS;
        }
    }
}
