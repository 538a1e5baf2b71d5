package io.vllmrouter.core;

import io.vllmrouter.api.HeaderMap;

/**
 * The request's id travels upstream as {@code X-Request-Id}: the caller's
 * ({@link io.vllmrouter.api.RouterRequest#requestId()}) or the one the router generated. vLLM takes
 * the header as the base of its own request id (it logs {@code chatcmpl-<id>} and answers with that
 * {@code id}), so the router's log line and vLLM's name the same request. Every attempt of a
 * request (retries, a stream's continuation) carries the same id, each to another server. A header
 * the caller sent under another spelling, or with a value the router did not take as the id, is
 * replaced so that the backend sees exactly one.
 */
final class RequestIdHeader {

    static final String NAME = "X-Request-Id";

    /** Longest caller's id taken; a longer one is replaced by a generated id. */
    static final int MAX_LENGTH = 200;

    private RequestIdHeader() {
    }

    /**
     * The request's id: the one the host gave ({@link io.vllmrouter.api.RouterRequest#requestId()}),
     * else the caller's {@code X-Request-Id} when it is printable ASCII of at most {@value #MAX_LENGTH}
     * characters (it appears in log lines), else a new one.
     */
    static String of(io.vllmrouter.api.RouterRequest r) {
        String id = r.requestId();
        if (id != null) {
            return id;
        }
        String header = r.header(NAME);
        if (header != null && printable(header)) {
            return header;
        }
        return "req-" + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong() >>> 1);
    }

    private static boolean printable(String s) {
        if (s.isBlank() || s.length() > MAX_LENGTH) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c < 0x20 || c > 0x7e) {
                return false;
            }
        }
        return true;
    }

    /**
     * The headers {@code headers} builds (forwarded as they are otherwise) with
     * {@code X-Request-Id: requestId}, whatever spelling of it they had before.
     */
    static HeaderMap set(HeaderMap.Builder headers, String requestId) {
        return headers.set(NAME, requestId).build();
    }
}
