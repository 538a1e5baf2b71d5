package io.vllmrouter.examples.dashboard;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterStats;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the web dashboard shows, as the JSON its page reads from {@code /dashboard/data}: the same
 * servers, states, reasons and figures as the terminal table ({@link DashboardRenderer}, both through
 * {@link ServerStatus}), plus the rates of each {@link RequestOutcome} and the cache-aware hit rate
 * over the last minute, and the server-side {@link DashboardHistory} of each server's time to first
 * byte, latency and request rate.
 *
 * <pre>{@code
 * ObjectNode json = DashboardData.of(router.stats(), ServerNames.of(router.config()), history.samples(),
 *         info, Instant.now());
 * }</pre>
 *
 * <p>Numbers that are unknown are JSON {@code null}. Pure: a function of its arguments.
 */
public final class DashboardData {

    /** The window of the outcome and cache rates. */
    static final Duration WINDOW = Duration.ofMinutes(1);

    private DashboardData() {
    }

    /**
     * The page's data.
     *
     * @param stats    the router's state now
     * @param names    configured names by server id
     * @param history  samples, oldest first (may be empty)
     * @param info     title, address and start time
     * @param now      the time of {@code stats}
     */
    public static ObjectNode of(RouterStats stats, Map<String, String> names, List<DashboardHistory.Sample> history,
                                DashboardInfo info, Instant now) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.put("title", info.title());
        root.put("listen", info.listen());
        root.put("strategy", stats.strategy());
        root.put("uptime", Cells.uptime(Duration.between(info.startedAt(), now)));
        root.put("generated_at", now.toString());

        int eligible = 0;
        double rps = 0;
        ArrayNode servers = root.putArray("servers");
        for (BackendStats b : stats.servers()) {
            eligible += b.status() ? 1 : 0;
            BackendStats.RequestStats q = b.requests();
            rps += q == null || !(q.requestsPerSecond() >= 0) ? 0 : q.requestsPerSecond();
            ObjectNode s = servers.addObject();
            String name = names.get(b.url());
            s.put("name", name);
            s.put("url", b.url());
            s.put("label", name != null ? name : Cells.abbreviateUrl(b.url(), Integer.MAX_VALUE));
            s.put("state", b.state().label());
            s.put("state_words", ServerStatus.word(b));
            s.put("watch", ServerStatus.watch(b));
            s.put("reason", ServerStatus.reason(b));
            ArrayNode models = s.putArray("models");
            b.models().forEach(models::add);
            s.put("circuit", b.circuitState() == null ? "disabled" : b.circuitState().name().toLowerCase(Locale.ROOT));
            BackendStats.DetailedMetrics m = b.detailedMetrics();
            boolean known = m != null && m.ageMillis() >= 0 && !m.stale();   // stale figures are not shown as current
            number(s, "running", known ? m.numRequestsRunning() : Double.NaN);
            number(s, "waiting", known ? m.numRequestsWaiting() : Double.NaN);
            number(s, "kv_cache_percent", known && m.gpuCacheUsagePerc() >= 0 ? m.gpuCacheUsagePerc() : Double.NaN);
            s.put("in_flight", b.inFlight());
            s.put("capacity", b.maxCapacity());
            s.put("load", b.currentLoad());
            s.put("utilization_percent", b.utilizationPercent());
            number(s, "requests_per_second", q == null ? Double.NaN : q.requestsPerSecond());
            number(s, "latency_ms", q == null || !(q.meanLatencyMillis() > 0) ? Double.NaN : q.meanLatencyMillis());
            number(s, "ttfb_ms", q == null || !(q.meanTtfbMillis() > 0) ? Double.NaN : q.meanTtfbMillis());
            s.put("requests_total", q == null ? 0 : q.total());
            s.put("requests_failed", q == null ? 0 : q.failed());
            BackendStats.SpeedStats sp = b.speed();
            boolean measured = sp != null && sp.confidence() > 0;   // the router's speed estimate, once it has one
            number(s, "ms_per_token", measured ? sp.timePerOutputTokenMillis() : Double.NaN);
            number(s, "first_token_ms", measured ? sp.timeToFirstTokenMillis() : Double.NaN);
            number(s, "expected_wait_ms", measured ? sp.expectedWaitMillis() : Double.NaN);
            number(s, "typical_output_tokens", measured ? sp.typicalOutputTokens() : Double.NaN);
        }
        ObjectNode summary = root.putObject("summary");
        summary.put("servers", stats.servers().size());
        summary.put("eligible", eligible);
        summary.put("load", stats.summary().totalActiveLoad());
        summary.put("capacity", stats.summary().totalCapacity());
        summary.put("utilization_percent", stats.summary().overallUtilizationPercent());
        number(summary, "requests_per_second", rps);

        outcomes(root.putObject("outcomes"), history);
        cache(root, stats, history);
        history(root.putObject("history"), stats, history);
        return root;
    }

    /** Per-second rate of each outcome over the last minute of samples, and the totals. */
    private static void outcomes(ObjectNode out, List<DashboardHistory.Sample> history) {
        out.put("window_seconds", WINDOW.toSeconds());
        ObjectNode rates = out.putObject("per_second");
        ObjectNode totals = out.putObject("total");
        DashboardHistory.Sample last = history.isEmpty() ? null : history.get(history.size() - 1);
        DashboardHistory.Sample first = windowStart(history);
        double seconds = last == null || first == null ? 0 : Duration.between(first.at(), last.at()).toMillis() / 1000.0;
        double failed = 0;
        double all = 0;
        for (RequestOutcome o : RequestOutcome.values()) {
            long now = last == null ? 0 : last.outcomes().getOrDefault(o.label(), 0L);
            long then = first == null ? 0 : first.outcomes().getOrDefault(o.label(), 0L);
            totals.put(o.label(), now);
            double rate = seconds > 0 ? (now - then) / seconds : 0;
            number(rates, o.label(), rate);
            all += rate;
            failed += o.isFailure() ? rate : 0;
        }
        number(out, "failure_share", all > 0 ? failed / all : Double.NaN);
    }

    /** Cache-aware's share of prompt blocks found cached over the last minute; null for other strategies. */
    private static void cache(ObjectNode root, RouterStats stats, List<DashboardHistory.Sample> history) {
        Map<String, Long> figures = stats.strategyStats();
        if (!figures.containsKey("prompt_blocks")) {
            root.putNull("cache");
            return;
        }
        ObjectNode c = root.putObject("cache");
        DashboardHistory.Sample first = windowStart(history);
        long prompt = figures.get("prompt_blocks") - (first == null ? 0 : first.strategy().getOrDefault("prompt_blocks", 0L));
        long matched = figures.getOrDefault("matched_blocks", 0L)
                - (first == null ? 0 : first.strategy().getOrDefault("matched_blocks", 0L));
        number(c, "hit_rate", prompt > 0 ? (double) matched / prompt : Double.NaN);
        c.put("prompt_blocks", figures.get("prompt_blocks"));
        c.put("matched_blocks", figures.getOrDefault("matched_blocks", 0L));
        long hits = figures.getOrDefault("picks_cache_hit", 0L);
        long picks = hits + figures.getOrDefault("picks_cold", 0L) + figures.getOrDefault("picks_session", 0L)
                + figures.getOrDefault("picks_load_override", 0L);
        number(c, "cache_hit_picks_share", picks > 0 ? (double) hits / picks : Double.NaN);
    }

    private static void history(ObjectNode out, RouterStats stats, List<DashboardHistory.Sample> history) {
        out.put("interval_seconds", DashboardHistory.INTERVAL_SECONDS);
        ArrayNode times = out.putArray("times");
        ObjectNode servers = out.putObject("servers");
        for (BackendStats b : stats.servers()) {
            ObjectNode s = servers.putObject(b.url());
            ArrayNode ttfb = s.putArray("ttfb_ms");
            ArrayNode latency = s.putArray("latency_ms");
            ArrayNode rps = s.putArray("requests_per_second");
            for (DashboardHistory.Sample h : history) {
                DashboardHistory.ServerPoint p = h.servers().get(b.url());
                add(ttfb, p == null || !(p.ttfbMillis() > 0) ? Double.NaN : p.ttfbMillis());
                add(latency, p == null || !(p.latencyMillis() > 0) ? Double.NaN : p.latencyMillis());
                add(rps, p == null ? Double.NaN : p.requestsPerSecond());
            }
        }
        ObjectNode outcomes = out.putObject("outcomes_per_second");
        for (RequestOutcome o : RequestOutcome.values()) {
            ArrayNode a = outcomes.putArray(o.label());
            for (int i = 1; i < history.size(); i++) {
                DashboardHistory.Sample prev = history.get(i - 1);
                DashboardHistory.Sample cur = history.get(i);
                double secs = Duration.between(prev.at(), cur.at()).toMillis() / 1000.0;
                long d = cur.outcomes().getOrDefault(o.label(), 0L) - prev.outcomes().getOrDefault(o.label(), 0L);
                add(a, secs > 0 ? d / secs : Double.NaN);
            }
        }
        for (DashboardHistory.Sample h : history) {
            times.add(h.at().toEpochMilli());
        }
    }

    /** The oldest sample within {@link #WINDOW} of the newest, or null. */
    private static DashboardHistory.Sample windowStart(List<DashboardHistory.Sample> history) {
        if (history.isEmpty()) {
            return null;
        }
        Instant from = history.get(history.size() - 1).at().minus(WINDOW);
        for (DashboardHistory.Sample s : history) {
            if (!s.at().isBefore(from)) {
                return s;
            }
        }
        return history.get(history.size() - 1);
    }

    private static void number(ObjectNode n, String field, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            n.putNull(field);
        } else {
            n.put(field, Math.round(v * 1000) / 1000.0);
        }
    }

    private static void add(ArrayNode a, double v) {
        if (Double.isNaN(v) || Double.isInfinite(v)) {
            a.addNull();
        } else {
            a.add(Math.round(v * 10) / 10.0);
        }
    }
}
