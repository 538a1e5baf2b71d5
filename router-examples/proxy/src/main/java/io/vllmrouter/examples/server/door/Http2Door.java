package io.vllmrouter.examples.server.door;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http2.DefaultHttp2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodec;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamFrameToHttpObjectCodec;
import io.netty.handler.codec.http2.HttpConversionUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.vllmrouter.examples.server.ProxyContext;
import io.vllmrouter.examples.server.exchange.ExchangeHandlers;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP/2 connection (h2c, or h2 chosen by ALPN): each stream is a child channel served like an
 * HTTP/1.1 connection carrying one request — the same handlers, limits and relay, behind
 * {@link Http2StreamFrameToHttpObjectCodec}. What differs follows from HTTP/2: a write completes when
 * the flow-control windows let the bytes out, so a slow reader holds its backend back as on HTTP/1.1;
 * closing a stream that has not ended sends RST_STREAM, so a truncated answer never looks complete;
 * a client's RST_STREAM (or its closing the connection) closes the stream, which cancels the upstream
 * request. Connection-specific headers are never sent (the codec strips them).
 */
final class Http2Door {

    private final ProxyContext context;
    private final ExchangeHandlers exchanges;
    private static final ChannelHandler STRIP_EXTENSION_HEADERS = new StripExtensionHeaders();

    Http2Door(ProxyContext context, ExchangeHandlers exchanges) {
        this.context = context;
        this.exchanges = exchanges;
    }

    Http2FrameCodec frameCodec() {
        int headerBytes = context.access().maxHeaderBytes();
        return Http2FrameCodecBuilder.forServer()
                .initialSettings(Http2Settings.defaultSettings()
                        .maxConcurrentStreams(context.options().maxConcurrentStreams())
                        .maxHeaderListSize(headerBytes))
                // The proxy drains its streams before it closes a connection: then close at once.
                .gracefulShutdownTimeoutMillis(0)
                .build();
    }

    /**
     * The handlers after the frame codec: streams as child channels, and the idle timer. The
     * connection's {@code errors} stays at the end of its pipeline, and ends each stream's too.
     */
    ChannelHandler[] connectionHandlers(ConnectionErrors errors) {
        IdleClose idle = new IdleClose(context);
        Http2MultiplexHandler mux = new Http2MultiplexHandler(new ChannelInitializer<Http2StreamChannel>() {
            @Override
            protected void initChannel(Http2StreamChannel ch) {
                idle.streamOpened();
                ch.closeFuture().addListener(f -> idle.streamClosed());
                ChannelPipeline p = ch.pipeline();
                p.addLast("http", new Http2StreamFrameToHttpObjectCodec(true));
                p.addLast("h2-headers", STRIP_EXTENSION_HEADERS);
                p.addLast("timeouts", ReadTimeouts.forStream(context));
                exchanges.addTo(p);
                p.addLast("errors", errors);
            }
        });
        return new ChannelHandler[] {mux, idle};
    }

    /** Adds the HTTP/2 connection's handlers after {@code after}. */
    void addAfter(ChannelPipeline p, String after, ConnectionErrors errors) {
        p.addAfter(after, "h2", frameCodec()); // first: the handlers after it look for it
        String previous = "h2";
        for (ChannelHandler h : connectionHandlers(errors)) {
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

    /**
     * Ends an HTTP/2 connection that has had no open stream for {@code client_idle_timeout}, as an
     * idle HTTP/1.1 connection is ended: a {@code GOAWAY}, then {@link Hangup}. Unlike HTTP/1.1 it
     * does not ask whether the socket still sends ({@link LastSent}): the proxy answers a client's
     * {@code PING}s, so a client that pings would never be idle. A slow reader still gets the rest
     * of its last answer: the {@code GOAWAY} follows it, and {@link Hangup} resets only a client
     * that takes nothing more of what the socket holds for {@link Hangup#WHOLE_ANSWERS_QUIET} (or
     * the grace, when one of its streams was cut or refused). Runs on the
     * connection's event loop (its streams share it).
     */
    private static final class IdleClose extends ChannelInboundHandlerAdapter {
        private final ProxyContext context;
        private ChannelHandlerContext ctx;
        private int open;
        private ScheduledFuture<?> timer;

        IdleClose(ProxyContext context) {
            this.context = context;
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
            Duration d = context.access().clientIdleTimeout();
            if (d != null && ctx.channel().isActive()) {
                timer = ctx.executor().schedule(() -> {
                    timer = null;
                    if (open == 0) {
                        Hangup.afterAnswered(ctx, ctx.writeAndFlush(new DefaultHttp2GoAwayFrame(Http2Error.NO_ERROR)),
                                context.options().closeGrace(), d, "idle for client_idle_timeout");
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
