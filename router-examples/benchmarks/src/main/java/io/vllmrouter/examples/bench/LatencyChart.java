package io.vllmrouter.examples.bench;

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
 * A PNG line chart of p99 end-to-end latency against offered load, one line per strategy. Drawn with
 * {@link BufferedImage} in headless mode; the y axis turns logarithmic when the values span more
 * than a factor of 20 (an overloaded strategy would flatten the others otherwise).
 */
final class LatencyChart {

    private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
        new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b)};
    private static final int W = 900;
    private static final int H = 560;
    private static final int LEFT = 90;
    private static final int RIGHT = 220;
    private static final int TOP = 50;
    private static final int BOTTOM = 70;

    private LatencyChart() {
    }

    static void write(List<RunResult> results, String title, Path file) throws IOException {
        write(results, title, "p99 end-to-end latency", RunResult::p99Ms, file);
    }

    /** A chart of {@code metricMs} (shown in seconds) against load, one line per strategy. */
    static void write(List<RunResult> results, String title, String yLabel,
                      java.util.function.ToDoubleFunction<RunResult> metricMs, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        Map<String, List<RunResult>> byStrategy = new LinkedHashMap<>();
        for (RunResult r : results) {
            byStrategy.computeIfAbsent(r.strategy(), k -> new ArrayList<>()).add(r);
        }
        double minY = Double.MAX_VALUE;
        double maxY = 0;
        double minX = Double.MAX_VALUE;
        double maxX = 0;
        for (RunResult r : results) {
            double y = metricMs.applyAsDouble(r) / 1000;
            if (Double.isFinite(y) && y > 0) {
                minY = Math.min(minY, y);
                maxY = Math.max(maxY, y);
            }
            minX = Math.min(minX, r.load() * 100);
            maxX = Math.max(maxX, r.load() * 100);
        }
        if (maxY == 0) {
            minY = 0.1;
            maxY = 1;
        }
        boolean log = maxY / minY > 20;
        double y0 = log ? Math.pow(10, Math.floor(Math.log10(minY))) : 0;
        double y1 = log ? Math.pow(10, Math.ceil(Math.log10(maxY))) : niceCeil(maxY * 1.1);
        double x0 = Math.floor((minX - 5) / 10) * 10;
        double x1 = Math.ceil((maxX + 5) / 10) * 10;

        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        try {
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, W, H);
            int pw = W - LEFT - RIGHT;
            int ph = H - TOP - BOTTOM;
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            FontMetrics fm = g.getFontMetrics();

            // grid and y ticks
            List<Double> yTicks = new ArrayList<>();
            if (log) {
                for (double v = y0; v <= y1 * 1.0001; v *= 10) {
                    yTicks.add(v);
                    if (v * 2 < y1) {
                        yTicks.add(v * 2);
                    }
                    if (v * 5 < y1) {
                        yTicks.add(v * 5);
                    }
                }
            } else {
                double step = niceCeil((y1 - y0) / 5);
                for (double v = y0; v <= y1 * 1.0001; v += step) {
                    yTicks.add(v);
                }
            }
            for (double v : yTicks) {
                int y = TOP + ph - (int) Math.round(scale(v, y0, y1, log) * ph);
                g.setColor(new Color(0xE6E6E6));
                g.drawLine(LEFT, y, LEFT + pw, y);
                g.setColor(Color.DARK_GRAY);
                String label = v >= 10 || v == 0 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.1f", v);
                g.drawString(label, LEFT - 8 - fm.stringWidth(label), y + fm.getAscent() / 2 - 1);
            }
            for (double v = x0; v <= x1 + 1e-9; v += 10) {
                int x = LEFT + (int) Math.round((v - x0) / (x1 - x0) * pw);
                g.setColor(new Color(0xE6E6E6));
                g.drawLine(x, TOP, x, TOP + ph);
                g.setColor(Color.DARK_GRAY);
                String label = String.format(Locale.ROOT, "%.0f%%", v);
                g.drawString(label, x - fm.stringWidth(label) / 2, TOP + ph + fm.getAscent() + 6);
            }
            g.setColor(Color.BLACK);
            g.drawRect(LEFT, TOP, pw, ph);
            String xTitle = "offered load (% of fleet capacity)";
            g.drawString(xTitle, LEFT + pw / 2 - fm.stringWidth(xTitle) / 2, H - 20);
            String yTitle = yLabel + " (s" + (log ? ", log scale" : "") + ")";
            Graphics2D gy = (Graphics2D) g.create();
            gy.rotate(-Math.PI / 2);
            gy.drawString(yTitle, -(TOP + ph / 2) - fm.stringWidth(yTitle) / 2, 25);
            gy.dispose();
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
            g.drawString(title, LEFT, TOP - 18);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));

            int c = 0;
            int legendY = TOP + 10;
            for (Map.Entry<String, List<RunResult>> e : byStrategy.entrySet()) {
                // Later lines thinner and dashed, so that strategies with identical results stay visible.
                int k = c;
                Color color = COLORS[c++ % COLORS.length];
                g.setColor(color);
                float width = Math.max(1.5f, 5f - 1.5f * k);
                g.setStroke(k == 0 ? new BasicStroke(width)
                        : new BasicStroke(width, BasicStroke.CAP_BUTT, BasicStroke.JOIN_ROUND, 1f, new float[] {9f, 5f}, 0f));
                int px = -1;
                int py = -1;
                for (RunResult r : e.getValue()) {
                    double v = metricMs.applyAsDouble(r) / 1000;
                    if (!Double.isFinite(v) || v <= 0) {
                        continue;
                    }
                    int x = LEFT + (int) Math.round((r.load() * 100 - x0) / (x1 - x0) * pw);
                    int y = TOP + ph - (int) Math.round(scale(v, y0, y1, log) * ph);
                    if (px >= 0) {
                        g.drawLine(px, py, x, y);
                    }
                    int d = 11 - 2 * Math.min(k, 3);
                    g.fillOval(x - d / 2, y - d / 2, d, d);
                    px = x;
                    py = y;
                }
                g.drawLine(LEFT + pw + 20, legendY + 2, LEFT + pw + 44, legendY + 2);
                g.setColor(Color.BLACK);
                g.drawString(e.getKey(), LEFT + pw + 50, legendY + 7);
                legendY += 24;
            }
        } finally {
            g.dispose();
        }
        ImageIO.write(img, "png", file.toFile());
    }

    private static double scale(double v, double y0, double y1, boolean log) {
        double s = log ? (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (v - y0) / (y1 - y0);
        return Math.max(0, Math.min(1, s));
    }

    private static double niceCeil(double v) {
        if (v <= 0) {
            return 1;
        }
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }
}
