package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.metrics.LoadMetrics;
import io.vllmrouter.testing.FakeClock;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The load estimate between scrapes, and staleness. */
class BackendLoadTest {

    private final FakeClock clock = new FakeClock();
    private final Backend b = new Backend(new ServerConfig("http://gpu:8000", 4), 0, clock,
            Duration.ofSeconds(6).toNanos());

    @Test
    void withoutAScrapeTheRoutersOwnInFlightCountStandsIn() {
        b.load.inFlight.set(3);
        assertThat(b.metricsFresh()).isFalse();
        assertThat(b.running()).isEqualTo(3);
        assertThat(b.waiting()).isZero();
        assertThat(b.kvCacheUsage()).isNaN();
    }

    @Test
    void requestsSentSinceTheScrapeAreAddedAndFinishedOnesRemoved() {
        b.load.inFlight.set(1);
        b.load.scraped(new LoadMetrics(2, 1, 0.5, 1024));
        assertThat(b.running()).isEqualTo(2);
        assertThat(b.waiting()).isEqualTo(1);
        b.load.inFlight.set(4); // three more sent: total 6, capacity 4 (running was 2 < 4)
        assertThat(b.outstanding()).isEqualTo(6);
        assertThat(b.running()).isEqualTo(4);
        assertThat(b.waiting()).isEqualTo(2);
        b.load.inFlight.set(0); // all ours finished: 3 - 1 = 2
        assertThat(b.outstanding()).isEqualTo(2);
        assertThat(b.running()).isEqualTo(2);
        assertThat(b.waiting()).isZero();
        assertThat(b.kvCacheUsage()).isCloseTo(0.5, within(1e-9));
    }

    @Test
    void theEstimateNeverGoesBelowZero() {
        b.load.inFlight.set(5);
        b.load.scraped(new LoadMetrics(1, 0, 0.1, 10));
        b.load.inFlight.set(0);
        assertThat(b.running()).isZero();
        assertThat(b.waiting()).isZero();
    }

    @Test
    void runningAboveCapacityIsKeptAsScraped() {
        b.load.scraped(new LoadMetrics(7, 3, 0.9, 10));
        assertThat(b.running()).isEqualTo(7);
        assertThat(b.waiting()).isEqualTo(3);
    }

    @Test
    void figuresGoStaleAfterTheirTimeOrAtOnceOnAFailedScrape() {
        b.load.scraped(new LoadMetrics(3, 2, 0.4, 10));
        clock.advance(Duration.ofSeconds(6));
        b.load.checkStaleness(); // what each scrape round does
        assertThat(b.metricsFresh()).isTrue();
        clock.advance(Duration.ofMillis(1));
        assertThat(b.metricsFresh()).as("judged at the next scrape round, not on the request path").isTrue();
        b.load.checkStaleness();
        assertThat(b.metricsFresh()).isFalse();
        assertThat(b.running()).isZero();

        b.load.scraped(new LoadMetrics(3, 2, 0.4, 10));
        assertThat(b.metricsFresh()).isTrue();
        b.load.scrapeFailed();
        assertThat(b.metricsFresh()).isFalse();
        assertThat(b.outstanding()).isZero();
        assertThat(b.stats().detailedMetrics().numRequestsRunning()).as("last good figures still shown").isEqualTo(3);
        assertThat(b.stats().detailedMetrics().stale()).isTrue();
    }

    @Test
    void aPageWithoutLoadFiguresCountsAsFailed() {
        b.load.scraped(new LoadMetrics(3, 2, 0.4, 10));
        b.load.scraped(LoadMetrics.EMPTY);
        assertThat(b.metricsFresh()).isFalse();
    }
}
