package io.vllmrouter.examples.server.upstream;

import io.netty.handler.codec.http.HttpMessage;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseDecoder;
import io.vllmrouter.examples.server.HttpDecoding;

/**
 * Reads a backend's answers on an upstream connection. Requests go out as bytes ({@link RequestBytes}),
 * not through Netty's request encoder, so the decoder cannot learn each request's method from it as
 * Netty's client codec does: the exchange says whether the request it sends is a {@code HEAD}, whose
 * answer has headers only whatever length they announce. One request is in flight per connection,
 * so one flag is enough.
 */
final class ResponseDecoder extends HttpResponseDecoder {

    /** Whether the request now on this connection is a {@code HEAD}; set on the loop before it is sent. */
    boolean head;

    ResponseDecoder() {
        super(HttpDecoding.config(8192, 32 * 1024, 64 * 1024));
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
