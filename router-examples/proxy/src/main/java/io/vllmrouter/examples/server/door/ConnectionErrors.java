package io.vllmrouter.examples.server.door;

import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http2.Http2Exception;
import io.vllmrouter.examples.server.ProxyMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import javax.net.ssl.SSLException;
import java.io.IOException;

/**
 * The end of a client connection's pipeline (and of each of its HTTP/2 streams'): every failure is
 * counted ({@code vllm_router_client_connection_errors_total}) and the connection's first is logged
 * in one line, without a stack trace — a client that speaks broken HTTP/2 at us makes one line, not
 * one per frame. Resets and broken pipes are logged at DEBUG, protocol and TLS failures at INFO, and
 * a failure of the router's own (a bug) at ERROR with its stack trace. The connection (or stream) is
 * closed. One per connection; its streams share it (same event loop).
 */
@ChannelHandler.Sharable
final class ConnectionErrors extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ConnectionErrors.class);

    private final ProxyMetrics metrics;
    private boolean logged;

    ConnectionErrors(ProxyMetrics metrics) {
        this.metrics = metrics;
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        String kind = kind(cause);
        metrics.clientConnectionError(kind);
        if (kind.equals("internal")) {
            LOG.error("internal error on the connection from {}", remote(ctx), cause); // a bug: with its trace
        } else if (!logged) {
            logged = true;
            // A decoder's exception says "java.lang.X: ..." of what it wraps: the wrapped one's words only.
            Throwable c = unwrapped(cause);
            String message = c.getMessage() == null ? "no detail" : c.getMessage();
            if (kind.equals("io")) {
                LOG.debug("client connection from {} failed: {}", ctx.channel().remoteAddress(), message);
            } else {
                LOG.info("client connection from {}: {} error ({}); later errors on it are only counted",
                        remote(ctx), kind.equals("tls") ? "TLS" : "HTTP protocol", message);
            }
        }
        ctx.close();
    }

    private static Object remote(ChannelHandlerContext ctx) {
        Object a = ctx.channel().remoteAddress();
        return a != null ? a : ctx.channel().parent() != null ? ctx.channel().parent().remoteAddress() : "?";
    }

    /** What a decoder's exception wraps, else {@code t} itself. */
    private static Throwable unwrapped(Throwable t) {
        return t instanceof DecoderException && t.getCause() != null ? t.getCause() : t;
    }

    static String kind(Throwable t) {
        Throwable c = unwrapped(t);
        if (c instanceof SSLException) {
            return "tls";
        }
        if (c instanceof Http2Exception || t instanceof DecoderException) {
            return "protocol";
        }
        return c instanceof IOException ? "io" : "internal";
    }
}
