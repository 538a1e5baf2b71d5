package io.vllmrouter.api.time;

import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;

/**
 * The router's one source of time. Production uses {@link #system()}; tests use router-test-support's
 * {@code FakeClock}, which implements both this and {@link Scheduler} and moves only when told.
 */
public interface Ticker {

    /** Monotonic nanoseconds, for durations. */
    long nanoTime();

    /** Wall-clock milliseconds since the epoch, for timestamps shown to people. */
    long currentTimeMillis();

    default Instant now() {
        return Instant.ofEpochMilli(currentTimeMillis());
    }

    /**
     * A {@link Clock} view for libraries that take one (Resilience4j's circuit breaker), reading
     * the same time as this ticker.
     */
    default Clock asClock() {
        Ticker self = this;
        return new Clock() {
            @Override public ZoneOffset getZone() { return ZoneOffset.UTC; }
            @Override public Clock withZone(java.time.ZoneId zone) { return this; }
            @Override public Instant instant() { return self.now(); }
            @Override public long millis() { return self.currentTimeMillis(); }
        };
    }

    static Ticker system() {
        return SystemTicker.INSTANCE;
    }

    /** The real clock. */
    enum SystemTicker implements Ticker {
        INSTANCE;

        @Override public long nanoTime() { return System.nanoTime(); }
        @Override public long currentTimeMillis() { return System.currentTimeMillis(); }
    }
}
