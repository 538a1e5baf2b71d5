package io.vllmrouter.examples.server.exchange;

import java.util.Locale;

/**
 * Refuses request paths that could address something other than what they appear to: dot
 * segments ({@code ..}, {@code .}, also percent-encoded), empty segments ({@code //}), encoded
 * slashes or backslashes, NUL and control characters (also percent-encoded), a fragment ({@code #}, which has no place in
 * a request: a server that drops it from the path, as vLLM's does, routes what comes before it),
 * and broken percent escapes. A backend or a
 * proxy in between may normalise such paths differently from us, so they are refused (400) rather
 * than normalised and forwarded. Stateless and thread-safe.
 *
 * <p>A path that passes is judged by its decoded form ({@link #decoded}): every rule (local
 * endpoints, administration paths, which paths need a key) compares the path the backend will see
 * after decoding it, so {@code /v1/load_lora_%61dapter} is {@code /v1/load_lora_adapter}. The raw
 * path is what is forwarded.
 */
final class PathGuard {

    private PathGuard() {
    }

    /**
     * Checks a raw (still percent-encoded) path.
     *
     * @return null when the path is acceptable, else the reason to refuse it
     */
    static String check(String rawPath) {
        if (rawPath == null || rawPath.isEmpty() || rawPath.charAt(0) != '/') {
            return "path must start with /";
        }
        if (rawPath.indexOf("//") >= 0) {
            return "empty path segment (//)";
        }
        boolean percent = false;
        boolean dot = false;
        for (int i = 0; i < rawPath.length(); i++) {
            char c = rawPath.charAt(i);
            if (isControl(c) || c == '\\') {
                return "illegal character in path";
            }
            if (c == '#') {
                return "fragment (#) in request target";
            }
            percent |= c == '%';
            dot |= c == '.';
        }
        if (!percent && !dot) {
            return null; // nothing encoded and no dot segment: the usual path, e.g. /v1/chat/completions
        }
        String lower = rawPath.toLowerCase(Locale.ROOT);
        if (lower.contains("%2f") || lower.contains("%5c") || lower.contains("%00")) {
            return "encoded slash, backslash or NUL in path";
        }
        int start = 1;
        while (start <= rawPath.length()) {
            int end = rawPath.indexOf('/', start);
            if (end < 0) {
                end = rawPath.length();
            }
            String segment = decode(rawPath.substring(start, end));
            if (segment == null) {
                return "malformed percent-encoding in path";
            }
            if (segment.equals(".") || segment.equals("..")) {
                return "dot segment (. or ..) in path";
            }
            if (hasControl(segment)) {
                // A server may route "/sleep%0a" as "/sleep": Python's "$" in a route pattern matches
                // before a final newline, as Starlette's does.
                return "encoded control character in path";
            }
            start = end + 1;
        }
        return null;
    }

    private static boolean hasControl(String decoded) {
        for (int i = 0; i < decoded.length(); i++) {
            if (isControl(decoded.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    private static boolean isControl(char c) {
        return c < 0x20 || c == 0x7f;
    }

    /** Checks a raw query: null when acceptable, else the reason to refuse it (a fragment). */
    static String checkQuery(String rawQuery) {
        return rawQuery != null && rawQuery.indexOf('#') >= 0 ? "fragment (#) in request target" : null;
    }

    /**
     * The path as a backend decodes it: percent escapes decoded (as UTF-8), nothing else changed.
     * Only for a path {@link #check} accepted, which has no encoded slash, dot segment or NUL, so
     * decoding cannot change its segments.
     */
    static String decoded(String rawPath) {
        if (rawPath.indexOf('%') < 0) {
            return rawPath;
        }
        String latin = decode(rawPath);
        if (latin == null) {
            return rawPath;
        }
        byte[] bytes = new byte[latin.length()];
        for (int i = 0; i < bytes.length; i++) {
            bytes[i] = (byte) latin.charAt(i);
        }
        return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Percent-decodes one segment (no '+' handling: this is a path), or null when malformed. */
    private static String decode(String s) {
        if (s.indexOf('%') < 0) {
            return s;
        }
        StringBuilder out = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c != '%') {
                out.append(c);
                continue;
            }
            if (i + 2 >= s.length()) {
                return null;
            }
            int hi = Character.digit(s.charAt(i + 1), 16);
            int lo = Character.digit(s.charAt(i + 2), 16);
            if (hi < 0 || lo < 0) {
                return null;
            }
            out.append((char) (hi * 16 + lo));
            i += 2;
        }
        return out.toString();
    }
}
