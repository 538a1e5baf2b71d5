package io.vllmrouter.examples.server;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;

/**
 * How the proxy's HTTP/1.1 decoders are set up, toward clients and toward backends alike: Netty's
 * validation of header names and values, with room for a few trailers rather than a full table.
 * A message with a body ends in a last part that carries its trailers, nearly always none; Netty
 * gives each a 16-entry table by default, three per forwarded request.
 */
public final class HttpDecoding {

    private HttpDecoding() {
    }

    /** Trailers validated as Netty's own are, in a table sized for few (more still fit). */
    static final HttpHeadersFactory FEW_TRAILERS = new HttpHeadersFactory() {
        private final DefaultHttpHeadersFactory trailers = DefaultHttpHeadersFactory.trailersFactory();

        @Override
        public HttpHeaders newHeaders() {
            return trailers.newEmptyHeaders();
        }

        @Override
        public HttpHeaders newEmptyHeaders() {
            return trailers.newEmptyHeaders();
        }
    };

    /** A decoder's settings: the longest request or status line, header block and body part, in bytes. */
    public static HttpDecoderConfig config(int maxInitialLine, int maxHeaderBytes, int maxChunkBytes) {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(maxInitialLine)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(maxChunkBytes)
                .setValidateHeaders(true)
                .setTrailersFactory(FEW_TRAILERS);
    }
}
