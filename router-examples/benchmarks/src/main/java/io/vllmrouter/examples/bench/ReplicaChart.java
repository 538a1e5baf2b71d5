package io.vllmrouter.examples.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;

/**
 * A PNG bar chart of time to first token per configuration (mean and p90 side by side), the first
 * result being the reference (the oracle), with dashed lines at 1.2 times its mean and p90. Drawn
 * with {@link BufferedImage} in headless mode, as {@link LatencyChart}.
 */
public final class ReplicaChart {

    private static final Color MEAN = new Color(0x1f77b4);
    private static final Color P90 = new Color(0xff7f0e);
    private static final int W = 900;
    private static final int H = 520;
    private static final int LEFT = 80;
    private static final int RIGHT = 30;
    private static final int TOP = 60;
    private static final int BOTTOM = 90;

    private ReplicaChart() {
    }

    /** Writes {@code results} (the first one the oracle) as a PNG to {@code file}. */
    public static void write(List<RunResult> results, String title, Path file) throws IOException {
        System.setProperty("java.awt.headless", "true");
        double max = 0;
        for (RunResult r : results) {
            max = Math.max(max, Math.max(r.ttftMeanMs(), r.ttftP90Ms()) / 1000);
        }
        max = niceCeiling(Math.max(max, 1.2 * results.get(0).ttftP90Ms() / 1000) * 1.05);
        BufferedImage img = new BufferedImage(W, H, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = img.createGraphics();
        g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
        g.setColor(Color.WHITE);
        g.fillRect(0, 0, W, H);
        g.setColor(Color.BLACK);
        g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
        g.drawString(title, LEFT, 30);
        g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
        int plotW = W - LEFT - RIGHT;
        int plotH = H - TOP - BOTTOM;
        for (int i = 0; i <= 5; i++) {
            double v = max * i / 5;
            int y = TOP + plotH - (int) (plotH * v / max);
            g.setColor(new Color(0xdddddd));
            g.drawLine(LEFT, y, LEFT + plotW, y);
            g.setColor(Color.DARK_GRAY);
            g.drawString(String.format(Locale.ROOT, "%.2f s", v), 10, y + 4);
        }
        int groups = results.size();
        int groupW = plotW / groups;
        int barW = Math.max(8, groupW / 4);
        for (int i = 0; i < groups; i++) {
            RunResult r = results.get(i);
            int x0 = LEFT + i * groupW + groupW / 2 - barW;
            bar(g, x0, r.ttftMeanMs() / 1000, max, plotH, barW, MEAN);
            bar(g, x0 + barW, r.ttftP90Ms() / 1000, max, plotH, barW, P90);
            g.setColor(Color.BLACK);
            String label = r.strategy();
            g.drawString(label, LEFT + i * groupW + (groupW - g.getFontMetrics().stringWidth(label)) / 2, TOP + plotH + 18);
            String hit = Double.isNaN(r.cacheHitRate()) ? "" : String.format(Locale.ROOT, "hit %.0f%%", r.cacheHitRate() * 100);
            g.drawString(hit, LEFT + i * groupW + (groupW - g.getFontMetrics().stringWidth(hit)) / 2, TOP + plotH + 34);
        }
        RunResult oracle = results.get(0);
        dashed(g, 1.2 * oracle.ttftMeanMs() / 1000, max, plotH, plotW, MEAN, "1.2 x oracle mean");
        dashed(g, 1.2 * oracle.ttftP90Ms() / 1000, max, plotH, plotW, P90, "1.2 x oracle p90");
        g.setColor(MEAN);
        g.fillRect(LEFT, H - 35, 12, 12);
        g.setColor(Color.BLACK);
        g.drawString("TTFT mean", LEFT + 18, H - 25);
        g.setColor(P90);
        g.fillRect(LEFT + 120, H - 35, 12, 12);
        g.setColor(Color.BLACK);
        g.drawString("TTFT p90 (simulated seconds)", LEFT + 138, H - 25);
        g.dispose();
        ImageIO.write(img, "png", file.toFile());
    }

    private static void bar(Graphics2D g, int x, double v, double max, int plotH, int w, Color c) {
        int h = (int) (plotH * Math.min(v, max) / max);
        g.setColor(c);
        g.fillRect(x, TOP + plotH - h, w - 2, h);
    }

    private static void dashed(Graphics2D g, double v, double max, int plotH, int plotW, Color c, String label) {
        int y = TOP + plotH - (int) (plotH * v / max);
        g.setColor(c);
        g.setStroke(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 5}, 0));
        g.drawLine(LEFT, y, LEFT + plotW, y);
        g.setStroke(new BasicStroke(1));
        g.drawString(label, LEFT + plotW - g.getFontMetrics().stringWidth(label) - 4, y - 4);
    }

    private static double niceCeiling(double v) {
        double p = Math.pow(10, Math.floor(Math.log10(v)));
        for (double m : new double[] {1, 2, 2.5, 5, 10}) {
            if (m * p >= v) {
                return m * p;
            }
        }
        return 10 * p;
    }
}
