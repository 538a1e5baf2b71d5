package io.vllmrouter.examples.dashboard;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.RouterStats;

import static io.vllmrouter.examples.dashboard.Cells.RESET;
import static io.vllmrouter.examples.dashboard.Cells.abbreviate;
import static io.vllmrouter.examples.dashboard.Cells.abbreviateUrl;
import static io.vllmrouter.examples.dashboard.Cells.bar;
import static io.vllmrouter.examples.dashboard.Cells.cell;
import static io.vllmrouter.examples.dashboard.Cells.clip;
import static io.vllmrouter.examples.dashboard.Cells.commonModelPrefix;
import static io.vllmrouter.examples.dashboard.Cells.compact;
import static io.vllmrouter.examples.dashboard.Cells.fitModels;
import static io.vllmrouter.examples.dashboard.Cells.latency;
import static io.vllmrouter.examples.dashboard.Cells.rate;
import static io.vllmrouter.examples.dashboard.Cells.uptime;
import static io.vllmrouter.examples.dashboard.Cells.visibleLength;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Draws the live table as text: a pure function of its arguments, so it is tested without a
 * terminal. Lines hold ANSI colour codes (SGR only) but never more than {@code width} visible
 * characters; the result has at most {@code height} lines.
 *
 * <pre>
 * vllm-router 0.1.0 · 0.0.0.0:8888 · weighted-score · up 1h02m
 * servers 1/2 eligible · load 5/12 (42%) · 3.2 req/s
 *
 * SERVER          MODELS    STATE        RUN WAI INF CAP UTIL          KV%  REQ/S   LAT  TPOT
 * gpu-1           llama-3…  eligible       2   0   2   3 ██████░░░ 67%  79%    1.2  850ms  38ms
 * gpu-2           llama-3…  ejected        -   -   0   4 ░░░░░░░░░  0%    -      -      -     -
 *
 * gpu-2: ejected: 3 consecutive failed health checks (last: connection refused); breaker open
 * </pre>
 *
 * <p>The table tells the truth at once: the state column uses the router's words ({@link ServerStatus}:
 * eligible, not ready, ejected, breaker open, draining), an eligible server with something to watch
 * (stale metrics, whose figures are then not shown as current; failing checks) is yellow, and below
 * the table each such server gets a line with the reason — the same line the web dashboard shows.
 * Servers show their configured {@code name} when they have one.
 */
public final class DashboardRenderer {

    static final String BOLD = "\u001b[1m";
    static final String DIM = "\u001b[2m";
    static final String RED = "\u001b[31m";
    static final String GREEN = "\u001b[32m";
    static final String YELLOW = "\u001b[33m";

    /** Fixed column widths: STATE RUN WAI INF CAP, then the utilisation percent, KV%, REQ/S, LAT, TPOT. */
    private static final int HEALTH_W = 12;
    private static final int NUM_W = 3;
    private static final int PCT_W = 4;
    private static final int KV_W = 4;
    private static final int RPS_W = 5;
    private static final int LAT_W = 5;
    /** The speed estimate's time per output token: a column of its own from {@value #TPOT_FROM} columns on. */
    private static final int TPOT_W = 5;
    private static final int TPOT_FROM = 100;
    /** Columns: SERVER MODELS STATE RUN WAI INF CAP UTIL(bar+pct) KV REQ/S LAT: 11 columns, 10 gaps (TPOT and its gap aside). */
    private static final int FIXED = HEALTH_W + 4 * NUM_W + 1 + PCT_W + KV_W + RPS_W + LAT_W + 10;

    private DashboardRenderer() {
    }

    /** Column widths for a terminal {@code width} wide. */
    record Layout(int server, int models, int bar, boolean tpot) {
        static Layout of(int width) {
            boolean tpot = width >= TPOT_FROM;
            int flexible = Math.max(0, width - FIXED - (tpot ? TPOT_W + 1 : 0));
            int bar = Math.max(3, Math.min(30, flexible / 5));
            int rest = Math.max(0, flexible - bar);
            int server = Math.max(6, Math.max(rest / 2, Math.min(16, rest - 6)));
            int models = Math.max(0, rest - server);
            return new Layout(server, models, bar, tpot);
        }

        /** As {@link #of(int)}, the server column no wider than its widest label: the rest goes to the models. */
        static Layout of(int width, int widestServer) {
            Layout l = of(width);
            int server = Math.min(l.server, Math.max(6, widestServer));
            return new Layout(server, l.models + (l.server - server), l.bar, l.tpot);
        }
    }

    /**
     * Renders one frame.
     *
     * @param stats   the router's snapshot
     * @param info    title, address, start time
     * @param width   terminal columns (at least 20 is useful; smaller is clipped)
     * @param height  terminal rows; servers beyond it are summarised in one line
     * @return the frame, lines separated by {@code \n}, no trailing newline
     */
    public static String render(RouterStats stats, DashboardInfo info, int width, int height) {
        return render(stats, info, width, height, Map.of());
    }

    /**
     * Renders one frame, showing servers by name.
     *
     * @param names  display names by server URL (the configured {@code name}s); servers without one show their URL
     */
    public static String render(RouterStats stats, DashboardInfo info, int width, int height, Map<String, String> names) {
        width = Math.max(1, width);
        height = Math.max(1, height);
        int widest = 0;
        for (BackendStats b : stats.servers()) {
            String name = names.get(b.url());
            widest = Math.max(widest, name != null ? name.length() : abbreviateUrl(b.url(), 200).length());
        }
        Layout layout = Layout.of(width, widest);
        List<String> lines = new ArrayList<>();

        Instant now = stats.generatedAt() != null ? stats.generatedAt() : Instant.now();
        lines.add(BOLD + info.title() + RESET + " · " + info.listen() + " · " + stats.strategy()
                + " · up " + uptime(Duration.between(info.startedAt(), now)));
        RouterStats.Summary s = stats.summary();
        double rps = 0;
        for (BackendStats b : stats.servers()) {
            double r = b.requests() == null ? 0 : b.requests().requestsPerSecond();
            rps += r >= 0 ? r : 0; // NaN when unknown
        }
        int eligible = 0;
        for (BackendStats b : stats.servers()) {
            eligible += b.status() ? 1 : 0;
        }
        int total = stats.servers().size();
        String healthColour = eligible == total && total > 0 ? GREEN : eligible > 0 ? YELLOW : RED;
        lines.add("servers " + healthColour + eligible + "/" + total + " eligible" + RESET
                + " · load " + s.totalActiveLoad() + "/" + s.totalCapacity()
                + " (" + Math.round(s.overallUtilizationPercent()) + "%)"
                + " · " + String.format(Locale.ROOT, "%.1f", rps) + " req/s");
        lines.add("");

        StringBuilder h = new StringBuilder();
        cell(h, "SERVER", layout.server, false);
        if (layout.models > 0) {
            cell(h, "MODELS", layout.models, false);
        }
        cell(h, "STATE", HEALTH_W, false);
        cell(h, "RUN", NUM_W, true);
        cell(h, "WAI", NUM_W, true);
        cell(h, "INF", NUM_W, true);
        cell(h, "CAP", NUM_W, true);
        cell(h, "UTIL", layout.bar + 1 + PCT_W, false);
        cell(h, "KV%", KV_W, true);
        cell(h, "REQ/S", RPS_W, true);
        cell(h, "LAT", LAT_W, true);
        if (layout.tpot) {
            cell(h, "TPOT", TPOT_W, true);
        }
        lines.add(BOLD + clip(h.toString().stripTrailing(), width) + RESET);

        String[] footer = info.footer().isEmpty() ? new String[0] : info.footer().split("\n");
        int room = height - lines.size() - Math.max(1, footer.length); // keep the footer lines
        List<BackendStats> servers = stats.servers();
        int shown = servers.size() <= room ? servers.size() : Math.max(0, room - 1);
        String modelPrefix = commonModelPrefix(servers);
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < servers.size(); i++) {
            BackendStats b = servers.get(i);
            String name = names.getOrDefault(b.url(), null);
            if (i < shown) {
                lines.add(row(b, name, modelPrefix, layout, width));
            }
            String why = reason(b);
            if (why != null) {
                reasons.add((name != null ? name : abbreviateUrl(b.url(), width)) + ": " + why);
            }
        }
        if (shown < servers.size()) {
            lines.add(clip(DIM + "… " + (servers.size() - shown) + " more server(s); widen or heighten the terminal" + RESET, width));
        }
        if (servers.isEmpty()) {
            lines.add(clip("(no servers configured)", width));
        }
        int reasonRoom = height - lines.size() - Math.max(1, footer.length) - 1;
        if (!reasons.isEmpty() && reasonRoom > 0) {
            lines.add("");
            for (int i = 0; i < reasons.size() && i < reasonRoom; i++) {
                String r = reasons.get(i);
                boolean last = i == reasonRoom - 1 && reasons.size() > reasonRoom;
                lines.add(clip((last ? "… and " + (reasons.size() - i) + " more not up" : r), width));
            }
        }
        for (String f : footer) {
            lines.add(DIM + clip(f, width) + RESET);
        }

        StringBuilder out = new StringBuilder();
        int n = Math.min(height, lines.size());
        for (int i = 0; i < n; i++) {
            if (i > 0) {
                out.append('\n');
            }
            out.append(clip(lines.get(i), width));
        }
        return out.toString();
    }

    private static String row(BackendStats b, String name, String modelPrefix, Layout layout, int width) {
        StringBuilder r = new StringBuilder();
        cell(r, name != null ? abbreviate(name, layout.server) : abbreviateUrl(b.url(), layout.server), layout.server, false);
        if (layout.models > 0) {
            cell(r, fitModels(b.models(), modelPrefix, layout.models), layout.models, false);
        }
        BackendStats.DetailedMetrics m = b.detailedMetrics();
        boolean stale = m != null && m.stale();
        String health = ServerStatus.word(b);
        String colour = switch (b.state()) {
            case ELIGIBLE -> ServerStatus.watch(b) ? YELLOW : GREEN;
            case DRAINING, ASLEEP -> YELLOW;
            case NOT_READY, EJECTED, BREAKER_OPEN -> RED;
        };
        r.append(colour);
        cell(r, health, HEALTH_W, false);
        r.append(RESET);
        boolean known = m != null && m.ageMillis() >= 0 && !stale; // stale figures are not shown as current
        cell(r, known ? compact(m.numRequestsRunning()) : "-", NUM_W, true);
        cell(r, known ? compact(m.numRequestsWaiting()) : "-", NUM_W, true);
        cell(r, compact(b.inFlight()), NUM_W, true);
        cell(r, compact(b.maxCapacity()), NUM_W, true);
        double util = b.utilizationPercent();
        String bar = bar(util, layout.bar);
        String barColour = util >= 90 ? RED : util >= 70 ? YELLOW : GREEN;
        r.append(barColour).append(bar).append(RESET).append(' ');
        cell(r, Math.round(util) + "%", PCT_W, true);
        cell(r, known && m.gpuCacheUsagePerc() >= 0 ? Math.round(m.gpuCacheUsagePerc()) + "%" : "-", KV_W, true);
        BackendStats.RequestStats q = b.requests();
        cell(r, q == null || !(q.requestsPerSecond() >= 0) ? "-" : rate(q.requestsPerSecond()), RPS_W, true);
        cell(r, q == null || !(q.meanLatencyMillis() > 0) ? "-" : latency(q.meanLatencyMillis()), LAT_W, true);
        if (layout.tpot) {
            // The speed estimate's time per output token, shown once something of it is measured.
            BackendStats.SpeedStats sp = b.speed();
            cell(r, sp.confidence() > 0 && sp.timePerOutputTokenMillis() > 0 ? latency(sp.timePerOutputTokenMillis()) : "-",
                    TPOT_W, true);
        }
        return clip(r.toString().stripTrailing(), width);
    }

    /** Why a server is not plainly fine, for the line under the table; null when it is ({@link ServerStatus#reason}). */
    static String reason(BackendStats b) {
        return ServerStatus.reason(b);
    }
}
