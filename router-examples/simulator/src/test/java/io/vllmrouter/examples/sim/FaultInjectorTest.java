package io.vllmrouter.examples.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** The faults in force and the holds, without a server. */
class FaultInjectorTest {

    /** Released once per hold taken or let go. */
    private final Semaphore holdsChanged = new Semaphore(0);
    private final FaultInjector faults = new FaultInjector(SimConfig.builder().faults(new Faults(0, true, 0)).build(),
            holdsChanged::release);

    @Test
    void theConfiguredFaultsAreInForceUntilReplaced() {
        assertThat(faults.faults().hang()).isTrue();
        faults.faults(Faults.NONE);
        assertThat(faults.faults()).isEqualTo(Faults.NONE);
        assertThatThrownBy(() -> faults.faults(null)).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aHangHoldsItsThreadAndIsCountedByPathUntilReleased() throws Exception {
        CompletableFuture<Void> one = CompletableFuture.runAsync(() -> faults.hang("/v1/completions"));
        CompletableFuture<Void> two = CompletableFuture.runAsync(() -> faults.hang("/v1/completions"));
        assertThat(holdsChanged.tryAcquire(2, 10, TimeUnit.SECONDS)).isTrue();
        assertThat(faults.hanging("/v1/completions")).isEqualTo(2);
        assertThat(faults.hanging("/health")).isZero();
        assertThat(one).isNotDone();

        faults.releaseAll();
        CompletableFuture.allOf(one, two).get(10, TimeUnit.SECONDS);
        assertThat(faults.hanging("/v1/completions")).isZero();

        faults.hang("/v1/completions");   // released for good: returns at once
        assertThat(faults.hanging("/v1/completions")).isZero();
    }
}
