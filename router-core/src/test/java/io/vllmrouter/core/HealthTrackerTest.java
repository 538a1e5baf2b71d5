package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class HealthTrackerTest {

    private static final HealthTracker.Rules RULES = new HealthTracker.Rules(3, 2, 10, 0.8);
    private final HealthTracker t = new HealthTracker();

    private HealthTracker.Change ok() {
        return t.record(true, 5, null, 0, RULES);
    }

    private HealthTracker.Change fail() {
        return t.record(false, 5, "status 500", 0, RULES);
    }

    @Test
    void aNewBackendIsNotHealthyUntilItsFirstCheckPasses() {
        assertThat(t.healthy()).isFalse();
        assertThat(t.everPassed()).isFalse();
        assertThat(t.reason()).isEqualTo(HealthTracker.NOT_CHECKED);
        assertThat(fail()).as("never admitted, so nothing to eject").isNull();
        assertThat(fail()).isNull();
        assertThat(fail()).isNull();
        assertThat(fail()).isNull();
        assertThat(t.healthy()).isFalse();
        assertThat(t.reason()).isEqualTo("health check failed: status 500");
        assertThat(t.consecutiveFailures()).isEqualTo(4);
        assertThat(ok()).as("one pass admits a new backend").isEqualTo(HealthTracker.Change.ADMITTED);
        assertThat(t.healthy()).isTrue();
        assertThat(t.reason()).isNull();
        assertThat(t.successRate()).as("the failures before it are forgotten").isEqualTo(1.0);
        assertThat(ok()).isNull();
    }

    @Test
    void resetAdmitsWithoutAnyCheck() {
        assertThat(t.reset()).isTrue();
        assertThat(t.healthy()).isTrue();
        assertThat(t.everPassed()).isTrue();
    }

    @Test
    void ejectsAfterConsecutiveFailures() {
        assertThat(ok()).isEqualTo(HealthTracker.Change.ADMITTED);
        assertThat(t.healthy()).isTrue();
        assertThat(fail()).isNull();
        assertThat(fail()).isNull();
        assertThat(fail()).isEqualTo(HealthTracker.Change.EJECTED);
        assertThat(t.healthy()).isFalse();
        assertThat(t.reason()).contains("3 consecutive").contains("status 500");
        assertThat(fail()).isNull();
    }

    @Test
    void readmitsAfterConsecutiveSuccessesAndClearsTheWindow() {
        ok();
        fail();
        fail();
        fail();
        assertThat(ok()).isNull();
        assertThat(fail()).isNull();
        assertThat(ok()).isNull();
        assertThat(ok()).isEqualTo(HealthTracker.Change.READMITTED);
        assertThat(t.healthy()).isTrue();
        assertThat(t.reason()).isNull();
        assertThat(t.successRate()).isEqualTo(1.0);
        // old failures are gone: one new failure does not eject
        assertThat(fail()).isNull();
        assertThat(t.healthy()).isTrue();
    }

    @Test
    void ejectsWhenTheRecentSuccessRateFallsBelowTheMinimum() {
        // alternating: never 3 failures in a row, but a 50% success rate
        ok(); // admits; the window starts afresh after it
        HealthTracker.Change last = null;
        int checks = 0;
        while (last == null && checks < 20) {
            last = (checks++ % 2 == 0) ? ok() : fail();
        }
        assertThat(last).isEqualTo(HealthTracker.Change.EJECTED);
        assertThat(checks).isEqualTo(RULES.minSamples());
        assertThat(t.reason()).contains("success rate");
    }

    @Test
    void oneEarlyFailureDoesNotEjectThroughTheRate() {
        ok(); // admits
        ok();
        assertThat(fail()).isNull();
        ok();
        ok();
        assertThat(t.healthy()).isTrue();
        assertThat(t.successRate()).isEqualTo(0.75);
    }

    @Test
    void theWindowSlides() {
        for (int i = 0; i < 2; i++) {
            fail();
        }
        for (int i = 0; i < 10; i++) {
            ok();
        }
        assertThat(t.successRate()).isEqualTo(1.0);
        assertThat(t.consecutiveFailures()).isZero();
    }
}
