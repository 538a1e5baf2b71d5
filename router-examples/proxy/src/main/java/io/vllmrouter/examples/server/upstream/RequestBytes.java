package io.vllmrouter.examples.server.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.vllmrouter.api.HeaderMap;
import io.vllmrouter.api.OneLine;
import io.vllmrouter.api.transport.HttpTokens;
import io.vllmrouter.api.transport.UpstreamRequest;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;
import java.util.List;

/**
 * A request to a backend as the bytes HTTP/1.1 sends, written in one pass from the core's header map
 * into one buffer with its body: the request line, the transport's own {@code Host} (the backend's
 * authority, first as RFC 9112 asks), the headers in their order and spelling, {@code Content-Length}
 * (when there is a body or the method takes one), then the body. No header table is built for it and
 * no encoder reads one back: the head is made of the strings the core hands over, checked as they
 * are copied.
 *
 * <p>What would split the request is never written. A header name must be a token and a value may
 * hold tabs, visible characters and obs-text (up to U+00FF, sent as that byte), nothing else (no CR,
 * LF or other control); a header that fails is left out and logged at debug, as the JDK's client
 * leaves out what it refuses. The method and target were checked when the {@link UpstreamRequest}
 * was made, the authority by {@link #host}. The core already leaves out {@code Host},
 * {@code Content-Length} and {@code Transfer-Encoding}; they are skipped here too, so that only this
 * transport frames the request.
 *
 * <p>One per event loop (its scratch array is reused): not thread-safe.
 */
final class RequestBytes {

    private static final Logger LOG = LoggerFactory.getLogger(RequestBytes.class);

    /** A head is written here, then copied once into the buffer with the body. */
    private static final int SCRATCH_BYTES = 1024;
    private byte[] scratch = new byte[SCRATCH_BYTES];
    private int at;

    /**
     * The {@code Host} this transport sends: the backend URL's authority, when every character of
     * it can go on a header line as itself (visible ASCII), else null.
     */
    static String host(UpstreamRequest request) {
        String a = request.backend().getRawAuthority();
        if (a == null || a.isEmpty()) {
            return null;
        }
        for (int i = 0; i < a.length(); i++) {
            char c = a.charAt(i);
            if (c <= 0x20 || c >= 0x7f) {
                return null;
            }
        }
        return a;
    }

    /**
     * The request's bytes, head and body, in one buffer from {@code alloc}: the caller's to write
     * (the write releases it). {@code host} is {@link #host}'s answer for it, not null. (The request's
     * method and target were checked when it was made: {@link UpstreamRequest} takes no other.)
     */
    ByteBuf encode(ByteBufAllocator alloc, UpstreamRequest request, String host) {
        String method = request.method();
        at = 0;
        latin1(method);
        put((byte) ' ');
        latin1(request.requestTarget());
        latin1(" HTTP/1.1\r\nHost: ");
        latin1(host);
        crlf();
        HeaderMap headers = HeaderMap.copyOf(request.headers()); // the core's own: not copied
        for (int i = 0; i < headers.size(); i++) {
            String name = headers.nameAt(i);
            if (framing(name)) {
                continue;
            }
            if (!HttpTokens.isToken(name)) {
                LOG.debug("request header \"{}\" not sent: not a valid name", OneLine.escape(name));
                continue;
            }
            List<String> values = headers.valuesAt(i);
            for (int v = 0; v < values.size(); v++) {
                String value = values.get(v);
                if (!isValue(value)) {
                    LOG.debug("request header {} not sent: its value holds a control or a character past U+00FF", name);
                    continue;
                }
                latin1(name);
                put((byte) ':');
                put((byte) ' ');
                latin1(value);
                crlf();
            }
        }
        byte[] body = request.body();
        if (body.length > 0 || method.equals("POST") || method.equals("PUT") || method.equals("PATCH")) {
            latin1("Content-Length: ");
            latin1(Integer.toString(body.length));
            crlf();
        }
        crlf();
        ByteBuf out = alloc.directBuffer(at + body.length);
        out.writeBytes(scratch, 0, at);
        out.writeBytes(body);
        if (scratch.length > 16 * SCRATCH_BYTES) {
            scratch = new byte[SCRATCH_BYTES]; // a head of rare size is not kept for the loop's life
        }
        return out;
    }

    /** The headers only this transport writes: the message's framing and its host. */
    private static boolean framing(String name) {
        return switch (name.length()) {
            case 4 -> name.equalsIgnoreCase("host");
            case 14 -> name.equalsIgnoreCase("content-length");
            case 17 -> name.equalsIgnoreCase("transfer-encoding");
            default -> false;
        };
    }

    /** Visible characters, obs-text up to U+00FF and tabs: no CR, LF, NUL or other control. */
    private static boolean isValue(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if ((c < 0x20 && c != '\t') || c == 0x7f || c > 0xff) {
                return false;
            }
        }
        return true;
    }

    private void crlf() {
        put((byte) '\r');
        put((byte) '\n');
    }

    /** Characters already checked to be U+00FF or below, each as its byte (ISO-8859-1, as HTTP reads them). */
    private void latin1(String s) {
        int n = s.length();
        room(n);
        byte[] b = scratch;
        int p = at;
        for (int i = 0; i < n; i++) {
            b[p++] = (byte) s.charAt(i);
        }
        at = p;
    }

    private void put(byte c) {
        room(1);
        scratch[at++] = c;
    }

    private void room(int n) {
        if (at + n > scratch.length) {
            scratch = Arrays.copyOf(scratch, Math.max(scratch.length * 2, at + n));
        }
    }
}
