package io.vllmrouter.examples.server;

import io.netty.handler.codec.DateFormatter;
import io.netty.util.AsciiString;

import java.util.Calendar;
import java.util.Date;
import java.util.Objects;
import java.util.function.Function;

/**
 * Header values as Netty's own header table converts, reads and parses them, for
 * {@link FlatHttpHeaders}: objects become text (dates in HTTP's format), a value is read as a
 * comma-separated list the way {@code HttpHeaders.containsValue} reads it, numbers and dates are
 * parsed or are nothing.
 */
final class HeaderValues {

    private HeaderValues() {
    }

    /** A value's text: itself when it is text, a date in HTTP's format, else its {@code toString}. */
    static CharSequence text(Object value) {
        Objects.requireNonNull(value, "value");
        if (value instanceof CharSequence cs) {
            return cs;
        }
        if (value instanceof Date d) {
            return DateFormatter.format(d);
        }
        if (value instanceof Calendar c) {
            return DateFormatter.format(c.getTime());
        }
        return value.toString();
    }

    /** {@code v} parsed, or null when it is absent or not a number of that kind. */
    static <T> T number(String v, Function<String, T> parse) {
        if (v == null) {
            return null;
        }
        try {
            return parse.apply(v);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** {@code v} as an HTTP date in milliseconds, or null when it is absent or not a date. */
    static Long millis(String v) {
        Date d = v == null ? null : DateFormatter.parseHttpDate(v);
        return d == null ? null : d.getTime();
    }

    /**
     * Whether {@code list} holds {@code value} as one of its comma-separated pieces, by Netty's
     * rule: each piece trimmed of spaces and controls, none after a comma that ends the list, ASCII
     * case ignored only when asked. Read by index, without a piece made per comma.
     */
    static boolean listed(CharSequence list, CharSequence value, boolean ignoreCase) {
        int n = list.length();
        int from = 0;
        while (true) {
            int end = AsciiString.indexOf(list, ',', from);
            boolean last = end < 0;
            if (last) {
                end = n;
            }
            int a = from;
            int b = end;
            while (a < b && list.charAt(a) <= ' ') {
                a++;
            }
            while (b > a && list.charAt(b - 1) <= ' ') {
                b--;
            }
            if (b - a == value.length() && sameChars(list, a, value, ignoreCase)) {
                return true;
            }
            from = end + 1;
            if (last || from >= n) {
                return false;
            }
        }
    }

    private static boolean sameChars(CharSequence list, int at, CharSequence value, boolean ignoreCase) {
        for (int i = 0; i < value.length(); i++) {
            char a = list.charAt(at + i);
            char b = value.charAt(i);
            if (a != b && !(ignoreCase && lower(a) == lower(b))) {
                return false;
            }
        }
        return true;
    }

    private static char lower(char c) {
        return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
    }
}
