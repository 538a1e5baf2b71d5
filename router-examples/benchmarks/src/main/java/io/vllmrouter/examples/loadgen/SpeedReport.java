package io.vllmrouter.examples.loadgen;

import javax.imageio.ImageIO;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.FontMetrics;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What {@link SpeedRoutingBenchmark} prints and writes: a Markdown table per fleet with the
 * ratios the targets are judged by, a CSV, a bar chart of every target's p99 and mean on every
 * fleet, and a line chart of the drift fleet's latency over time.
 */
final class SpeedReport {

    private static final Color[] COLORS = {new Color(0x7f7f7f), new Color(0x8c564b), new Color(0xd62728),
        new Color(0xff7f0e), new Color(0x9467bd), new Color(0x2ca02c), new Color(0x1f77b4)};

    private SpeedReport() {
    }

    static String tables(List<SpeedRoutingBenchmark.Row> rows, Map<String, SpeedRoutingBenchmark.Scenario> scenarios) {
        StringBuilder b = new StringBuilder();
        for (Map.Entry<String, List<SpeedRoutingBenchmark.Row>> e : byFleet(rows).entrySet()) {
            SpeedRoutingBenchmark.Scenario sc = scenarios.get(e.getKey());
            b.append("fleet ").append(sc.name()).append(": ").append(sc.description()).append('\n');
            b.append("| target | e2e mean | e2e p50 | e2e p99 | TTFT p50 | TTFT p99 | failed | share ");
            List<String> names = sc.specs().stream().map(s -> s.name()).toList();
            b.append(String.join(" / ", names)).append(" |\n|---|---|---|---|---|---|---|---|\n");
            for (SpeedRoutingBenchmark.Row r : e.getValue()) {
                OpenLoopRun.Result x = r.result();
                b.append(String.format(Locale.ROOT, "| %s | %.2f s | %.2f s | %.2f s | %.2f s | %.2f s | %d of %d | ",
                        r.target(), x.mean(), x.p(0.5), x.p(0.99), x.ttftP(0.5), x.ttftP(0.99), x.failed(), x.requests()));
                List<String> shares = new ArrayList<>();
                for (double s : r.share()) {
                    shares.add(String.format(Locale.ROOT, "%.0f%%", s * 100));
                }
                b.append(String.join(" / ", shares)).append(" |\n");
            }
            SpeedRoutingBenchmark.Row la = find(e.getValue(), "latency-aware");
            SpeedRoutingBenchmark.Row ll = find(e.getValue(), "least-loaded");
            SpeedRoutingBenchmark.Row hap = find(e.getValue(), SpeedRoutingBenchmark.HAPROXY);
            SpeedRoutingBenchmark.Row ca = find(e.getValue(), "cache-aware");
            if (la != null && ll != null) {
                b.append(String.format(Locale.ROOT, "latency-aware / least-loaded: e2e p99 %.2fx, mean %.2fx, TTFT p99 %.2fx%n",
                        la.result().p(0.99) / ll.result().p(0.99), la.result().mean() / ll.result().mean(),
                        la.result().ttftP(0.99) / ll.result().ttftP(0.99)));
            }
            if (la != null && hap != null) {
                b.append(String.format(Locale.ROOT, "latency-aware / %s: e2e p99 %.2fx, mean %.2fx%n", hap.target(),
                        la.result().p(0.99) / hap.result().p(0.99), la.result().mean() / hap.result().mean()));
            }
            if (la != null && ca != null) {
                b.append(String.format(Locale.ROOT, "cache-aware / latency-aware: e2e p99 %.2fx, mean %.2fx%n",
                        ca.result().p(0.99) / la.result().p(0.99), ca.result().mean() / la.result().mean()));
            }
            b.append('\n');
        }
        return b.toString();
    }

    static String csv(List<SpeedRoutingBenchmark.Row> rows) {
        StringBuilder b = new StringBuilder("fleet,target,requests,failed,e2e_mean_s,e2e_p50_s,e2e_p99_s,ttft_p50_s,ttft_p99_s,shares\n");
        for (SpeedRoutingBenchmark.Row r : rows) {
            OpenLoopRun.Result x = r.result();
            b.append(String.format(Locale.ROOT, "%s,%s,%d,%d,%.4f,%.4f,%.4f,%.4f,%.4f,", r.fleet(), r.target(), x.requests(),
                    x.failed(), x.mean(), x.p(0.5), x.p(0.99), x.ttftP(0.5), x.ttftP(0.99)));
            List<String> shares = new ArrayList<>();
            for (double s : r.share()) {
                shares.add(String.format(Locale.ROOT, "%.4f", s));
            }
            b.append(String.join(";", shares)).append('\n');
        }
        return b.toString();
    }

    /** The bar chart, and the drift fleet's timeline when it ran; returns the files written. */
    static List<Path> charts(List<SpeedRoutingBenchmark.Row> rows, Path dir) throws IOException {
        System.setProperty("java.awt.headless", "true");
        List<Path> written = new ArrayList<>();
        if (rows.isEmpty()) {
            return written;
        }
        Path bars = dir.resolve("speed-routing-p99.png");
        bars(rows, bars);
        written.add(bars);
        List<SpeedRoutingBenchmark.Row> drift = byFleet(rows).get("drift");
        if (drift != null) {
            Path timeline = dir.resolve("speed-routing-drift.png");
            timeline(drift, timeline);
            written.add(timeline);
        }
        return written;
    }

    private static Map<String, List<SpeedRoutingBenchmark.Row>> byFleet(List<SpeedRoutingBenchmark.Row> rows) {
        Map<String, List<SpeedRoutingBenchmark.Row>> m = new LinkedHashMap<>();
        for (SpeedRoutingBenchmark.Row r : rows) {
            m.computeIfAbsent(r.fleet(), k -> new ArrayList<>()).add(r);
        }
        return m;
    }

    private static SpeedRoutingBenchmark.Row find(List<SpeedRoutingBenchmark.Row> rows, String target) {
        return rows.stream().filter(r -> r.target().equals(target)).findFirst().orElse(null);
    }

    private static List<String> targets(List<SpeedRoutingBenchmark.Row> rows) {
        List<String> t = new ArrayList<>();
        for (SpeedRoutingBenchmark.Row r : rows) {
            if (!t.contains(r.target())) {
                t.add(r.target());
            }
        }
        return t;
    }

    /** Bars: e2e p99 of each target, grouped by fleet, on a log scale; a black tick at the mean. */
    private static void bars(List<SpeedRoutingBenchmark.Row> rows, Path file) throws IOException {
        Map<String, List<SpeedRoutingBenchmark.Row>> fleets = byFleet(rows);
        List<String> targets = targets(rows);
        double max = 0;
        double min = Double.MAX_VALUE;
        for (SpeedRoutingBenchmark.Row r : rows) {
            max = Math.max(max, r.result().p(0.99));
            min = Math.min(min, r.result().mean());
        }
        double y0 = Math.pow(10, Math.floor(Math.log10(Math.max(0.01, min))));
        double y1 = Math.pow(10, Math.ceil(Math.log10(Math.max(max, y0 * 10))));
        int w = 980;
        int h = 560;
        Canvas c = new Canvas(w, h, 80, 230, 50, 70);
        c.logAxis(y0, y1, "end-to-end latency (s, log scale): bar p99, tick mean");
        c.title("64-token streams through each target, one run");
        int groupW = c.pw / fleets.size();
        int barW = Math.max(6, (groupW - 30) / targets.size());
        int g = 0;
        for (Map.Entry<String, List<SpeedRoutingBenchmark.Row>> e : fleets.entrySet()) {
            int gx = c.left + g * groupW + 15;
            for (SpeedRoutingBenchmark.Row r : e.getValue()) {
                int k = targets.indexOf(r.target());
                int x = gx + k * barW;
                int top = c.y(r.result().p(0.99));
                c.g.setColor(COLORS[k % COLORS.length]);
                c.g.fillRect(x + 1, top, barW - 2, c.top + c.ph - top);
                c.g.setColor(Color.BLACK);
                int my = c.y(r.result().mean());
                c.g.setStroke(new BasicStroke(3f));
                c.g.drawLine(x + 1, my, x + barW - 2, my);
            }
            c.g.setColor(Color.BLACK);
            String label = e.getKey() + " fleet";
            c.g.drawString(label, gx + (targets.size() * barW) / 2 - c.fm.stringWidth(label) / 2, c.top + c.ph + c.fm.getAscent() + 8);
            g++;
        }
        c.legend(targets);
        c.write(file);
    }

    /**
     * Lines: mean e2e latency of each target by arrival time on the drift fleet, the slowdown marked.
     * A target whose worst window is more than four times the best target's worst is left out (and
     * named in the title): its growing queue would flatten the others.
     */
    private static void timeline(List<SpeedRoutingBenchmark.Row> rows, Path file) throws IOException {
        List<String> targets = targets(rows);
        double best = Double.MAX_VALUE;
        int windows = 0;
        for (SpeedRoutingBenchmark.Row r : rows) {
            windows = Math.max(windows, r.result().windowMeans().length);
            best = Math.min(best, worst(r));
        }
        List<SpeedRoutingBenchmark.Row> shown = new ArrayList<>();
        List<String> left = new ArrayList<>();
        double max = 0;
        for (SpeedRoutingBenchmark.Row r : rows) {
            if (worst(r) > 4 * best) {
                left.add(r.target());
            } else {
                shown.add(r);
                max = Math.max(max, worst(r));
            }
        }
        Canvas c = new Canvas(980, 560, 80, 230, 50, 70);
        c.linearAxis(0, Math.max(1, Math.ceil(max * 1.2)), "mean end-to-end latency of the requests arriving in each 5 s (s)");
        c.title("drift fleet: the fast server at half speed from half-way"
                + (left.isEmpty() ? "" : "; " + String.join(", ", left) + " left out (unbounded queue)"));
        double seconds = windows * OpenLoopRun.WINDOW_SECONDS;
        for (int s = 0; s <= seconds; s += 10) {
            int x = c.left + (int) Math.round(s / seconds * c.pw);
            c.g.setColor(Color.DARK_GRAY);
            String label = s + " s";
            c.g.drawString(label, x - c.fm.stringWidth(label) / 2, c.top + c.ph + c.fm.getAscent() + 6);
        }
        int mid = c.left + c.pw / 2;
        c.g.setColor(Color.GRAY);
        c.g.setStroke(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {6f, 4f}, 0f));
        c.g.drawLine(mid, c.top, mid, c.top + c.ph);
        c.g.drawString("slows down", mid + 6, c.top + c.fm.getAscent() + 4);
        for (SpeedRoutingBenchmark.Row r : shown) {
            int k = targets.indexOf(r.target());
            c.g.setColor(COLORS[k % COLORS.length]);
            c.g.setStroke(new BasicStroke(r.target().equals("latency-aware") ? 4f : 2f));
            double[] m = r.result().windowMeans();
            int px = -1;
            int py = -1;
            for (int i = 0; i < m.length; i++) {
                if (!Double.isFinite(m[i])) {
                    continue;
                }
                int x = c.left + (int) Math.round((i + 0.5) * OpenLoopRun.WINDOW_SECONDS / seconds * c.pw);
                int y = c.y(m[i]);
                if (px >= 0) {
                    c.g.drawLine(px, py, x, y);
                }
                px = x;
                py = y;
            }
        }
        c.legend(targets);
        c.write(file);
    }

    private static double worst(SpeedRoutingBenchmark.Row r) {
        double w = 0;
        for (double v : r.result().windowMeans()) {
            if (Double.isFinite(v)) {
                w = Math.max(w, v);
            }
        }
        return w;
    }

    /** A plot area with a y axis, on a white image. */
    private static final class Canvas {
        final BufferedImage img;
        final Graphics2D g;
        final FontMetrics fm;
        final int w;
        final int h;
        final int left;
        final int right;
        final int top;
        final int pw;
        final int ph;
        private double y0;
        private double y1;
        private boolean log;

        Canvas(int w, int h, int left, int right, int top, int bottom) {
            this.w = w;
            this.h = h;
            this.left = left;
            this.right = right;
            this.top = top;
            this.pw = w - left - right;
            this.ph = h - top - bottom;
            img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            g = img.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            fm = g.getFontMetrics();
        }

        int y(double v) {
            double s = log ? (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (v - y0) / (y1 - y0);
            return top + ph - (int) Math.round(Math.max(0, Math.min(1, s)) * ph);
        }

        void logAxis(double lo, double hi, String label) {
            y0 = lo;
            y1 = hi;
            log = true;
            List<Double> ticks = new ArrayList<>();
            for (double v = lo; v <= hi * 1.0001; v *= 10) {
                ticks.add(v);
                if (v * 2 < hi) {
                    ticks.add(v * 2);
                }
                if (v * 5 < hi) {
                    ticks.add(v * 5);
                }
            }
            axis(ticks, label);
        }

        void linearAxis(double lo, double hi, String label) {
            y0 = lo;
            y1 = hi;
            log = false;
            List<Double> ticks = new ArrayList<>();
            double step = Math.max(0.5, Math.ceil((hi - lo) / 6));
            for (double v = lo; v <= hi + 1e-9; v += step) {
                ticks.add(v);
            }
            axis(ticks, label);
        }

        private void axis(List<Double> ticks, String label) {
            for (double v : ticks) {
                int y = y(v);
                g.setColor(new Color(0xE6E6E6));
                g.drawLine(left, y, left + pw, y);
                g.setColor(Color.DARK_GRAY);
                String t = v >= 10 || v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
                g.drawString(t, left - 8 - fm.stringWidth(t), y + fm.getAscent() / 2 - 1);
            }
            g.setColor(Color.BLACK);
            g.drawRect(left, top, pw, ph);
            Graphics2D gy = (Graphics2D) g.create();
            gy.rotate(-Math.PI / 2);
            gy.drawString(label, -(top + ph / 2) - fm.stringWidth(label) / 2, 25);
            gy.dispose();
        }

        void title(String t) {
            g.setColor(Color.BLACK);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(t, left, top - 18);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
        }

        void legend(List<String> names) {
            int y = top + 10;
            for (int k = 0; k < names.size(); k++) {
                g.setColor(COLORS[k % COLORS.length]);
                g.fillRect(left + pw + 20, y - 4, 24, 10);
                g.setColor(Color.BLACK);
                g.drawString(names.get(k), left + pw + 50, y + 5);
                y += 24;
            }
        }

        void write(Path file) throws IOException {
            g.dispose();
            ImageIO.write(img, "png", file.toFile());
        }
    }
}
