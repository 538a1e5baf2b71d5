package io.vllmrouter.core.metrics;

/**
 * The load figures read from one {@code /metrics} page. A figure the page does not carry is NaN.
 *
 * @param running       requests running, summed over engines (and SGLang ranks)
 * @param waiting       requests queued, summed the same way
 * @param kvCacheUsage  KV-cache usage 0..1, averaged over engines
 * @param maxFds        {@code process_max_fds}
 */
public record LoadMetrics(double running, double waiting, double kvCacheUsage, double maxFds) {

    /** A page that carried none of the figures. */
    public static final LoadMetrics EMPTY = new LoadMetrics(Double.NaN, Double.NaN, Double.NaN, Double.NaN);

    /** Whether the page named running or waiting requests: the figures that steer. */
    public boolean hasLoad() {
        return !Double.isNaN(running) || !Double.isNaN(waiting);
    }
}
