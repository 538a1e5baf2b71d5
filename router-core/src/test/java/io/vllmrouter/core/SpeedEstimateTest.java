package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.vllmrouter.api.spi.BackendSpeed;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.LatencyCounters;
import io.vllmrouter.core.metrics.MetricsFormatException;
import io.vllmrouter.core.metrics.PrometheusParser;
import io.vllmrouter.testing.FakeClock;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A backend's speed estimate: histogram rates, relayed streams, decay and seeding. */
class SpeedEstimateTest {

    private static final long SECOND = 1_000_000_000L;

    private final FakeClock clock = new FakeClock();

    private static LatencyCounters page(String name) throws IOException, MetricsFormatException {
        try (InputStream in = SpeedEstimateTest.class.getResourceAsStream("/fixtures/metrics/latency/" + name)) {
            return PrometheusParser.parseLoad(new String(in.readAllBytes(), StandardCharsets.UTF_8)).latency();
        }
    }

    private Backend backend(String url) {
        return new Backend(new ServerConfig(url, 4), 0, clock, 6 * SECOND);
    }

    @Test
    void betweenTwoScrapesEachFigureIsTheRateOfItsSumOverTheRateOfItsCount() throws Exception {
        // fixtures/metrics/latency/README.md: engines summed, scrape 2 minus scrape 1.
        SpeedEstimate.Samples s = SpeedEstimate.between(page("vllm-v0.11-dp2-scrape1.txt"), page("vllm-v0.11-dp2-scrape2.txt"));
        assertThat(s.gaps()).isEqualTo(400);
        assertThat(s.gapSeconds() / s.gaps()).as("time per output token").isCloseTo(0.020, within(1e-12));
        assertThat(s.prefills()).isEqualTo(7);
        assertThat(s.prefillSeconds() / s.prefills()).as("time to first token, no queueing").isCloseTo(0.3, within(1e-12));
        assertThat(s.promptTokens()).isEqualTo(4200);
        assertThat(s.promptSeconds() / s.promptTokens()).as("prefill per prompt token").isCloseTo(0.0005, within(1e-12));
        assertThat(s.answers()).isEqualTo(7);
        assertThat(s.outputTokens() / s.answers()).as("answer length").isCloseTo(128, within(1e-9));
    }

    @Test
    void aFirstScrapeIsTheServersLifetimeAverageWithALimitedWeight() throws Exception {
        SpeedEstimate.Samples s = SpeedEstimate.between(null, page("vllm-v0.11-dp2-scrape1.txt"));
        assertThat(s.gaps()).as("1,800 gaps since start count as 256").isEqualTo(SpeedEstimate.FIRST_SCRAPE_GAPS);
        assertThat(s.gapSeconds() / s.gaps()).isCloseTo(25.0 / 1800, within(1e-12));
        assertThat(s.prefills()).isEqualTo(SpeedEstimate.FIRST_SCRAPE_REQUESTS);
        assertThat(s.prefillSeconds() / s.prefills()).isCloseTo(0.1, within(1e-12));
        assertThat(s.outputTokens() / s.answers()).isCloseTo(128, within(1e-9));
    }

    @Test
    void aCounterThatWentBackIsARestartAndAMissingFamilyAddsNothing() throws Exception {
        LatencyCounters before = page("vllm-v0.11-dp2-scrape2.txt");
        LatencyCounters restarted = new LatencyCounters(0.6, 30, Double.NaN, Double.NaN, Double.NaN, 640, 5);
        SpeedEstimate.Samples s = SpeedEstimate.between(before, restarted);
        assertThat(s.gaps()).isEqualTo(30);
        assertThat(s.gapSeconds()).isCloseTo(0.6, within(1e-12));
        assertThat(s.prefills()).isZero();
        assertThat(s.promptTokens()).isZero();
        assertThat(s.answers()).isEqualTo(5);
        assertThat(s.outputTokens()).isEqualTo(640);
    }

    @Test
    void scrapesAreDecayedBetweenAndTheSeedCountsAsAFewSamples() throws Exception {
        Backend b = backend("http://gpu:8000");
        b.speedEstimate.scraped(page("vllm-v0.11-dp2-scrape1.txt"), 0);
        b.speedEstimate.scraped(page("vllm-v0.11-dp2-scrape2.txt"), 2 * SECOND);
        // Recent figures: the lifetime sample (256 gaps at 25/1800 s) decayed over 2 s of a 10 s
        // half-life, the interval's 400 gaps at 20 ms, and 16 gaps of the history; the history: the
        // same samples decayed over 2 s of 200 s, and 16 gaps of the seed (the default, 20 ms).
        double f = Math.pow(0.5, 0.2);
        double fh = Math.pow(0.5, 0.01);
        double history = (fh * 256 * 25.0 / 1800 + 8.0 + 16 * 0.020) / (fh * 256 + 400 + 16);
        double expected = (f * 256 * 25.0 / 1800 + 8.0 + 16 * history) / (f * 256 + 400 + 16);
        assertThat(b.speed().timePerOutputToken()).isCloseTo(expected, within(1e-12));
        assertThat(b.speed().confidence()).isCloseTo((f * 256 + 400) / (f * 256 + 400 + 16), within(1e-12));
        // Prefill: 8 lifetime requests at 0.1 s, 7 at 0.3 s, the prior as 2.
        double ttftHistory = (fh * 8 * 0.1 + 2.1 + 2 * 0.2) / (fh * 8 + 7 + 2);
        assertThat(b.speed().timeToFirstToken())
                .isCloseTo((f * 8 * 0.1 + 2.1 + 2 * ttftHistory) / (f * 8 + 7 + 2), within(1e-12));
        double perTokenHistory = (fh * 2048 * 9.0 / 45000 + 2.1) / (fh * 2048 + 4200);  // no seed to blend with
        assertThat(b.speed().prefillPerToken())
                .isCloseTo((f * 2048 * 9.0 / 45000 + 2.1 + 256 * perTokenHistory) / (f * 2048 + 4200 + 256), within(1e-12));
        assertThat(b.stats().speed().timePerOutputTokenMillis()).isCloseTo(expected * 1000, within(1e-9));
    }

    @Test
    void relayedStreamsStandInOnlyForWhatTheHistogramsDoNotSayOrWhileScrapesAreStale() throws Exception {
        Backend b = backend("http://gpu:8000");
        b.speedEstimate.scraped(page("vllm-v0.11-dp2-scrape1.txt"), 0);
        b.speedEstimate.scraped(page("vllm-v0.11-dp2-scrape2.txt"), 2 * SECOND);
        BackendSpeed fromHistograms = b.speed();
        b.relayedSpeed.stream(900_000_000, 40, 10_000_000_000L, 100, 101);   // 100 ms per token, 900 ms first token
        b.speedEstimate.relayed(b.relayedSpeed.drain(), 2 * SECOND, true);
        assertThat(b.speed()).as("every figure from the histograms, the same for every router replica")
                .isEqualTo(fromHistograms);

        b.relayedSpeed.stream(900_000_000, 40, 10_000_000_000L, 100, 101);
        b.speedEstimate.relayed(b.relayedSpeed.drain(), 2 * SECOND, false);
        assertThat(b.speed().timePerOutputToken()).as("scrapes stale: the relayed streams count")
                .isGreaterThan(fromHistograms.timePerOutputToken());
        assertThat(b.speed().timeToFirstToken()).isGreaterThan(fromHistograms.timeToFirstToken());

        Backend partial = backend("http://other:8000");
        // A server that publishes its token gaps and answers but no prefill histogram.
        partial.speedEstimate.scraped(new LatencyCounters(2.0, 100, Double.NaN, Double.NaN, Double.NaN, 1280, 10), 0);
        BackendSpeed scraped = partial.speed();
        partial.relayedSpeed.stream(900_000_000, 40, 10_000_000_000L, 100, 101);
        partial.speedEstimate.relayed(partial.relayedSpeed.drain(), 0, true);
        assertThat(partial.speed().timePerOutputToken()).isEqualTo(scraped.timePerOutputToken());
        assertThat(partial.speed().outputTokens()).isEqualTo(scraped.outputTokens());
        assertThat(partial.speed().timeToFirstToken()).as("the first token only from the streams")
                .isGreaterThan(scraped.timeToFirstToken());
    }

    @Test
    void theEstimateFollowsABackendThatSlowsDown() {
        Backend b = backend("http://gpu:8000");
        long t = 0;
        // A minute of relayed streams at 20 ms per token, 100 gaps every 2 s.
        for (; t <= 60 * SECOND; t += 2 * SECOND) {
            b.relayedSpeed.stream(-1, 0, 2_000_000_000L, 100, 101);
            SpeedEstimate.round(List.of(b), t);
        }
        assertThat(b.speed().timePerOutputToken()).isCloseTo(0.020, within(1e-9));
        // It slows to 60 ms per token (thermal throttling, a bigger batch).
        long change = t;
        for (; t <= change + 10 * SECOND; t += 2 * SECOND) {
            b.relayedSpeed.stream(-1, 0, 6_000_000_000L, 100, 101);
            SpeedEstimate.round(List.of(b), t);
        }
        assertThat(b.speed().timePerOutputToken()).as("one half-life later, past the middle")
                .isGreaterThan(0.040).isLessThan(0.060);
        for (; t < change + 100 * SECOND; t += 2 * SECOND) {
            b.relayedSpeed.stream(-1, 0, 6_000_000_000L, 100, 101);
            SpeedEstimate.round(List.of(b), t);
        }
        // Nearly all of it measured; the 16 gaps of history (still partly the old speed) pull a little.
        assertThat(b.speed().timePerOutputToken()).isCloseTo(0.060, within(0.0005));
    }

    @Test
    void aShorterHalfLifeFollowsSooner() {
        Backend slowToFollow = backend("http://a:8000");
        Backend quick = backend("http://b:8000");
        quick.speedEstimate.halfLifeNanos(2 * SECOND);
        for (Backend b : List.of(slowToFollow, quick)) {
            long t = 0;
            for (; t <= 30 * SECOND; t += 2 * SECOND) {
                b.relayedSpeed.stream(-1, 0, 2_000_000_000L, 100, 101);
                SpeedEstimate.round(List.of(b), t);
            }
            for (long end = t + 4 * SECOND; t <= end; t += 2 * SECOND) {
                b.relayedSpeed.stream(-1, 0, 6_000_000_000L, 100, 101);
                SpeedEstimate.round(List.of(b), t);
            }
        }
        assertThat(quick.speed().timePerOutputToken()).isGreaterThan(slowToFollow.speed().timePerOutputToken() + 0.010);
    }

    @Test
    void aNewBackendStartsFromTheMedianOfTheOthersAndWithNoneMeasuredFromTheDefault() {
        Backend a = backend("http://a:8000");
        Backend b = backend("http://b:8000");
        Backend c = backend("http://c:8000");
        Backend fresh = backend("http://new:8000");
        SpeedEstimate.round(List.of(fresh), 0);
        assertThat(fresh.speed()).isEqualTo(BackendSpeed.DEFAULT);

        a.relayedSpeed.stream(100_000_000, 40, 6_400_000_000L, 640, 641);   // 10 ms per token, 100 ms first token
        b.relayedSpeed.stream(300_000_000, 40, 19_200_000_000L, 640, 641);  // 30 ms, 300 ms
        c.relayedSpeed.stream(900_000_000, 40, 57_600_000_000L, 640, 641);  // 90 ms, 900 ms
        SpeedEstimate.round(List.of(a, b, c, fresh), SECOND);
        // The median of the three measured ones (b's: its samples over its history over the default
        // seed, each prior as 16 gaps or 2 requests), nothing measured of its own.
        double bHistory = (19.2 + 16 * 0.020) / 656;
        assertThat(fresh.speed().timePerOutputToken()).isCloseTo((19.2 + 16 * bHistory) / 656, within(1e-12));
        double bTtftHistory = (0.3 + 2 * 0.200) / 3;
        assertThat(fresh.speed().timeToFirstToken()).isCloseTo((0.3 + 2 * bTtftHistory) / 3, within(1e-12));
        assertThat(fresh.speed().confidence()).isZero();
        assertThat(fresh.speed().prefillPerToken()).isNaN();
        // A measured backend keeps its own figures, pulled only a little towards the others'.
        assertThat(c.speed().timePerOutputToken()).isCloseTo(0.090, within(0.003));
        assertThat(c.speed().confidence()).isCloseTo(640.0 / 656, within(1e-12));
    }

    @Test
    void aBackendLeftAloneKeepsItsOwnHistoryForMinutesThenReturnsToTheFleetsFigures() {
        Backend slow = backend("http://slow:8000");
        Backend other = backend("http://other:8000");
        Backend third = backend("http://third:8000");
        slow.relayedSpeed.stream(-1, 0, 64_000_000_000L, 1000, 1001);   // 64 ms per token
        other.relayedSpeed.stream(-1, 0, 16_000_000_000L, 1000, 1001);  // 16 ms
        third.relayedSpeed.stream(-1, 0, 16_000_000_000L, 1000, 1001);
        SpeedEstimate.round(List.of(slow, other, third), 0);
        assertThat(slow.speed().timePerOutputToken()).isCloseTo(0.064, within(0.001));
        long t = 2 * SECOND;
        // No traffic to it for two minutes (the others keep theirs): its recent figures are gone, its
        // history is not: the router does not take the slow card for a fast one.
        for (; t <= 120 * SECOND; t += 2 * SECOND) {
            keepBusy(List.of(slow, other, third), t);
        }
        assertThat(slow.speed().confidence()).isLessThan(0.1);
        assertThat(slow.speed().timePerOutputToken()).isCloseTo(0.064, within(0.002));
        // An hour later its history has faded too: it looks like the rest of the fleet, and is tried again.
        for (; t <= 3600 * SECOND; t += 2 * SECOND) {
            keepBusy(List.of(slow, other, third), t);
        }
        assertThat(slow.speed().timePerOutputToken()).isCloseTo(0.016, within(0.0005));
    }

    /** One round in which every backend but the first relays 100 gaps at 16 ms. */
    private static void keepBusy(List<Backend> fleet, long t) {
        for (Backend b : fleet.subList(1, fleet.size())) {
            b.relayedSpeed.stream(-1, 0, 1_600_000_000L, 100, 101);
        }
        SpeedEstimate.round(fleet, t);
    }

    @Test
    void relayedFirstTokensCountOnlyWhenTheRequestDidNotWaitForASlot() {
        Backend b = backend("http://gpu:8000");
        b.relayedSpeed.stream(-1, 40, 640_000_000, 64, 65);            // waited: no first-token sample
        b.relayedSpeed.stream(50_000_000, 40, 640_000_000, 64, 65);    // 50 ms
        RelayedSpeed.Delta d = b.relayedSpeed.drain();
        assertThat(d.firstTokens()).isEqualTo(1);
        assertThat(d.firstTokenSeconds()).isCloseTo(0.05, within(1e-12));
        assertThat(d.promptTokens()).isEqualTo(40);
        assertThat(d.tokenGaps()).isEqualTo(128);
        assertThat(d.decodeSeconds()).isCloseTo(1.28, within(1e-12));
        assertThat(d.streams()).isEqualTo(2);
        assertThat(d.outputTokens()).isEqualTo(130);
        assertThat(b.relayedSpeed.drain().streams()).as("drained once").isZero();
    }
}
