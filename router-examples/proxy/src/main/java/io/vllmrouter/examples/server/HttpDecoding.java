package io.vllmrouter.examples.server;

import io.netty.handler.codec.http.HttpDecoderConfig;

/**
 * How the proxy's HTTP/1.1 decoders are set up, toward clients and toward backends alike: headers
 * and trailers in {@link FlatHttpHeaders}, validated by Netty's own validators. A message with a
 * body ends in a last part that carries its trailers, nearly always none: a flat table costs one
 * small object until a trailer comes, where Netty's default gives each a 16-entry table.
 */
public final class HttpDecoding {

    private HttpDecoding() {
    }

    /** A decoder's settings: the longest request or status line, header block and body part, in bytes. */
    public static HttpDecoderConfig config(int maxInitialLine, int maxHeaderBytes, int maxChunkBytes) {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(maxInitialLine)
                .setMaxHeaderSize(maxHeaderBytes)
                .setMaxChunkSize(maxChunkBytes)
                .setHeadersFactory(FlatHttpHeaders.HEADERS)
                .setTrailersFactory(FlatHttpHeaders.TRAILERS);
    }
}
