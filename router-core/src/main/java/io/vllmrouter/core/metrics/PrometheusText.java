package io.vllmrouter.core.metrics;

/**
 * The lexical layer of {@link PrometheusParser}'s one-pass scanner over Prometheus text format
 * 0.0.4: the text and the current line, character classes, names, floats, timestamps, comment
 * lines, and error messages that name the line and column. It allocates only on errors and for
 * floats too long for the exact fast path. One instance per page; not thread-safe.
 */
abstract class PrometheusText {

    /** Powers of ten that a double holds exactly: the range of the exact fast path. */
    private static final double[] POW10 = {
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };

    /** The page. */
    final CharSequence t;
    /** Its length. */
    final int n;
    /** The current line, 1-based, and where it starts in {@link #t}: for error messages. */
    int line;
    int lineStart;

    PrometheusText(CharSequence t) {
        this.t = t;
        this.n = t.length();
    }

    boolean regionEquals(int s, String name) {
        return regionEquals(t, s, name);
    }

    /** Whether {@code text} holds {@code name} from {@code s}; the caller has checked the length. */
    static boolean regionEquals(CharSequence text, int s, String name) {
        for (int i = 0; i < name.length(); i++) {
            if (text.charAt(s + i) != name.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    /**
     * Checks the float in {@code [s, e)} and, when {@code compute}, returns it. Short decimals
     * (up to 15 significant digits, exponent within ±22) are converted exactly without
     * allocating; anything longer goes through {@link Double#parseDouble}.
     */
    double number(int s, int e, boolean compute, int metricStart, int metricEnd)
            throws MetricsFormatException {
        int p = s;
        char c = t.charAt(p);
        boolean negative = false;
        boolean signed = false;
        if (c == '+' || c == '-') {
            negative = c == '-';
            signed = true;
            p++;
            if (p == e) {
                throw badValue(s, e, metricStart, metricEnd);
            }
            c = t.charAt(p);
        }
        if (isLetter(c)) {
            if (equalsIgnoreCase(p, e, "inf") || equalsIgnoreCase(p, e, "infinity")) {
                return negative ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
            }
            if (!signed && equalsIgnoreCase(p, e, "nan")) {
                return Double.NaN;
            }
            throw badValue(s, e, metricStart, metricEnd);
        }
        long mantissa = 0;
        int significant = 0;
        int exponent = 0;
        boolean digits = false;
        while (p < e && isDigit(c = t.charAt(p))) {
            digits = true;
            if (mantissa != 0 || c != '0') {
                if (significant < 18) {
                    mantissa = mantissa * 10 + (c - '0');
                } else {
                    exponent++;
                }
                significant++;
            }
            p++;
        }
        if (p < e && c == '.') {
            p++;
            while (p < e && isDigit(c = t.charAt(p))) {
                digits = true;
                if (mantissa != 0 || c != '0') {
                    if (significant < 18) {
                        mantissa = mantissa * 10 + (c - '0');
                        exponent--;
                    }
                    significant++;
                } else {
                    exponent--;
                }
                p++;
            }
        }
        if (!digits) {
            throw badValue(s, e, metricStart, metricEnd);
        }
        if (p < e && (c == 'e' || c == 'E')) {
            p++;
            boolean negativeExponent = false;
            if (p < e && ((c = t.charAt(p)) == '+' || c == '-')) {
                negativeExponent = c == '-';
                p++;
            }
            int explicit = 0;
            boolean expDigits = false;
            while (p < e && isDigit(c = t.charAt(p))) {
                expDigits = true;
                if (explicit < 100_000) {
                    explicit = explicit * 10 + (c - '0');
                }
                p++;
            }
            if (!expDigits) {
                throw badValue(s, e, metricStart, metricEnd);
            }
            exponent += negativeExponent ? -explicit : explicit;
        }
        if (p != e) {
            throw badValue(s, e, metricStart, metricEnd);
        }
        if (!compute) {
            return 0;
        }
        double value;
        if (mantissa == 0) {
            value = 0;
        } else if (significant <= 15 && exponent >= -22 && exponent <= 22) {
            value = exponent >= 0 ? mantissa * POW10[exponent] : mantissa / POW10[-exponent];
        } else {
            return Double.parseDouble(t.subSequence(s, e).toString());
        }
        return negative ? -value : value;
    }

    MetricsFormatException badValue(int s, int e, int metricStart, int metricEnd) {
        String token = e - s > 40 ? slice(s, s + 40) + "..." : slice(s, e);
        return error(s, "invalid value '" + token + "' for " + slice(metricStart, metricEnd)
                + " (expected: a float such as 1, 0.25, 3.75e-01, NaN, +Inf)");
    }

    int timestamp(int s, int e) throws MetricsFormatException {
        int p = s;
        if (t.charAt(p) == '-') {
            p++;
        }
        int digitsStart = p;
        long value = 0;
        boolean overflow = false;
        char c;
        while (p < e && isDigit(c = t.charAt(p))) {
            int d = c - '0';
            if (value > (Long.MAX_VALUE - d) / 10) {
                overflow = true;
            }
            value = value * 10 + d;
            p++;
        }
        if (p == digitsStart || overflow || (p < e && !isBlank(t.charAt(p)))) {
            int end = p;
            while (end < e && !isBlank(t.charAt(end))) {
                end++;
            }
            throw error(s, "invalid timestamp '" + slice(s, Math.min(end, s + 40))
                    + "' (expected: integer milliseconds)");
        }
        return p;
    }

    /** After {@code #}: HELP and TYPE lines are checked, other comments skipped. */
    void comment(int p, int e) throws MetricsFormatException {
        p = skipBlanks(p, e);
        int keyword = p;
        while (p < e && !isBlank(t.charAt(p))) {
            p++;
        }
        boolean help = equalsExact(keyword, p, "HELP");
        if (!help && !equalsExact(keyword, p, "TYPE")) {
            return;
        }
        String what = help ? "# HELP" : "# TYPE";
        p = skipBlanks(p, e);
        if (p == e) {
            return; // a bare "# HELP" is only a comment, as in Prometheus' own parser
        }
        char c = t.charAt(p);
        if (!isNameStart(c)) {
            throw error(p, "invalid metric name in " + what + " line: starts with " + describe(c));
        }
        int nameStart = p;
        p++;
        while (p < e && isNameChar(c = t.charAt(p))) {
            p++;
        }
        if (p < e && !isBlank(c)) {
            throw error(p, "invalid character " + describe(c) + " in metric name "
                    + slice(nameStart, p) + " in " + what + " line");
        }
        if (help) {
            return; // the docstring may contain anything
        }
        p = skipBlanks(p, e);
        int typeStart = p;
        while (p < e && !isBlank(t.charAt(p))) {
            p++;
        }
        int typeEnd = p;
        p = skipBlanks(p, e);
        if (typeStart == typeEnd) {
            throw error(typeStart, "missing metric type in # TYPE line for " + slice(nameStart, typeStart).trim());
        }
        if (p != e || !(equalsExact(typeStart, typeEnd, "gauge") || equalsExact(typeStart, typeEnd, "counter")
                || equalsExact(typeStart, typeEnd, "histogram") || equalsExact(typeStart, typeEnd, "summary")
                || equalsExact(typeStart, typeEnd, "untyped"))) {
            throw error(typeStart, "unknown metric type '" + slice(typeStart, e).trim()
                    + "' (expected: counter, gauge, histogram, summary or untyped)");
        }
    }

    boolean equalsExact(int s, int e, String word) {
        return e - s == word.length() && regionEquals(s, word);
    }

    boolean equalsIgnoreCase(int s, int e, String lowerWord) {
        if (e - s != lowerWord.length()) {
            return false;
        }
        for (int i = 0; i < lowerWord.length(); i++) {
            if (Character.toLowerCase(t.charAt(s + i)) != lowerWord.charAt(i)) {
                return false;
            }
        }
        return true;
    }

    int skipBlanks(int p, int e) {
        while (p < e && isBlank(t.charAt(p))) {
            p++;
        }
        return p;
    }

    String slice(int s, int e) {
        return t.subSequence(s, e).toString();
    }

    MetricsFormatException error(int pos, String message) {
        return new MetricsFormatException(line, message + " (column " + (pos - lineStart + 1) + ")");
    }

    static String describe(char c) {
        if (c >= 0x20 && c < 0x7f) {
            return "'" + c + "'";
        }
        return String.format("U+%04X", (int) c);
    }

    static boolean isBlank(char c) {
        return c == ' ' || c == '\t';
    }

    static boolean isDigit(char c) {
        return c >= '0' && c <= '9';
    }

    static boolean isLetter(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    }

    static boolean isLabelStart(char c) {
        return isLetter(c) || c == '_';
    }

    static boolean isLabelChar(char c) {
        return isLabelStart(c) || isDigit(c);
    }

    static boolean isNameStart(char c) {
        return isLabelStart(c) || c == ':';
    }

    static boolean isNameChar(char c) {
        return isNameStart(c) || isDigit(c);
    }
}
