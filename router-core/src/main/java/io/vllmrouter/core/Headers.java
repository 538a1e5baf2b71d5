package io.vllmrouter.core;

import io.vllmrouter.api.HeaderMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/** Which headers cross the router: hop-by-hop and transport headers stay behind, both ways. */
final class Headers {

    private Headers() {
    }

    /**
     * Whether {@code name} must not be forwarded: the hop-by-hop and transport headers (Connection,
     * Keep-Alive, TE, Trailer(s), Transfer-Encoding, Upgrade, Host, Content-Length, Expect, an h2
     * {@code :status}), {@code Proxy-*}, and the names in {@code alsoDropped}, those a Connection
     * header listed (a case-insensitive set). Runs for every header of every request and response,
     * so it compares without lower-casing (no allocation) and goes by the name's length first: most
     * names have a length no dropped name has, and a name is rarely a string whose hash is already
     * known (each answer's are new), so a lookup by hash would read every character first.
     */
    static boolean dropped(String name, Set<String> alsoDropped) {
        boolean hop = switch (name.length()) {
            case 2 -> name.equalsIgnoreCase("te");
            case 4 -> name.equalsIgnoreCase("host");
            case 6 -> name.equalsIgnoreCase("expect");
            case 7 -> name.equalsIgnoreCase("upgrade") || name.equalsIgnoreCase("trailer") || name.equals(":status");
            case 8 -> name.equalsIgnoreCase("trailers");
            case 10 -> name.equalsIgnoreCase("connection") || name.equalsIgnoreCase("keep-alive");
            case 14 -> name.equalsIgnoreCase("content-length");
            case 17 -> name.equalsIgnoreCase("transfer-encoding");
            default -> false;
        };
        return hop || (name.length() >= 6 && (name.charAt(0) | 0x20) == 'p' && name.regionMatches(true, 0, "proxy-", 0, 6))
                || (!alsoDropped.isEmpty() && alsoDropped.contains(name));
    }

    /** Header names a {@code Connection} header lists besides keep-alive and close, in a case-insensitive set; usually empty. */
    static Set<String> connectionTokens(Map<String, List<String>> headers) {
        HeaderMap h = HeaderMap.copyOf(headers);
        Set<String> out = null;
        for (int i = 0; i < h.size(); i++) {
            String name = h.nameAt(i);
            if (name.length() == 10 && name.equalsIgnoreCase("connection")) {
                for (String v : h.valuesAt(i)) {
                    out = tokens(v, out);
                }
            }
        }
        return out == null ? Set.of() : out;
    }

    /**
     * Adds the comma-separated tokens of {@code v} to {@code out} (made when first needed), except
     * keep-alive (dropped by name anyway) and close (names no header): the usual Connection values
     * leave it untouched, and nothing is allocated for them.
     */
    private static Set<String> tokens(String v, Set<String> out) {
        int i = 0;
        int n = v.length();
        while (i < n) {
            int comma = v.indexOf(',', i);
            int end = comma < 0 ? n : comma;
            int from = i;
            int to = end;
            while (from < to && v.charAt(from) <= ' ') {
                from++;
            }
            while (to > from && v.charAt(to - 1) <= ' ') {
                to--;
            }
            int len = to - from;
            if (len > 0 && !(len == 10 && v.regionMatches(true, from, "keep-alive", 0, 10))
                    && !(len == 5 && v.regionMatches(true, from, "close", 0, 5))) {
                if (out == null) {
                    out = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
                }
                out.add(v.substring(from, to));
            }
            i = end + 1;
        }
        return out;
    }

    /**
     * The headers a backend gets: the caller's without hop-by-hop ones; when the backend has an API
     * key ({@code apiKey} non-null), {@code Authorization: Bearer <key>} replaces the caller's. A
     * builder, for the request id and a listener's trace context to be set on before it is built.
     */
    static HeaderMap.Builder request(Map<String, List<String>> headers, String apiKey) {
        HeaderMap h = HeaderMap.copyOf(headers);
        Set<String> listed = connectionTokens(h);
        HeaderMap.Builder out = HeaderMap.builder(h.size() + 2);
        for (int i = 0; i < h.size(); i++) {
            String name = h.nameAt(i);
            if (dropped(name, listed) || (apiKey != null && name.equalsIgnoreCase("authorization"))) {
                continue;
            }
            out.add(name, h.valuesAt(i));
        }
        if (apiKey != null) {
            out.add("Authorization", "Bearer " + apiKey);
        }
        return out;
    }

    /** Whether the first {@code Content-Type} of {@code headers} announces a server-sent event stream. */
    static boolean isEventStream(Map<String, List<String>> headers) {
        return io.vllmrouter.api.RouterResponse.isEventStreamType(HeaderMap.copyOf(headers).first("content-type"));
    }

    /**
     * The body length a response declares: its one {@code Content-Length}, a decimal number, when
     * no {@code Transfer-Encoding} overrides it; else -1.
     */
    static long contentLength(Map<String, List<String>> headers) {
        HeaderMap h = HeaderMap.copyOf(headers);
        String value = null;
        for (int i = 0; i < h.size(); i++) {
            String name = h.nameAt(i);
            if (name.length() == 17 && name.equalsIgnoreCase("transfer-encoding")) {
                return -1;
            }
            if (name.length() == 14 && name.equalsIgnoreCase("content-length")) {
                List<String> values = h.valuesAt(i);
                if (value != null || values.size() != 1) {
                    return -1; // said more than once: not to be trusted
                }
                value = values.get(0);
            }
        }
        if (value == null || value.isEmpty() || value.length() > 18) {
            return -1;
        }
        for (int i = 0; i < value.length(); i++) {
            if (value.charAt(i) < '0' || value.charAt(i) > '9') {
                return -1;
            }
        }
        return Long.parseLong(value);
    }

    /**
     * The response headers a caller gets: hop-by-hop ones removed, a {@code Location} (or
     * {@code Content-Location}) that points at {@code backend} itself made relative, immutable.
     */
    static HeaderMap response(Map<String, List<String>> in, java.net.URI backend) {
        HeaderMap h = HeaderMap.copyOf(in);
        Set<String> extra = connectionTokens(h);
        HeaderMap.Builder out = HeaderMap.builder(h.size());
        for (int i = 0; i < h.size(); i++) {
            String name = h.nameAt(i);
            if (!dropped(name, extra)) {
                List<String> v = h.valuesAt(i);
                if ((name.length() == 8 && name.equalsIgnoreCase("location"))
                        || (name.length() == 16 && name.equalsIgnoreCase("content-location"))) {
                    v = relative(v, backend);
                }
                out.add(name, v); // no copy when already immutable
            }
        }
        return out.build();
    }

    /**
     * The values that point at {@code backend}'s own origin (and base path), made relative: the
     * caller follows them through the router, and the backend's address is not told to callers
     * (a vLLM server redirects {@code /v1/models/} to its own absolute URL).
     */
    static List<String> relative(List<String> values, java.net.URI backend) {
        String origin = backend.getScheme() + "://" + backend.getRawAuthority();
        String base = backend.getRawPath() == null ? "" : backend.getRawPath();
        if (base.endsWith("/")) {
            base = base.substring(0, base.length() - 1);
        }
        List<String> out = null;
        for (int i = 0; i < values.size(); i++) {
            String v = values.get(i);
            String rest = after(v, origin);
            if (rest == null) {
                continue;
            }
            String inBase = base.isEmpty() ? rest : after(rest, base);
            rest = inBase != null ? inBase : rest;
            if (out == null) {
                out = new java.util.ArrayList<>(values);
            }
            out.set(i, rest.isEmpty() || rest.charAt(0) != '/' ? "/" + rest : rest);
        }
        return out == null ? values : out;
    }

    /** What follows {@code prefix} in {@code v} (case-insensitive) when it ends there or at a /, ? or #; else null. */
    private static String after(String v, String prefix) {
        if (!v.regionMatches(true, 0, prefix, 0, prefix.length())) {
            return null;
        }
        if (v.length() > prefix.length() && "/?#".indexOf(v.charAt(prefix.length())) < 0) {
            return null;
        }
        return v.substring(prefix.length());
    }
}
