package io.vllmrouter.api;

/**
 * Text from outside (a request's path, a header, a configuration value) made safe to show on one
 * line of a log or a message: control characters, whose line breaks would forge a line, and the
 * backslash are written as escapes, so one event stays one line and the text can be read back.
 * Line breaks are {@code \n} and {@code \r}, a tab {@code \t}, a backslash {@code \\}, and any other
 * control (C0, DEL, C1) and the Unicode line and paragraph separators {@code \}{@code uXXXX}.
 *
 * <pre>{@code
 * OneLine.escape("GET /a\r\nX-Forged: 1"); // GET /a\r\nX-Forged: 1, as the 4 characters \ r \ n
 * OneLine.quoted("a \"b\"");               // "a \"b\"", as a TOML or JSON string would be written
 * }</pre>
 */
public final class OneLine {

    private OneLine() {
    }

    /** {@code s} with controls and backslashes escaped; {@code s} itself when there is none (the usual case); null stays null. */
    public static String escape(String s) {
        if (s == null) {
            return null;
        }
        int i = firstToEscape(s);
        if (i == s.length()) {
            return s;
        }
        return append(new StringBuilder(s.length() + 8), s, i, false).toString();
    }

    /**
     * {@code s} in double quotes, with quotes, controls and backslashes escaped: a basic string as
     * TOML and JSON write it. Null is shown as {@code null}, without quotes.
     */
    public static String quoted(String s) {
        if (s == null) {
            return "null";
        }
        return append(new StringBuilder(s.length() + 10).append('"'), s, 0, true).append('"').toString();
    }

    private static int firstToEscape(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (escaped(s.charAt(i))) {
                return i;
            }
        }
        return s.length();
    }

    private static boolean escaped(char c) {
        return c < 0x20 || c == '\\' || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
    }

    private static StringBuilder append(StringBuilder b, String s, int from, boolean quotes) {
        b.append(s, 0, from);
        for (int i = from; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\\' -> b.append("\\\\");
                case '"' -> b.append(quotes ? "\\\"" : "\"");
                default -> {
                    if (escaped(c)) {
                        b.append("\\u").append(HEX[c >> 12]).append(HEX[(c >> 8) & 0xf])
                                .append(HEX[(c >> 4) & 0xf]).append(HEX[c & 0xf]);
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b;
    }

    private static final char[] HEX = "0123456789abcdef".toCharArray();
}
