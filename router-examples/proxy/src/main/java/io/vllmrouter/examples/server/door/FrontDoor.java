package io.vllmrouter.examples.server.door;

import io.netty.channel.ChannelHandlerAdapter;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpServerUpgradeHandler;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http2.CleartextHttp2ServerUpgradeHandler;
import io.netty.handler.codec.http2.Http2CodecUtil;
import io.netty.handler.codec.http2.Http2ServerUpgradeCodec;
import io.netty.handler.ssl.ApplicationProtocolNames;
import io.netty.handler.ssl.ApplicationProtocolNegotiationHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.util.AsciiString;
import io.vllmrouter.examples.server.HttpDecoding;
import io.vllmrouter.examples.server.ProxyContext;
import io.vllmrouter.examples.server.exchange.ExchangeHandlers;

import java.util.ArrayList;
import java.util.List;

/**
 * Sets up each client connection: TLS when configured, then HTTP/1.1 or HTTP/2 — h2c by prior
 * knowledge or {@code Upgrade: h2c} on a cleartext port, h2 by ALPN over TLS — and behind the
 * protocol the same request handlers ({@link ExchangeHandlers}). An HTTP/1.1 connection's pipeline:
 * {@code bytes} (the read timeouts' watch), the codec, {@link Pipelining}, {@link ReadTimeouts}, the
 * exchange handlers, {@link ConnectionErrors}. When the connection turns to HTTP/2 its HTTP/1.1
 * handlers are removed and {@link Http2Door}'s take over.
 */
public final class FrontDoor extends ChannelInitializer<SocketChannel> {

    /**
     * Largest body an {@code Upgrade: h2c} request may carry: it is held whole while the connection
     * switches. A larger (or chunked) one is served on HTTP/1.1, its Upgrade ignored.
     */
    static final int UPGRADE_BODY_LIMIT = 64 * 1024;

    private final ProxyContext context;
    private final ChannelGroup connections;
    private final SslContext tls;
    private final ExchangeHandlers exchanges;
    private final Http2Door http2;

    public FrontDoor(ProxyContext context, ChannelGroup connections, SslContext tls) {
        this.context = context;
        this.connections = connections;
        this.tls = tls;
        this.exchanges = new ExchangeHandlers(context);
        this.http2 = new Http2Door(context, exchanges);
    }

    /** Sends GOAWAY on the HTTP/2 connections among {@code connections}. */
    public static void goAway(ChannelGroup connections) {
        Http2Door.goAway(connections);
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        connections.add(ch);
        ChannelPipeline p = ch.pipeline();
        ConnectionErrors errors = new ConnectionErrors(context.options().metrics());
        if (tls != null) {
            p.addLast("tls", tls.newHandler(ch.alloc()));
        }
        ReadTimeouts timeouts = ReadTimeouts.forConnection(context);
        p.addLast("bytes", timeouts.byteWatch());
        int headerBytes = context.access().maxHeaderBytes();
        HttpServerCodec codec = new HttpServerCodec(HttpDecoding.config(Math.min(8192, headerBytes), headerBytes, 64 * 1024));
        if (tls != null) {
            p.addLast("alpn", alpn(codec, errors));
        } else {
            p.addLast("h2c", h2c(codec, errors));
            p.addLast("h2c-switch", new Switch());
        }
        p.addLast("pipelining", new Pipelining(context.options().closeGrace(), context.access().clientIdleTimeout()));
        p.addLast("timeouts", timeouts);
        exchanges.addTo(p);
        p.addLast("errors", errors);
    }

    /** The HTTP/1.1 handlers, removed when the connection turns to HTTP/2. */
    private static List<String> http1Handlers() {
        List<String> names = new ArrayList<>(List.of("bytes", "pipelining", "timeouts"));
        names.addAll(ExchangeHandlers.NAMES);
        return names;
    }

    private static void removeHttp1(ChannelPipeline p) {
        for (String name : http1Handlers()) {
            if (p.get(name) != null) {
                p.remove(name);
            }
        }
    }

    /** HTTP/1.1 with h2c detection: the HTTP/2 preface (prior knowledge), or {@code Upgrade: h2c}. */
    private ChannelHandlerAdapter h2c(HttpServerCodec codec, ConnectionErrors errors) {
        HttpServerUpgradeHandler upgrade = new HttpServerUpgradeHandler(codec, protocol ->
                AsciiString.contentEquals(Http2CodecUtil.HTTP_UPGRADE_PROTOCOL_NAME, protocol)
                        ? new Http2ServerUpgradeCodec(http2.frameCodec(), http2.connectionHandlers(errors)) : null,
                UPGRADE_BODY_LIMIT, DefaultHttpHeadersFactory.headersFactory(),
                DefaultHttpHeadersFactory.trailersFactory(), true) {
            @Override
            protected boolean shouldHandleUpgradeRequest(HttpRequest req) {
                // Only a body that is small and declared is held while switching.
                return !HttpUtil.isTransferEncodingChunked(req)
                        && HttpUtil.getContentLength(req, 0L) <= UPGRADE_BODY_LIMIT;
            }
        };
        return new CleartextHttp2ServerUpgradeHandler(codec, upgrade, new ChannelHandlerAdapter() {
            @Override
            public void handlerAdded(ChannelHandlerContext ctx) { // prior knowledge
                http2.addAfter(ctx.pipeline(), ctx.name(), errors);
                ctx.pipeline().remove(this);
            }
        });
    }

    /** Over TLS: HTTP/2 when the client offers {@code h2} by ALPN, else HTTP/1.1. */
    private ApplicationProtocolNegotiationHandler alpn(HttpServerCodec codec, ConnectionErrors errors) {
        return new ApplicationProtocolNegotiationHandler(ApplicationProtocolNames.HTTP_1_1) {
            @Override
            protected void configurePipeline(ChannelHandlerContext ctx, String protocol) {
                ChannelPipeline p = ctx.pipeline();
                if (ApplicationProtocolNames.HTTP_2.equals(protocol)) {
                    http2.addAfter(p, ctx.name(), errors);
                    removeHttp1(p);
                } else {
                    p.addAfter(ctx.name(), "http", codec);
                }
            }

            @Override
            protected void handshakeFailure(ChannelHandlerContext ctx, Throwable cause) {
                ctx.fireExceptionCaught(cause); // counted and logged once by ConnectionErrors
            }

            @Override
            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                ctx.fireExceptionCaught(cause);
            }
        };
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
                removeHttp1(p);
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
}
