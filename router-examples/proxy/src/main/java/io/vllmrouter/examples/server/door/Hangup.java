package io.vllmrouter.examples.server.door;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the proxy ends a client connection of its own accord (a cut stream's, an idle one, a late
 * request's): after its last write, its side of the connection is shut down (after TLS's
 * {@code close_notify}), so a client that reads gets everything and then the end, and closes; a
 * connection still open when the grace is over is reset. A socket simply closed would leave what a
 * client that reads nothing has not taken (up to megabytes) in the kernel for as long as the client
 * holds on. An HTTP/2 stream (not a socket) is closed when its last write is done, or at the grace.
 */
public final class Hangup {

    private static final Logger LOG = LoggerFactory.getLogger(Hangup.class);

    private Hangup() {
    }

    /** Ends {@code ctx}'s connection now: what was written before is on its way, or will not be. */
    public static void now(ChannelHandlerContext ctx, Duration grace, String why) {
        after(ctx, ctx.newSucceededFuture(), grace, why);
    }

    /**
     * Ends {@code ctx}'s connection once {@code lastWrite} is done. {@code why} says in the log, with
     * the grace, why a connection was reset.
     */
    public static void after(ChannelHandlerContext ctx, ChannelFuture lastWrite, Duration grace, String why) {
        Channel ch = ctx.channel();
        lastWrite.addListener(f -> {
            if (f.isSuccess() && ch instanceof SocketChannel socket) {
                SslHandler tls = ctx.pipeline().get(SslHandler.class);
                if (tls == null) {
                    socket.shutdownOutput();
                } else {
                    tls.closeOutbound().addListener(sent -> socket.shutdownOutput());
                }
            } else {
                ctx.close(); // an HTTP/2 stream: reset; or a write that failed
            }
        });
        ctx.executor().schedule(() -> {
            if (ch instanceof SocketChannel socket && socket.isOpen()) {
                LOG.debug("connection from {} reset ({}): the client did not close it within {}",
                        socket.remoteAddress(), why, grace);
                socket.config().setSoLinger(0);
            }
            ctx.close();
        }, grace.toNanos(), TimeUnit.NANOSECONDS);
    }
}
