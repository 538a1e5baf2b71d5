package io.vllmrouter.examples.server.upstream;

import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.netty.util.AsciiString;
import io.vllmrouter.examples.server.HttpDecoding;
import java.util.Arrays;

/**
 * Reads a backend's answers on an upstream connection. Requests go out as bytes ({@link RequestBytes}),
 * not through Netty's request encoder, so the decoder cannot learn each request's method from it as
 * Netty's client codec does: the exchange says whether the request it sends is a {@code HEAD}, whose
 * answer has headers only whatever length they announce. One request is in flight per connection,
 * so one flag is enough.
 *
 * <p>The names backends send on every answer (uvicorn's lower-case ones for vLLM, and their
 * title-case spellings) are read as shared constants, as Netty's request decoder does for a
 * request's: an answer's {@code Content-Type} then costs no new name and no new {@code String} when
 * the proxy copies it. A name in any other spelling is read as it came, and kept so.
 */
final class ResponseDecoder extends HttpResponseDecoder {

    /** Whether the request now on this connection is a {@code HEAD}; set on the loop before it is sent. */
    boolean head;

    ResponseDecoder() {
        super(HttpDecoding.config(8192, 32 * 1024, 64 * 1024));
    }

    /** Known names, by length; each in its exact spelling, its {@code toString()} cached. */
    private static final AsciiString[][] KNOWN = known(
            "date", "Date", "server", "Server", "content-type", "Content-Type", "content-length", "Content-Length",
            "connection", "Connection", "keep-alive", "Keep-Alive", "transfer-encoding", "Transfer-Encoding",
            "x-request-id", "X-Request-Id", "cache-control", "Cache-Control", "etag", "ETag", "last-modified",
            "Last-Modified", "accept-ranges", "Accept-Ranges", "vary", "Vary");

    private static AsciiString[][] known(String... names) {
        AsciiString[][] byLength = new AsciiString[32][0];
        for (String name : names) {
            AsciiString[] same = Arrays.copyOf(byLength[name.length()], byLength[name.length()].length + 1);
            same[same.length - 1] = AsciiString.cached(name);
            byLength[name.length()] = same;
        }
        return byLength;
    }

    @Override
    protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
        if (length < KNOWN.length) {
            for (AsciiString name : KNOWN[length]) {
                if (Arrays.equals(sb, start, start + length, name.array(), name.arrayOffset(), name.arrayOffset() + length)) {
                    return name;
                }
            }
        }
        return super.splitHeaderName(sb, start, length);
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpMessage msg) {
        // An informational answer (100 Continue) is followed by the real one: the super class
        // tells those apart, and a HEAD's answer proper has no body.
        if (head && ((HttpResponse) msg).status().code() >= 200) {
            return true;
        }
        return super.isContentAlwaysEmpty(msg);
    }
}
