package io.vllmrouter.examples.server.exchange;

import io.vllmrouter.api.time.Ticker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(10)
class KeyLimitsTest {

    private final AtomicLong now = new AtomicLong(1_000_000_000L);
    private final KeyLimits limits = new KeyLimits(new Ticker() {
        @Override public long nanoTime() { return now.get(); }
        @Override public long currentTimeMillis() { return now.get() / 1_000_000; }
    });

    @Test
    void aMinutesWorthThenOneEveryInterval() {
        for (int i = 0; i < 60; i++) {
            assertThat(limits.acquire("k", 60, 0)).isZero();
        }
        assertThat(limits.acquire("k", 60, 0)).isEqualTo(1);
        assertThat(limits.acquire("other", 60, 0)).isZero();
        now.addAndGet(1_000_000_000L);
        assertThat(limits.acquire("k", 60, 0)).isZero();
        assertThat(limits.acquire("k", 60, 0)).isEqualTo(1);
    }

    @Test
    void slowRatesAskForALongerWait() {
        assertThat(limits.acquire("k", 2, 0)).isZero();
        assertThat(limits.acquire("k", 2, 0)).isZero();
        assertThat(limits.acquire("k", 2, 0)).isEqualTo(30);
    }

    @Test
    void concurrencyIsHeldUntilReleased() {
        assertThat(limits.acquire("k", 0, 2)).isZero();
        assertThat(limits.acquire("k", 0, 2)).isZero();
        assertThat(limits.acquire("k", 0, 2)).isEqualTo(1);
        limits.release("k");
        assertThat(limits.acquire("k", 0, 2)).isZero();
    }
}
