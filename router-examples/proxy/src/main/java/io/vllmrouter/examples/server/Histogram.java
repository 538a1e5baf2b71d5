package io.vllmrouter.examples.server;

import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * A Prometheus histogram with fixed buckets, lock-free: one {@link LongAdder} per bucket
 * (not cumulative; cumulated when written out), a sum and a count.
 */
final class Histogram {

    /** Upper bounds in seconds: 5 ms to 5 min, covering short embeddings and long generations. */
    static final double[] BUCKETS = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

    private final LongAdder[] counts = new LongAdder[BUCKETS.length + 1];
    private final DoubleAdder sum = new DoubleAdder();
    private final LongAdder count = new LongAdder();

    Histogram() {
        for (int i = 0; i < counts.length; i++) {
            counts[i] = new LongAdder();
        }
    }

    void observe(double seconds) {
        int i = 0;
        while (i < BUCKETS.length && seconds > BUCKETS[i]) {
            i++;
        }
        counts[i].increment();
        sum.add(seconds);
        count.increment();
    }

    /** Writes the {@code _bucket}, {@code _sum} and {@code _count} lines; {@code labels} is {@code k="v",} or empty. */
    void write(StringBuilder out, String name, String labels) {
        long cumulative = 0;
        for (int i = 0; i < BUCKETS.length; i++) {
            cumulative += counts[i].sum();
            out.append(name).append("_bucket{").append(labels).append("le=\"").append(formatBound(BUCKETS[i]))
                    .append("\"} ").append(cumulative).append('\n');
        }
        cumulative += counts[BUCKETS.length].sum();
        out.append(name).append("_bucket{").append(labels).append("le=\"+Inf\"} ").append(cumulative).append('\n');
        String plain = labels.isEmpty() ? "" : "{" + labels.substring(0, labels.length() - 1) + "}";
        out.append(name).append("_sum").append(plain).append(' ').append(sum.sum()).append('\n');
        out.append(name).append("_count").append(plain).append(' ').append(count.sum()).append('\n');
    }

    long count() {
        return count.sum();
    }

    private static String formatBound(double b) {
        return b == Math.rint(b) ? String.valueOf((long) b) : String.valueOf(b);
    }
}
