package io.vllmrouter.examples.sim;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How a simulated server's speed changes over time: a factor on its time per output token and its
 * prefill, piecewise linear between points of simulated time, 1 before the first point and the last
 * point's factor after it. A server that slows down mid-run (thermal throttling, a neighbour on the
 * GPU) is {@code SpeedDrift.parse("30:1,35:4")}: as before until 30 s, four times slower from 35 s.
 *
 * <pre>{@code
 * sim.drift(SpeedDrift.parse("30:1,35:4"));      // counted from now
 * }</pre>
 *
 * @param seconds the points' times in simulated seconds since the drift started, increasing
 * @param factors the factor at each point, {@code > 0}
 */
public record SpeedDrift(double[] seconds, double[] factors) {

    /** No drift: factor 1 at all times. */
    public static final SpeedDrift NONE = new SpeedDrift(new double[0], new double[0]);

    public SpeedDrift {
        if (seconds.length != factors.length) {
            throw new IllegalArgumentException("drift: " + seconds.length + " times and " + factors.length
                    + " factors (expected: one factor per time)");
        }
        for (int i = 0; i < seconds.length; i++) {
            if (!(seconds[i] >= 0) || !Double.isFinite(seconds[i]) || (i > 0 && seconds[i] <= seconds[i - 1])) {
                throw new IllegalArgumentException("drift: time " + seconds[i] + " (expected: seconds >= 0, increasing)");
            }
            if (!(factors[i] > 0) || !Double.isFinite(factors[i])) {
                throw new IllegalArgumentException("drift: factor " + factors[i] + " (expected: > 0)");
            }
        }
        seconds = seconds.clone();
        factors = factors.clone();
    }

    /**
     * Reads {@code "SECONDS:FACTOR,..."}, e.g. {@code "30:1,35:4"}; blank is {@link #NONE}.
     *
     * @throws IllegalArgumentException naming the bad part
     */
    public static SpeedDrift parse(String text) {
        if (text == null || text.isBlank()) {
            return NONE;
        }
        List<double[]> points = new ArrayList<>();
        for (String part : text.split(",")) {
            String[] p = part.strip().split(":");
            try {
                if (p.length != 2) {
                    throw new NumberFormatException();
                }
                points.add(new double[] {Double.parseDouble(p[0].strip()), Double.parseDouble(p[1].strip())});
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("drift: '" + part.strip()
                        + "' (expected: SECONDS:FACTOR pairs separated by commas, such as 30:1,35:4)");
            }
        }
        double[] s = new double[points.size()];
        double[] f = new double[points.size()];
        for (int i = 0; i < s.length; i++) {
            s[i] = points.get(i)[0];
            f[i] = points.get(i)[1];
        }
        return new SpeedDrift(s, f);
    }

    /** The factor {@code ms} simulated milliseconds after the drift started. */
    public double factorAt(double ms) {
        int n = seconds.length;
        if (n == 0) {
            return 1;
        }
        double s = ms / 1000;
        if (s <= seconds[0]) {
            return s < seconds[0] ? 1 : factors[0];
        }
        for (int i = 1; i < n; i++) {
            if (s <= seconds[i]) {
                double w = (s - seconds[i - 1]) / (seconds[i] - seconds[i - 1]);
                return factors[i - 1] + w * (factors[i] - factors[i - 1]);
            }
        }
        return factors[n - 1];
    }

    @Override
    public String toString() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < seconds.length; i++) {
            b.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT, "%s:%s", seconds[i], factors[i]));
        }
        return b.length() == 0 ? "none" : b.toString();
    }
}
