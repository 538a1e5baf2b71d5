package io.vllmrouter.examples.server;

import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.api.time.Ticker;
import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.exchange.KeyLimits;

import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What the front door's handlers share, one per {@link ProxyServer}: the router, the options, the
 * front-door settings now in force, the per-key limits, the request-body memory budget, the count of
 * response bytes held, and the exchanges in flight (which a stop drains). Thread-safe; nothing here
 * takes a lock on the request path (the drain's monitor is taken only while stopping).
 */
public final class ProxyContext {

    private final VllmRouter router;
    private final ProxyOptions options;
    private final Instant startedAt = Instant.now();
    private final KeyLimits keyLimits = new KeyLimits(Ticker.system());
    private final AtomicInteger active = new AtomicInteger();
    private final AtomicLong buffered = new AtomicLong();
    private final AtomicLong maxBuffered = new AtomicLong();
    private final AtomicLong bodyBytes = new AtomicLong();
    private final Object drainLock = new Object();
    private volatile boolean stopping;
    /** The front-door settings of the configuration last seen; replaced when the configuration is. */
    private volatile Access access;
    /** The web dashboard's data source, set once the server is bound. */
    private volatile io.vllmrouter.examples.dashboard.WebDashboardFeed dashboard;

    /** The context of a server on {@code router} with {@code options}; {@link ProxyServer#start} makes one. */
    public ProxyContext(VllmRouter router, ProxyOptions options) {
        this.router = router;
        this.options = options;
    }

    public VllmRouter router() {
        return router;
    }

    public ProxyOptions options() {
        return options;
    }

    public Instant startedAt() {
        return startedAt;
    }

    /** The front-door settings now in force (read per connection and request, so a reload applies). */
    public FrontDoorConfig access() {
        io.vllmrouter.api.RouterSettings config = router.config();
        Access a = access;
        if (a == null || a.config != config) { // the first call, or a reload swapped the configuration
            a = new Access(config, io.vllmrouter.examples.server.config.FrontDoorSettings.of(config));
            access = a;
        }
        return a.settings;
    }

    /** The front-door settings read from one configuration object (looked up once per configuration). */
    private record Access(io.vllmrouter.api.RouterSettings config, FrontDoorConfig settings) {
    }

    /** Largest request body forwarded: the options' when set, else the configuration's. */
    public long maxBodyBytes() {
        return options.maxBodyBytes() > 0 ? options.maxBodyBytes() : access().maxBodyBytes();
    }

    public KeyLimits keyLimits() {
        return keyLimits;
    }

    /** The web dashboard's data (its history kept here), or null before the server is bound. */
    public io.vllmrouter.examples.dashboard.WebDashboardFeed dashboard() {
        return dashboard;
    }

    void dashboard(io.vllmrouter.examples.dashboard.WebDashboardFeed feed) {
        this.dashboard = feed;
    }

    /** Whether a stop has begun: new requests are refused. */
    public boolean stopping() {
        return stopping;
    }

    void beginStop() {
        stopping = true;
        io.vllmrouter.examples.dashboard.WebDashboardFeed d = dashboard;
        if (d != null) {
            d.close();
        }
    }

    // ---- exchanges in flight ------------------------------------------------------------------

    /** A request's head arrived. */
    public void exchangeStarted() {
        active.incrementAndGet();
    }

    /** A request was answered (or its connection lost); once per {@link #exchangeStarted()}. */
    public void exchangeEnded() {
        if (active.decrementAndGet() == 0 && stopping) {
            synchronized (drainLock) {
                drainLock.notifyAll();
            }
        }
    }

    int activeExchanges() {
        return active.get();
    }

    /** Waits until no exchange is in flight or {@code deadlineNanos} ({@link System#nanoTime()}) passed. */
    void awaitDrained(long deadlineNanos) {
        synchronized (drainLock) {
            while (active.get() > 0) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return;
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(drainLock, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    // ---- memory -------------------------------------------------------------------------------

    /** Response bytes taken from a backend and handed to a client's write ({@code delta} may be negative). */
    public void buffered(long delta) {
        long now = buffered.addAndGet(delta);
        long max;
        while (delta > 0 && now > (max = maxBuffered.get()) && !maxBuffered.compareAndSet(max, now)) {
            // another thread raised the high-water mark meanwhile: compare with the new one
        }
    }

    /** Response bytes held for clients now: taken from a backend, not yet taken by a client's socket. */
    public long bufferedResponseBytes() {
        return buffered.get();
    }

    long maxBufferedResponseBytes() {
        return maxBuffered.get();
    }

    /** Reserves {@code n} bytes of request-body memory; false when max_buffered_body_bytes would be exceeded. */
    public boolean reserveBody(long n) {
        long max = access().maxBufferedBodyBytes();
        while (true) {
            long now = bodyBytes.get();
            if (now + n > max) {
                return false;
            }
            if (bodyBytes.compareAndSet(now, now + n)) {
                return true;
            }
        }
    }

    public void releaseBody(long n) {
        bodyBytes.addAndGet(-n);
    }

    long bufferedBodyBytes() {
        return bodyBytes.get();
    }
}
