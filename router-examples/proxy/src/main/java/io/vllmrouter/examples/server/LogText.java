package io.vllmrouter.examples.server;

/**
 * Text from requests made safe for a log line: control characters (newlines above all, which would
 * forge a line) and backslashes written as escapes, so one request gives one line. Stateless.
 */
public final class LogText {

    private LogText() {
    }

    /** {@code s} with {@code \n}, {@code \r}, {@code \t}, {@code \\} and other controls escaped; null stays null. */
    public static String escape(String s) {
        if (s == null) {
            return null;
        }
        int i = 0;
        while (i < s.length()) {
            char c = s.charAt(i);
            if (c < 0x20 || c == 0x7f || c == '\\' || c == '\u2028' || c == '\u2029' || c == 0x85) {
                break;
            }
            i++;
        }
        if (i == s.length()) {
            return s; // the usual case: no copy
        }
        StringBuilder b = new StringBuilder(s.length() + 8).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7f || c == '\u2028' || c == '\u2029' || c == 0x85) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
