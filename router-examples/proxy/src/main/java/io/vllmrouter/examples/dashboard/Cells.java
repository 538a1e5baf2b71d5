package io.vllmrouter.examples.dashboard;

import io.vllmrouter.api.BackendStats;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Text fitted to a terminal's cells for the dashboards: bars, shortened URLs and model names,
 * compact figures, and widths that do not count ANSI colour codes. Pure functions.
 */
final class Cells {

    static final String RESET = "\u001b[0m";
    static final char FULL = '\u2588';
    static final char EMPTY = '\u2591';
    static final char ELLIPSIS = '\u2026';

    private Cells() {
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

    static String abbreviate(String s, int width) {
        if (s.length() <= width) {
            return s;
        }
        if (width <= 0) {
            return "";
        }
        return s.substring(0, width - 1) + ELLIPSIS;
    }

    static void cell(StringBuilder b, String text, int width, boolean right) {
        String t = abbreviate(text, width);
        int pad = width - t.length();
        if (right) {
            b.append(" ".repeat(pad)).append(t);
        } else {
            b.append(t).append(" ".repeat(pad));
        }
        b.append(' ');
    }

    static String compact(long n) {
        if (n < 1000) {
            return String.valueOf(n);
        }
        if (n < 100_000) {
            return (n / 1000) + "k";
        }
        return "++";
    }

    static String rate(double rps) {
        if (rps >= 1000) {
            return Math.round(rps / 1000) + "k";
        }
        return String.format(Locale.ROOT, rps >= 100 ? "%.0f" : "%.1f", rps);
    }

    static String latency(double ms) {
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
