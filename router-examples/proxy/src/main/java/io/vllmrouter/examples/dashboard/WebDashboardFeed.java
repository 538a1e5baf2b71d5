package io.vllmrouter.examples.dashboard;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.time.Scheduler;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The web dashboard's server side: samples the fleet into a {@link DashboardHistory} every
 * {@link DashboardHistory#INTERVAL_SECONDS} seconds from the moment the proxy starts, and answers the
 * page's {@code /dashboard/data} with {@link DashboardData}. A page opened late still shows the last
 * ten minutes.
 *
 * <pre>{@code
 * WebDashboardFeed feed = WebDashboardFeed.start(router::stats, metrics::requestsByOutcome,
 *         () -> ServerNames.of(router.config()), info, scheduler);
 * ObjectNode json = feed.data();
 * feed.close();
 * }</pre>
 *
 * <p>Threads: sampling runs on {@code scheduler}; {@link #data} on any thread.
 */
public final class WebDashboardFeed implements AutoCloseable {

    private final Supplier<RouterStats> stats;
    private final Supplier<Map<String, Long>> outcomes;
    private final Supplier<Map<String, String>> names;
    private final DashboardInfo info;
    private final DashboardHistory history = new DashboardHistory();
    private final Scheduler.Cancellable task;

    private WebDashboardFeed(Supplier<RouterStats> stats, Supplier<Map<String, Long>> outcomes,
                             Supplier<Map<String, String>> names, DashboardInfo info, Scheduler scheduler) {
        this.stats = stats;
        this.outcomes = outcomes;
        this.names = names;
        this.info = info;
        this.task = scheduler.scheduleAtFixedRate(this::sample, Duration.ZERO,
                Duration.ofSeconds(DashboardHistory.INTERVAL_SECONDS));
    }

    /** Starts sampling on {@code scheduler} now. */
    public static WebDashboardFeed start(Supplier<RouterStats> stats, Supplier<Map<String, Long>> outcomes,
                                         Supplier<Map<String, String>> names, DashboardInfo info, Scheduler scheduler) {
        return new WebDashboardFeed(stats, outcomes, names, info, scheduler);
    }

    private void sample() {
        history.sample(stats.get(), outcomes.get(), Instant.now());
    }

    /** The page's data now. */
    public ObjectNode data() {
        return DashboardData.of(stats.get(), names.get(), history.samples(), info, Instant.now());
    }

    @Override
    public void close() {
        task.cancel();
    }
}
