package io.vllmrouter.examples.dashboard;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterStats;

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
 * servers 2/3 healthy · load 5/12 (42%) · 3.2 req/s
 *
 * SERVER          MODELS    HLTH  CB   RUN WAI INF CAP UTIL          KV%  REQ/S   LAT
 * gpu-1           llama-3…  up    ok     2   0   2   3 ██████░░░ 67%  79%    1.2  850ms
 * gpu-2           llama-3…  DOWN  OPEN   -   -   0   4 ░░░░░░░░░  0%    -      -      -
 *
 * gpu-2: DOWN: 3 consecutive failed health checks (last: connection refused)
 * </pre>
 *
 * <p>The table tells the truth at once: a server whose metrics went stale reads {@code stale} (its
 * last figures are not shown as current), one failing its health checks but not yet ejected reads
 * {@code fail}, and below the table each server that is not plainly up gets a line with the reason.
 * Servers show their configured {@code name} when they have one.
 */
public final class DashboardRenderer {

    static final String RESET = "\u001b[0m";
    static final String BOLD = "\u001b[1m";
    static final String DIM = "\u001b[2m";
    static final String RED = "\u001b[31m";
    static final String GREEN = "\u001b[32m";
    static final String YELLOW = "\u001b[33m";
    static final char FULL = '\u2588';
    static final char EMPTY = '\u2591';
    static final char ELLIPSIS = '\u2026';

    /** Fixed column widths: HLTH CB RUN WAI INF CAP, then the utilisation percent, KV%, REQ/S, LAT, TPOT. */
    private static final int HEALTH_W = 5;
    private static final int CB_W = 4;
    private static final int NUM_W = 3;
    private static final int PCT_W = 4;
    private static final int KV_W = 4;
    private static final int RPS_W = 5;
    private static final int LAT_W = 5;
    /** The speed estimate's time per output token. */
    private static final int TPOT_W = 5;
    /** Columns: SERVER MODELS HLTH CB RUN WAI INF CAP UTIL(bar+pct) KV REQ/S LAT TPOT: 13 columns, 12 gaps. */
    private static final int FIXED = HEALTH_W + CB_W + 4 * NUM_W + 1 + PCT_W + KV_W + RPS_W + LAT_W + TPOT_W + 12;

    private DashboardRenderer() {
    }

    /** Column widths for a terminal {@code width} wide. */
    record Layout(int server, int models, int bar) {
        static Layout of(int width) {
            int flexible = Math.max(0, width - FIXED);
            int bar = Math.max(3, Math.min(30, flexible / 5));
            int rest = Math.max(0, flexible - bar);
            int server = Math.max(6, Math.max(rest * 3 / 5, Math.min(16, rest - 6)));
            int models = Math.max(0, rest - server);
            return new Layout(server, models, bar);
        }

        /** As {@link #of(int)}, the server column no wider than its widest label: the rest goes to the models. */
        static Layout of(int width, int widestServer) {
            Layout l = of(width);
            int server = Math.min(l.server, Math.max(6, widestServer));
            return new Layout(server, l.models + (l.server - server), l.bar);
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
        String healthColour = s.healthyServers() == s.totalServers() && s.totalServers() > 0 ? GREEN
                : s.healthyServers() > 0 ? YELLOW : RED;
        lines.add("servers " + healthColour + s.healthyServers() + "/" + s.totalServers() + " healthy" + RESET
                + " · load " + s.totalActiveLoad() + "/" + s.totalCapacity()
                + " (" + Math.round(s.overallUtilizationPercent()) + "%)"
                + " · " + String.format(Locale.ROOT, "%.1f", rps) + " req/s");
        lines.add("");

        StringBuilder h = new StringBuilder();
        cell(h, "SERVER", layout.server, false);
        if (layout.models > 0) {
            cell(h, "MODELS", layout.models, false);
        }
        cell(h, "HLTH", HEALTH_W, false);
        cell(h, "CB", CB_W, false);
        cell(h, "RUN", NUM_W, true);
        cell(h, "WAI", NUM_W, true);
        cell(h, "INF", NUM_W, true);
        cell(h, "CAP", NUM_W, true);
        cell(h, "UTIL", layout.bar + 1 + PCT_W, false);
        cell(h, "KV%", KV_W, true);
        cell(h, "REQ/S", RPS_W, true);
        cell(h, "LAT", LAT_W, true);
        cell(h, "TPOT", TPOT_W, true);
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
        boolean failing = b.health() != null && b.health().consecutiveFailures() > 0;
        String health;
        String colour;
        if (b.draining()) {
            health = "drain";
            colour = YELLOW;
        } else if (!b.status()) {
            health = "DOWN";
            colour = RED;
        } else if (stale) {
            health = "stale";
            colour = YELLOW;
        } else if (failing) {
            health = "fail";
            colour = YELLOW;
        } else {
            health = "up";
            colour = GREEN;
        }
        r.append(colour);
        cell(r, health, HEALTH_W, false);
        r.append(RESET);
        CircuitState cs = b.circuitState();
        String cb = cs == null ? "-" : switch (cs) {
            case CLOSED -> "ok";
            case HALF_OPEN -> "half";
            case OPEN -> "OPEN";
            case DISABLED -> "off";
        };
        if (cs == CircuitState.OPEN) {
            r.append(RED);
        }
        cell(r, cb, CB_W, false);
        if (cs == CircuitState.OPEN) {
            r.append(RESET);
        }
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
        // The speed estimate's time per output token, shown once something of it is measured.
        BackendStats.SpeedStats sp = b.speed();
        cell(r, sp.confidence() > 0 && sp.timePerOutputTokenMillis() > 0 ? latency(sp.timePerOutputTokenMillis()) : "-",
                TPOT_W, true);
        return clip(r.toString().stripTrailing(), width);
    }

    /** A bar {@code width} cells wide, filled in proportion to {@code percent} (clamped to 0..100). */
    static String bar(double percent, int width) {
        double p = Double.isNaN(percent) ? 0 : Math.max(0, Math.min(100, percent));
        int filled = (int) Math.round(p / 100.0 * width);
        StringBuilder b = new StringBuilder(width);
        for (int i = 0; i < width; i++) {
            b.append(i < filled ? FULL : EMPTY);
        }
        return b.toString();
    }

    /**
     * The URL shortened to {@code width}: without its scheme, then without the host's domain, then
     * with the middle of the host name replaced by an ellipsis, keeping both ends (servers often
     * differ only in a trailing number) and the port.
     */
    static String abbreviateUrl(String url, int width) {
        String s = url.replaceFirst("^[a-zA-Z][a-zA-Z0-9+.-]*://", "");
        int slash = s.indexOf('/');
        String path = slash >= 0 ? s.substring(slash) : "";
        String authority = slash >= 0 ? s.substring(0, slash) : s;
        if (s.length() <= width) {
            return s;
        }
        int colon = authority.lastIndexOf(':');
        String host = colon > 0 ? authority.substring(0, colon) : authority;
        String port = colon > 0 ? authority.substring(colon) : "";
        int dot = host.indexOf('.');
        if (dot > 0 && !host.matches("[0-9.]+") && !host.startsWith("[")) {
            host = host.substring(0, dot);
        }
        String shortened = host + port + path;
        if (shortened.length() <= width) {
            return shortened;
        }
        shortened = host + port;
        if (shortened.length() <= width) {
            return shortened;
        }
        int budget = width - port.length() - 1;
        if (budget < 3) {
            return abbreviate(host + port, width);
        }
        int tail = Math.min(4, budget / 2);
        return host.substring(0, budget - tail) + ELLIPSIS + host.substring(host.length() - tail) + port;
    }

    /**
     * Why a server is not plainly up, for the line under the table; null when it is. Exception
     * class names in health-check reasons ({@code ConnectException: ...}) are left out.
     */
    static String reason(BackendStats b) {
        BackendStats.DetailedMetrics m = b.detailedMetrics();
        BackendStats.HealthStats h = b.health();
        // "GET http://gpu-1:8000/health: cannot connect" reads "GET /health: cannot connect" on its row.
        String health = h == null || h.reason() == null ? null : plain(h.reason()).replace(b.url() + "/", "/");
        String metrics = m == null || !m.stale() ? null
                : m.ageMillis() < 0 ? "no metrics yet" : "stale metrics (last good scrape " + age(m.ageMillis()) + " ago)";
        boolean open = b.circuitState() == CircuitState.OPEN;
        if (b.draining()) {
            return "draining: removed from the configuration, finishing " + b.inFlight() + " request(s)";
        }
        if (!b.status()) {
            StringBuilder sb = new StringBuilder("DOWN: ");
            if (health != null) {
                sb.append(health);
            } else if (open) {
                sb.append("breaker open after failed requests");
            } else {
                sb.append("not admitted by the health checks");
            }
            if (open && health != null) {
                sb.append("; breaker open");
            }
            return sb.toString(); // its metrics are stale too, which says nothing more
        }
        if (metrics != null) {
            return metrics + "; routed by its own counts";
        }
        if (h != null && h.consecutiveFailures() > 0) {
            return "failing health checks (" + h.consecutiveFailures() + " in a row)" + (health != null ? ": " + health : "");
        }
        if (b.circuitState() == CircuitState.HALF_OPEN) {
            return "breaker half-open: trying a few requests";
        }
        return null;
    }

    /** A message without the Java exception class names it may carry. */
    static String plain(String message) {
        return message.replaceAll("\\b(?:[a-z][a-z0-9_]*\\.)*[A-Z][A-Za-z0-9]*(?:Exception|Error): ", "");
    }

    private static String age(long millis) {
        return millis < 10_000 ? String.format(Locale.ROOT, "%.1fs", millis / 1000.0) : uptime(Duration.ofMillis(millis));
    }

    /**
     * The part every model name shares, cut after a separator ({@code -}, {@code _}, {@code .},
     * {@code /} or {@code :}), so that {@code demo-llama-8b} and {@code demo-qwen-7b} show as
     * {@code llama-8b} and {@code qwen-7b}; empty when the names share nothing or there is only one.
     */
    static String commonModelPrefix(List<BackendStats> servers) {
        String prefix = null;
        int distinct = 0;
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (BackendStats b : servers) {
            for (String m : b.models()) {
                String n = m.substring(m.lastIndexOf('/') + 1);
                if (!seen.add(n)) {
                    continue;
                }
                distinct++;
                if (prefix == null) {
                    prefix = n;
                } else {
                    int i = 0;
                    while (i < prefix.length() && i < n.length() && prefix.charAt(i) == n.charAt(i)) {
                        i++;
                    }
                    prefix = prefix.substring(0, i);
                }
            }
        }
        if (prefix == null || distinct < 2) {
            return "";
        }
        int cut = -1;
        for (int i = prefix.length() - 1; i >= 0; i--) {
            if ("-_./:".indexOf(prefix.charAt(i)) >= 0) {
                cut = i + 1;
                break;
            }
        }
        return cut <= 0 ? "" : prefix.substring(0, cut);
    }

    /**
     * The models fitted to {@code width}: without the shared prefix, all of them when they fit,
     * else the first (shortened) and "+N" for the rest.
     */
    static String fitModels(List<String> models, String commonPrefix, int width) {
        if (models.isEmpty()) {
            return "*";
        }
        List<String> shortNames = new ArrayList<>(models.size());
        for (String m : models) {
            String n = m.substring(m.lastIndexOf('/') + 1);
            shortNames.add(!commonPrefix.isEmpty() && n.startsWith(commonPrefix) && n.length() > commonPrefix.length()
                    ? n.substring(commonPrefix.length()) : n);
        }
        String all = String.join(",", shortNames);
        if (all.length() <= width || shortNames.size() == 1) {
            return abbreviate(all, width);
        }
        String more = ",+" + (shortNames.size() - 1);
        return abbreviate(shortNames.get(0), Math.max(1, width - more.length())) + more;
    }

    /** Model names without their organisation prefix ({@code meta-llama/Llama-3} shows as {@code Llama-3}). */
    static String models(List<String> models) {
        if (models.isEmpty()) {
            return "*";
        }
        StringBuilder b = new StringBuilder();
        for (String m : models) {
            if (b.length() > 0) {
                b.append(',');
            }
            b.append(m.substring(m.lastIndexOf('/') + 1));
        }
        return b.toString();
    }

    static String abbreviate(String s, int width) {
        if (s.length() <= width) {
            return s;
        }
        if (width <= 0) {
            return "";
        }
        return s.substring(0, width - 1) + ELLIPSIS;
    }

    private static void cell(StringBuilder b, String text, int width, boolean right) {
        String t = abbreviate(text, width);
        int pad = width - t.length();
        if (right) {
            b.append(" ".repeat(pad)).append(t);
        } else {
            b.append(t).append(" ".repeat(pad));
        }
        b.append(' ');
    }

    private static String compact(long n) {
        if (n < 1000) {
            return String.valueOf(n);
        }
        if (n < 100_000) {
            return (n / 1000) + "k";
        }
        return "++";
    }

    private static String rate(double rps) {
        if (rps >= 1000) {
            return Math.round(rps / 1000) + "k";
        }
        return String.format(Locale.ROOT, rps >= 100 ? "%.0f" : "%.1f", rps);
    }

    private static String latency(double ms) {
        if (ms < 1000) {
            return Math.round(ms) + "ms";
        }
        if (ms < 100_000) {
            return String.format(Locale.ROOT, "%.1fs", ms / 1000);
        }
        return Math.round(ms / 1000) + "s";
    }

    static String uptime(Duration d) {
        long s = Math.max(0, d.getSeconds());
        if (s < 60) {
            return s + "s";
        }
        if (s < 3600) {
            return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
        }
        if (s < 86_400) {
            return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
        }
        return (s / 86_400) + "d" + String.format(Locale.ROOT, "%02d", (s % 86_400) / 3600) + "h";
    }

    /** Visible characters of {@code s}, ANSI SGR sequences not counted. */
    static int visibleLength(String s) {
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\u001b') {
                while (i < s.length() && s.charAt(i) != 'm') {
                    i++;
                }
            } else {
                n++;
            }
        }
        return n;
    }

    /** Cuts {@code s} to {@code width} visible characters, keeping (and closing) colour codes. */
    static String clip(String s, int width) {
        if (visibleLength(s) <= width) {
            return s;
        }
        StringBuilder out = new StringBuilder();
        int n = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '\u001b') {
                int end = s.indexOf('m', i);
                end = end < 0 ? s.length() - 1 : end;
                out.append(s, i, end + 1);
                i = end;
            } else if (n < width) {
                out.append(c);
                n++;
            }
        }
        return out.append(RESET).toString();
    }
}
