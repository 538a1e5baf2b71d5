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

    /**
     * Known names by length and first letter (either case), each in its exact spelling and with
     * its {@code toString()} cached: a name is compared with one or two at most.
     */
    private static final AsciiString[][] KNOWN = known(
            "date", "Date", "server", "Server", "content-type", "Content-Type", "content-length", "Content-Length",
            "connection", "Connection", "keep-alive", "Keep-Alive", "transfer-encoding", "Transfer-Encoding",
            "x-request-id", "X-Request-Id", "cache-control", "Cache-Control", "etag", "ETag", "last-modified",
            "Last-Modified", "accept-ranges", "Accept-Ranges", "vary", "Vary");
    private static final int LONGEST = 17;

    private static AsciiString[][] known(String... names) {
        AsciiString[][] table = new AsciiString[(LONGEST + 1) * 32][];
        for (String name : names) {
            int slot = slot(name.length(), (byte) name.charAt(0));
            AsciiString[] same = table[slot] == null ? new AsciiString[1] : Arrays.copyOf(table[slot], table[slot].length + 1);
            same[same.length - 1] = AsciiString.cached(name);
            table[slot] = same;
        }
        return table;
    }

    private static int slot(int length, byte first) {
        return length * 32 + (first & 0x1F);
    }

    @Override
    protected AsciiString splitHeaderName(byte[] sb, int start, int length) {
        AsciiString[] candidates = length <= LONGEST ? KNOWN[slot(length, sb[start])] : null;
        if (candidates != null) {
            for (AsciiString name : candidates) {
                if (Arrays.equals(sb, start, start + length, name.array(), 0, length)) { // cached: the whole array
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
