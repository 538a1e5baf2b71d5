package io.vllmrouter.examples.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.ScheduledFuture;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The front door's HTTP/2 cleartext side (h2c), next to HTTP/1.1 on the same port: a connection
 * that opens with the HTTP/2 preface (prior knowledge) or whose first request asks for
 * {@code Upgrade: h2c} becomes an HTTP/2 connection; every other connection stays HTTP/1.1 and is
 * served exactly as before.
 *
 * <p>On an HTTP/2 connection each stream is a child channel with a {@link ProxyHandler} of its own
 * behind {@link Http2StreamFrameToHttpObjectCodec}, so a stream is served like an HTTP/1.1
 * connection carrying one request: the same endpoints, limits, timeouts and relay. What differs
 * follows from HTTP/2 itself: a write completes when the stream's and connection's flow-control
 * windows let the bytes out, so a slow reader stops its upstream reads as on HTTP/1.1; closing a
 * stream that has not ended sends RST_STREAM, so a truncated answer never looks complete; a client's
 * RST_STREAM (or its closing the connection) closes the stream, which cancels the upstream request.
 * Connection-specific headers are never sent on HTTP/2 (the codec strips them).
 *
 * <p>With TLS the same HTTP/2 side is chosen by ALPN ({@code h2}), HTTP/1.1 otherwise.
 */
final class H2cFrontDoor {

    /**
     * Largest body an {@code Upgrade: h2c} request may carry: it is held whole while the connection
     * switches. A larger (or chunked) one is served on HTTP/1.1, its Upgrade ignored.
     */
    static final int UPGRADE_BODY_LIMIT = 64 * 1024;

    private static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(H2cFrontDoor.class);
    private static final ChannelHandler STRIP_EXTENSION_HEADERS = new StripExtensionHeaders();

    private H2cFrontDoor() {
    }

    /**
     * Sets up a new cleartext connection: adds the HTTP/1.1 codec with h2c detection (prior knowledge
     * and Upgrade) to {@code p}; the connection's {@code "bytes"} and {@code "proxy"} handlers, added
     * around it, serve HTTP/1.1 and are removed if the connection turns to HTTP/2.
     */
    static void install(ChannelPipeline p, ProxyServer server, HttpServerCodec http) {
        HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(http, protocol ->
                AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol)
                        ? new Http2ServerUpgradeCodec(frameCodec(server), connectionHandlers(server)) : null,
                UPGRADE_BODY_LIMIT, DefaultHttpHeadersFactory.headersFactory(),
                DefaultHttpHeadersFactory.trailersFactory(), true) {
            @Override
            protected boolean shouldHandleUpgradeRequest(HttpRequest req) {
                // Only a body that is small and declared is held while switching.
                return !HttpUtil.isTransferEncodingChunked(req)
                        && HttpUtil.getContentLength(req, 0L) <= UPGRADE_BODY_LIMIT;
            }
        };
        p.addLast("h2c", new CleartextHttp2ServerUpgradeHandler(http, upgrade, new PriorKnowledge(server)));
        p.addLast("h2c-switch", new Switch());
    }

    /**
     * Sets up a new TLS connection (after its {@code "tls"} and {@code "bytes"} handlers): HTTP/2 when
     * the client offers {@code h2} by ALPN, else HTTP/1.1 with {@code http} (no ALPN, or
     * {@code http/1.1}).
     */
    static void installAlpn(ChannelPipeline p, ProxyServer server, HttpServerCodec http) {
        p.addLast("alpn", new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
            @Override
            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                ChannelPipeline p = ctx.pipeline();
                if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                    addHttp2(p, ctx.name(), server);
                    p.remove("bytes");
                    p.remove("proxy");
                } else {
                    p.addAfter(ctx.name(), "http", http);
                }
            }

            @Override
            protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
                LOG.debug("TLS handshake failed: {}", cause.toString());
                ctx.close();
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.fireExceptionCaught(cause); // the connection's handler logs and closes
            }
        });
    }

    /** Adds the HTTP/2 connection's handlers after {@code after}. */
    private static void addHttp2(ChannelPipeline p, String after, ProxyServer server) {
        p.addAfter(after, "h2", frameCodec(server)); // first: the handlers after it look for it
        String previous = "h2";
        for (ChannelHandler h : connectionHandlers(server)) {
            p.addAfter(previous, null, h);
            previous = p.context(h).name();
        }
    }

    /**
     * Sends GOAWAY on every HTTP/2 connection of {@code connections}: clients open no new streams
     * there; those in flight go on until they end or the connection is closed.
     */
    static void goAway(ChannelGroup connections) {
        for (Channel ch : connections) {
            if (ch.pipeline().get(Http2FrameCodec.class) != null) {
                ch.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR));
            }
        }
    }

    private static Http2FrameCodec frameCodec(ProxyServer server) {
        int headerBytes = server.access().maxHeaderBytes();
        return Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(server.options().maxConcurrentStreams())
                        .maxHeaderListSize(headerBytes))
                // The proxy drains its streams before it closes a connection: then close at once.
                .gracefulShutdownTimeoutMillis(0)
                .build();
    }

    /** The handlers after the frame codec: streams as child channels, and the connection's idle timer. */
    private static ChannelHandler[] connectionHandlers(ProxyServer server) {
        IdleClose idle = new IdleClose(server);
        Http2MultiplexHandler mux = new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                idle.streamOpened();
                ch.closeFuture().addListener(f -> idle.streamClosed());
                ProxyHandler handler = new ProxyHandler(server);
                ch.pipeline().addLast("bytes", handler.byteWatch());
                ch.pipeline().addLast("http", new Http2StreamFrameToHttpObjectCodec(true));
                ch.pipeline().addLast("h2-headers", STRIP_EXTENSION_HEADERS);
                ch.pipeline().addLast("proxy", handler);
            }
        });
        return new ChannelHandler[] {mux, idle};
    }

    /** Put in place of HTTP/1.1 when the connection opened with the HTTP/2 preface. */
    private static final class PriorKnowledge extends ChannelHandlerAdapter {
        private final ProxyServer server;

        PriorKnowledge(ProxyServer server) {
            this.server = server;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            addHttp2(ctx.pipeline(), ctx.name(), server);
            ctx.pipeline().remove(this);
        }
    }

    /**
     * Removes the connection's HTTP/1.1 handlers when it turns to HTTP/2, and itself when the first
     * HTTP/1.1 request passes (the connection stays HTTP/1.1).
     */
    private static final class Switch extends ChannelInboundHandlerAdapter {
        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof CleartextHttp2ServerUpgradeHandler.PriorKnowledgeUpgradeEvent
                    || evt instanceof HttpServerUpgradeHandler.UpgradeEvent) {
                ChannelPipeline p = ctx.pipeline();
                p.remove("bytes");
                p.remove("proxy");
                p.remove(this);
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest) {
                ctx.pipeline().remove(this);
            }
            ctx.fireChannelRead(msg);
        }
    }

    /**
     * Closes an HTTP/2 connection that has had no open stream for {@code client_idle_timeout}, as an
     * idle HTTP/1.1 connection is closed. Runs on the connection's event loop (its streams share it).
     */
    private static final class IdleClose extends ChannelInboundHandlerAdapter {
        private final ProxyServer server;
        private ChannelHandlerContext ctx;
        private int open;
        private ScheduledFuture<?> timer;

        IdleClose(ProxyServer server) {
            this.server = server;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            arm();
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            disarm();
            ctx.fireChannelInactive();
        }

        void streamOpened() {
            open++;
            disarm();
        }

        void streamClosed() {
            if (--open == 0) {
                arm();
            }
        }

        private void arm() {
            disarm();
            Duration d = server.access().clientIdleTimeout();
            if (d != null && ctx.channel().isActive()) {
                timer = ctx.executor().schedule(() -> {
                    timer = null;
                    if (open == 0) {
                        ctx.close();
                    }
                }, d.toNanos(), TimeUnit.NANOSECONDS);
            }
        }

        private void disarm() {
            if (timer != null) {
                timer.cancel(false);
                timer = null;
            }
        }
    }

    /**
     * Drops the {@code x-http2-*} headers the HTTP/2-to-HTTP/1.1 conversion adds to a request (stream
     * id, scheme): they describe this hop and are not passed upstream.
     */
    @ChannelHandler.Sharable
    private static final class StripExtensionHeaders extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof HttpRequest req) {
                HttpHeaders h = req.headers();
                for (HttpConversionUtil.ExtensionHeaderNames n : HttpConversionUtil.ExtensionHeaderNames.values()) {
                    h.remove(n.text());
                }
            }
            ctx.fireChannelRead(msg);
        }
    }
}
