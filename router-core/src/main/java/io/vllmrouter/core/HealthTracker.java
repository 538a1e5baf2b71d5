package io.vllmrouter.core;

/**
 * The active health checks' verdict on one backend, fed one check result at a time. Pure: no
 * clock, no I/O; thread-safe.
 *
 * <pre>{@code
 * HealthTracker.Rules rules = new HealthTracker.Rules(3, 2, 10, 0.8);
 * HealthTracker t = new HealthTracker();                 // not healthy: not checked yet
 * HealthTracker.Change first = t.record(true, 8.0, null, clock.currentTimeMillis(), rules);  // ADMITTED
 * HealthTracker.Change c = t.record(false, 12.0, "status 503", clock.currentTimeMillis(), rules);
 * // c: null (no change of verdict), ADMITTED, EJECTED or READMITTED
 * }</pre>
 *
 * <p>Threads: {@link #record} and {@link #reset} run in the fleet's serial context; the getters
 * are read by {@code stats()} on any thread.
 *
 * <p>A new backend is not yet checked: it is not healthy, and the first check that passes admits it
 * ({@link Change#ADMITTED}), so that a router never sends traffic to a server nobody has seen answer.
 * Checks that fail before that keep it out without ejecting it (it was never in), with the last
 * failure as the reason.
 *
 * <p>A healthy backend is ejected after {@code failureThreshold} failed checks in a row, or when its
 * success rate over the last {@code window} checks falls below {@code minSuccessRate}. The rate is
 * judged only once the window holds {@link Rules#minSamples()} checks, so that one early failure
 * cannot eject a backend on its own. An ejected backend is re-admitted after
 * {@code successThreshold} good checks in a row; the window is then cleared so the failures that
 * ejected it do not eject it again at once.
 */
final class HealthTracker {

    /** What a check result changed: the first pass ever, an ejection, or a pass that ends an ejection. */
    enum Change { ADMITTED, EJECTED, READMITTED }

    /** The reason of a backend no check has judged yet. */
    static final String NOT_CHECKED = "not checked yet: no health check has passed";

    /**
     * The thresholds, from the configuration.
     *
     * @param failureThreshold consecutive failures that eject
     * @param successThreshold consecutive successes that re-admit
     * @param window           checks the success rate covers
     * @param minSuccessRate   0..1
     */
    record Rules(int failureThreshold, int successThreshold, int window, double minSuccessRate) {
        Rules {
            if (failureThreshold < 1 || successThreshold < 1 || window < 1) {
                throw new IllegalArgumentException("thresholds and window must be >= 1: " + failureThreshold
                        + ", " + successThreshold + ", " + window);
            }
        }

        /** Checks in the window before its success rate is judged: half the window, at least the failure threshold. */
        int minSamples() {
            return Math.min(window, Math.max(failureThreshold, (window + 1) / 2));
        }
    }

    private boolean healthy;
    private boolean everPassed;
    private int consecutiveFailures;
    private int consecutiveSuccesses;
    private boolean[] ring = new boolean[0];
    private int ringNext;
    private int ringSize;
    private int ringSuccesses;
    private long lastCheckEpochMillis = -1;
    private double lastResponseMillis = -1;
    private String reason = NOT_CHECKED;

    /**
     * Records one check.
     *
     * @param success          2xx within the time limits
     * @param responseMillis   how long the check took
     * @param failureReason    why it failed (ignored on success)
     * @param nowEpochMillis   when it finished, for stats
     * @return the change of verdict, or null
     */
    synchronized Change record(boolean success, double responseMillis, String failureReason, long nowEpochMillis,
                               Rules rules) {
        lastCheckEpochMillis = nowEpochMillis;
        lastResponseMillis = responseMillis;
        push(success, rules.window());
        if (success) {
            consecutiveSuccesses++;
            consecutiveFailures = 0;
        } else {
            consecutiveFailures++;
            consecutiveSuccesses = 0;
        }
        if (!everPassed) {
            if (success) {
                everPassed = true;
                healthy = true;
                reason = null;
                clearWindow();  // the failures before the first pass must not eject it at once
                return Change.ADMITTED;
            }
            reason = "health check failed: " + failureReason;
            return null;
        }
        if (healthy) {
            if (!success && consecutiveFailures >= rules.failureThreshold()) {
                return eject(consecutiveFailures + " consecutive failed health checks (last: " + failureReason + ")");
            }
            if (ringSize >= rules.minSamples() && successRate() < rules.minSuccessRate()) {
                return eject(String.format(java.util.Locale.ROOT,
                        "health check success rate %.2f over the last %d checks is below %.2f (last: %s)",
                        successRate(), ringSize, rules.minSuccessRate(), success ? "ok" : failureReason));
            }
            return null;
        }
        if (success && consecutiveSuccesses >= rules.successThreshold()) {
            healthy = true;
            reason = null;
            clearWindow();
            return Change.READMITTED;
        }
        if (!success) {
            reason = failureReason;
        }
        return null;
    }

    private void clearWindow() {
        ringSize = 0;
        ringNext = 0;
        ringSuccesses = 0;
    }

    private Change eject(String why) {
        healthy = false;
        reason = why;
        return Change.EJECTED;
    }

    private void push(boolean success, int window) {
        if (ring.length != window) {
            // a reload changed the window: start it afresh rather than reinterpret old samples
            ring = new boolean[window];
            ringSize = 0;
            ringNext = 0;
            ringSuccesses = 0;
        }
        if (ringSize == window) {
            ringSuccesses -= ring[ringNext] ? 1 : 0;
        } else {
            ringSize++;
        }
        ring[ringNext] = success;
        ringSuccesses += success ? 1 : 0;
        ringNext = (ringNext + 1) % window;
    }

    /** Whether a check has ever passed (false until the first one does). */
    synchronized boolean everPassed() {
        return everPassed;
    }

    /** Whether the checks admit the backend. */
    synchronized boolean healthy() {
        return healthy;
    }

    /** Why the backend is not healthy (ejected, or not passed a check yet), or null when healthy. */
    synchronized String reason() {
        return reason;
    }

    synchronized int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** Success rate over the window, 1 when empty. */
    synchronized double successRate() {
        return ringSize == 0 ? 1.0 : (double) ringSuccesses / ringSize;
    }

    synchronized long lastCheckEpochMillis() {
        return lastCheckEpochMillis;
    }

    synchronized double lastResponseMillis() {
        return lastResponseMillis;
    }

    /** Admits the backend without checks (active checks turned off). */
    synchronized boolean reset() {
        boolean was = healthy;
        healthy = true;
        everPassed = true;
        reason = null;
        consecutiveFailures = 0;
        consecutiveSuccesses = 0;
        ringSize = 0;
        ringNext = 0;
        ringSuccesses = 0;
        return !was;
    }
}
