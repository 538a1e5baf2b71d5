package io.vllmrouter.examples.dashboard;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterStats;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The last minutes of the fleet, kept in the proxy so that a page opened now shows them: one sample
 * every {@link #INTERVAL_SECONDS} seconds, {@link #SAMPLES} kept (ten minutes). Each sample holds, per
 * server, the recent mean time to first byte and latency, completions per second and in-flight
 * requests; for the fleet, the requests counted by outcome and the cache-aware figures, whose
 * differences between samples give rates.
 *
 * <pre>{@code
 * DashboardHistory h = new DashboardHistory();
 * scheduler.scheduleAtFixedRate(() -> h.sample(router.stats(), metrics.requestsByOutcome(), Instant.now()),
 *         Duration.ZERO, Duration.ofSeconds(DashboardHistory.INTERVAL_SECONDS));
 * }</pre>
 *
 * <p>Threads: {@link #sample} from one scheduler thread, {@link #samples} from request threads; both
 * take this object's monitor (a few hundred small records, copied on read).
 */
public final class DashboardHistory {

    /** Seconds between samples. */
    public static final int INTERVAL_SECONDS = 5;
    /** Samples kept: ten minutes. */
    public static final int SAMPLES = 120;

    /**
     * One server at one time.
     *
     * @param ttfbMillis    recent mean time to the response headers (a stream's first bytes), NaN when unknown
     * @param latencyMillis recent mean time to the body's end, NaN when unknown
     * @param requestsPerSecond completions per second
     * @param inFlight      requests this router has on it
     * @param eligible      whether it was eligible
     */
    public record ServerPoint(double ttfbMillis, double latencyMillis, double requestsPerSecond, int inFlight,
                              boolean eligible) {
    }

    /**
     * The fleet at one time.
     *
     * @param at        when
     * @param servers   by server id (URL)
     * @param outcomes  requests counted since start, by outcome label
     * @param strategy  the strategy's own figures (cache-aware's {@code prompt_blocks}, {@code matched_blocks}, ...)
     */
    public record Sample(Instant at, Map<String, ServerPoint> servers, Map<String, Long> outcomes,
                         Map<String, Long> strategy) {
    }

    private final ArrayDeque<Sample> samples = new ArrayDeque<>(SAMPLES + 1);

    /** Takes one sample of {@code stats} and the outcome counts at {@code at}. */
    public synchronized void sample(RouterStats stats, Map<String, Long> outcomes, Instant at) {
        Map<String, ServerPoint> servers = new HashMap<>();
        for (BackendStats b : stats.servers()) {
            BackendStats.RequestStats q = b.requests();
            servers.put(b.url(), new ServerPoint(q == null ? Double.NaN : q.meanTtfbMillis(),
                    q == null ? Double.NaN : q.meanLatencyMillis(), q == null ? 0 : q.requestsPerSecond(),
                    b.inFlight(), b.status()));
        }
        samples.addLast(new Sample(at, Map.copyOf(servers), Map.copyOf(outcomes), stats.strategyStats()));
        while (samples.size() > SAMPLES) {
            samples.removeFirst();
        }
    }

    /** The samples kept, oldest first. */
    public synchronized List<Sample> samples() {
        return new ArrayList<>(samples);
    }
}
