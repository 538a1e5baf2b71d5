package io.vllmrouter.examples.dashboard;

import io.vllmrouter.api.BackendState;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.api.CircuitState;

import java.time.Duration;
import java.util.Locale;

/**
 * How both dashboards (the terminal table and the web page) name a server's state and explain it:
 * the {@link BackendState} words ({@code eligible}, {@code not ready}, {@code ejected},
 * {@code breaker open}, {@code asleep}, {@code draining}), and one line of why when the server gets no requests or is
 * eligible with something to watch (stale metrics, failing checks, a half-open breaker). One place,
 * so the two dashboards cannot disagree.
 *
 * <pre>{@code
 * ServerStatus.word(stats)     // "ejected"
 * ServerStatus.reason(stats)   // "ejected: 3 consecutive failed health checks (last: GET /health: connection refused)"
 * }</pre>
 */
public final class ServerStatus {

    private ServerStatus() {
    }

    /** The state in words, e.g. {@code "not ready"}. */
    public static String word(BackendStats b) {
        return b.state().words();
    }

    /** Whether an eligible server has something to watch (its reason line is not null). */
    public static boolean watch(BackendStats b) {
        return b.state() == BackendState.ELIGIBLE && reason(b) != null;
    }

    /**
     * Why the server gets no requests ({@link BackendStats#stateReason()}), or what to watch on an
     * eligible one; null when it is plainly fine. The server's own URL is shortened out of health
     * reasons ({@code "GET http://gpu-1:8000/health: ..."} reads {@code "GET /health: ..."}), and Java
     * exception class names are left out.
     */
    public static String reason(BackendStats b) {
        BackendState state = b.state();
        if (state != BackendState.ELIGIBLE) {
            String why = plain(b.stateReason()).replace(b.url() + "/", "/");
            if (state != BackendState.BREAKER_OPEN && b.circuitState() == CircuitState.OPEN) {
                why += "; breaker open";
            }
            return why;
        }
        BackendStats.DetailedMetrics m = b.detailedMetrics();
        if (m != null && m.stale()) {
            return m.ageMillis() < 0 ? "no metrics yet; routed by its own counts"
                    : "stale metrics (last good scrape " + age(m.ageMillis()) + " ago); routed by its own counts";
        }
        BackendStats.HealthStats h = b.health();
        if (h != null && h.consecutiveFailures() > 0) {
            String last = h.reason() == null ? "" : ": " + plain(h.reason()).replace(b.url() + "/", "/");
            return "failing health checks (" + h.consecutiveFailures() + " in a row)" + last;
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

    static String age(long millis) {
        if (millis < 10_000) {
            return String.format(Locale.ROOT, "%.1fs", millis / 1000.0);
        }
        Duration d = Duration.ofMillis(millis);
        return d.toHours() > 0 ? d.toHours() + "h" + String.format(Locale.ROOT, "%02dm", d.toMinutesPart())
                : d.toMinutes() > 0 ? d.toMinutes() + "m" + String.format(Locale.ROOT, "%02ds", d.toSecondsPart())
                : d.toSeconds() + "s";
    }
}
