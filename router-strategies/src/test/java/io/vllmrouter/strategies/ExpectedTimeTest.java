package io.vllmrouter.strategies;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.vllmrouter.api.spi.BackendSpeed;
import io.vllmrouter.api.spi.ExpectedTime;
import io.vllmrouter.api.spi.RequestSize;
import io.vllmrouter.testing.TestBackend;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The arithmetic {@code latency-aware}, {@code cache-aware} and the time-to-first-token objective share. */
class ExpectedTimeTest {

    /** 15 ms per token, 40 ms to the first token, 64-token answers: 1.0 s a typical request. */
    private static final TestBackend FAST = TestBackend.of(0, 8, 0, 0).withSpeed(15, 40, 64);
    /** 60 ms per token, 160 ms to the first token: 4.0 s a typical request. */
    private static final TestBackend SLOW = TestBackend.of(1, 2, 0, 0).withSpeed(60, 160, 64);

    @Test
    void serviceIsPrefillThenTheAnswerAtTheBackendsSpeed() {
        ExpectedTime t = ExpectedTime.of(RequestSize.UNKNOWN, List.of(FAST, SLOW));
        assertThat(t.outputTokens()).isEqualTo(64);
        assertThat(t.serviceSeconds(FAST)).isCloseTo(0.040 + 64 * 0.015, within(1e-12));
        assertThat(t.serviceSeconds(SLOW)).isCloseTo(0.160 + 64 * 0.060, within(1e-12));
        assertThat(t.completionSeconds(FAST)).as("idle: nothing ahead").isCloseTo(1.0, within(1e-12));
    }

    @Test
    void workAheadIsTheOutstandingWorkSharedBySlots() {
        TestBackend busy = FAST.withLoad(8, 4);  // 12 outstanding, 8 slots, 1.0 s each
        assertThat(ExpectedTime.workAheadSeconds(busy)).isCloseTo(12 * 1.0 / 8, within(1e-12));
        assertThat(ExpectedTime.workAheadSeconds(FAST.withLoad(4, 0))).as("half full counts").isCloseTo(0.5, within(1e-12));
        ExpectedTime t = ExpectedTime.of(RequestSize.UNKNOWN, List.of(busy));
        assertThat(t.completionSeconds(busy)).as("its wait for a slot, then its service")
                .isCloseTo(5 * 1.0 / 8 + 1.0, within(1e-12));
    }

    @Test
    void queueWaitStartsOnlyWhenEverySlotIsTaken() {
        assertThat(ExpectedTime.queueSeconds(FAST.withLoad(7, 0))).isZero();
        // 8 running: the next one waits for the first of them, 1/8 of a typical request on average.
        assertThat(ExpectedTime.queueSeconds(FAST.withLoad(8, 0))).isCloseTo(1.0 / 8, within(1e-12));
        assertThat(ExpectedTime.queueSeconds(FAST.withLoad(8, 3))).isCloseTo(4.0 / 8, within(1e-12));
        ExpectedTime t = ExpectedTime.of(RequestSize.UNKNOWN, List.of(FAST));
        assertThat(t.firstTokenSeconds(FAST.withLoad(8, 3))).isCloseTo(0.5 + 0.040, within(1e-12));
    }

    @Test
    void theRequestsOwnLimitCapsItsAnswerAndAPublishedPrefillRateWeighsItsPrompt() {
        ExpectedTime shortOne = ExpectedTime.of(new RequestSize(0, 4), List.of(FAST, SLOW));
        assertThat(shortOne.outputTokens()).isEqualTo(4);
        assertThat(shortOne.serviceSeconds(SLOW)).isCloseTo(0.160 + 4 * 0.060, within(1e-12));
        ExpectedTime generous = ExpectedTime.of(new RequestSize(0, 4096), List.of(FAST, SLOW));
        assertThat(generous.outputTokens()).as("a limit is a ceiling, not a forecast").isEqualTo(64);

        TestBackend prefills = FAST.withSpeed(new BackendSpeed(0.015, 0.040, 0.0002, 64, 1));
        ExpectedTime longPrompt = ExpectedTime.of(new RequestSize(8000, -1), List.of(prefills));
        assertThat(longPrompt.prefillSeconds(prefills)).isCloseTo(8000 * 0.0002, within(1e-12));
        assertThat(longPrompt.prefillSeconds(FAST)).as("no published rate: its time to first token").isEqualTo(0.040);
    }

    @Test
    void theTypicalAnswerIsTheCandidatesWeightedByConfidence() {
        TestBackend longAnswers = FAST.withSpeed(new BackendSpeed(0.015, 0.04, Double.NaN, 300, 0.75));
        TestBackend shortAnswers = SLOW.withSpeed(new BackendSpeed(0.06, 0.16, Double.NaN, 100, 0.25));
        assertThat(ExpectedTime.typicalOutputTokens(List.of(longAnswers, shortAnswers))).isCloseTo(250, within(1e-9));
        assertThat(ExpectedTime.typicalOutputTokens(List.of(TestBackend.of(0, 1, 0, 0))))
                .as("nothing measured: the default").isEqualTo(BackendSpeed.DEFAULT.outputTokens());
    }

    @Test
    void relativeLoadIsLeastLoadedsFigureOnEquallyFastBackendsWithFreeSlots() {
        List<TestBackend> same = List.of(TestBackend.of(0, 8, 6, 0), TestBackend.of(1, 4, 3, 0), TestBackend.of(2, 10, 7, 2));
        ExpectedTime t = ExpectedTime.of(RequestSize.UNKNOWN, same);
        for (TestBackend b : same) {
            assertThat(t.relativeLoad(b)).as(b.id()).isEqualTo(b.outstanding() / b.capacity());
        }
        // A queue adds its cost: 15 outstanding on 10 slots wait 6/10 of a service, weighed 3 / 0.25.
        TestBackend queued = TestBackend.of(3, 10, 10, 5);
        assertThat(t.relativeLoad(queued)).isCloseTo(1.5 + 3 * 0.6 / 0.25, within(1e-12));
        // An idle slow backend costs this request (4.0 - 1.0) / (0.25 * 1.0) = 12 against an idle fast one.
        ExpectedTime mixed = ExpectedTime.of(RequestSize.UNKNOWN, List.of(FAST, SLOW));
        assertThat(mixed.relativeLoad(FAST)).isZero();
        assertThat(mixed.relativeLoad(SLOW)).isCloseTo(12.0, within(1e-12));
    }

    @Test
    void theCostWeighsTheWaitAndTheWorkAhead() {
        TestBackend busy = FAST.withLoad(8, 4);
        ExpectedTime t = ExpectedTime.of(RequestSize.UNKNOWN, List.of(busy));
        assertThat(t.cost(busy, 1, 0)).as("the expected completion").isCloseTo(t.completionSeconds(busy), within(1e-12));
        assertThat(t.cost(busy, ExpectedTime.QUEUE_WEIGHT, ExpectedTime.LOAD_WEIGHT))
                .isCloseTo(1.0 + 3 * 5.0 / 8 + 0.25 * 12.0 / 8, within(1e-12));
    }
}
