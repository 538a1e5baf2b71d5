package io.vllmrouter.examples.server.door;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.ssl.SslHandler;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * How the proxy ends a client connection of its own accord (a cut answer's, an idle one, one
 * answered before its request ended or with {@code Connection: close}, a late request's): after
 * its last write, its side of the connection is shut down (after TLS's {@code close_notify}), so a
 * client that reads gets everything and then the end, and closes; a connection still open when the
 * grace is over is reset, unless the client is still taking what the socket holds. A socket
 * simply closed would leave what a client that reads nothing has not taken (up to megabytes) in the
 * kernel for as long as the client holds on, and one closed with unread input is reset at once,
 * which can lose the answer. From the moment it is ended, whatever the client still sends is read
 * and dropped: no request on it is served any more. An HTTP/2 stream (not a socket) is closed when
 * its last write is done, or at the grace. The first end of a connection is the one that counts.
 */
public final class Hangup {

    private static final Logger LOG = LoggerFactory.getLogger(Hangup.class);

    /** The pipeline's first handler once a connection is ended: drops what the client sends. */
    private static final String DROP = "hung-up";

    @ChannelHandler.Sharable
    private static final class Drop extends ChannelInboundHandlerAdapter {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }
    }

    private static final Drop DROPS = new Drop();

    private Hangup() {
    }

    /**
     * Ends {@code ctx}'s connection once what was written before it has been handed to the socket:
     * after a cut answer, a refusal, or a client that took none of its answer, so one that takes
     * nothing more is reset at the grace.
     */
    public static void now(ChannelHandlerContext ctx, Duration grace, String why) {
        if (!endedAlready(ctx)) {
            after(ctx, ctx.writeAndFlush(Unpooled.EMPTY_BUFFER), grace, why);
        }
    }

    /**
     * After whole answers, the least time the client may take nothing of what the socket holds
     * before its connection is reset. A client reading a long answer slowly through a large receive
     * buffer opens its window only when half of the buffer is free (Linux: 3 MB of the usual 6 MB),
     * so the socket may send nothing for many seconds while the client reads steadily (10 s at
     * 300 KB/s): a reset at the grace would drop the end of an answer it was reading.
     */
    static final Duration WHOLE_ANSWERS_QUIET = Duration.ofSeconds(60);

    /** A connection one of whose HTTP/2 streams the proxy ended (cut or refused): its end is not after whole answers. */
    private static final AttributeKey<Boolean> ENDED_A_STREAM = AttributeKey.valueOf(Hangup.class, "endedAStream");

    /**
     * As {@link #now}, after whole answers: reset only once the client has taken nothing of what the
     * socket holds for {@link #WHOLE_ANSWERS_QUIET}, or {@code quiet} ({@code client_idle_timeout})
     * when longer, as it may still be reading the last one.
     */
    public static void nowAnswered(ChannelHandlerContext ctx, Duration grace, Duration quiet, String why) {
        if (!endedAlready(ctx)) {
            after(ctx, ctx.writeAndFlush(Unpooled.EMPTY_BUFFER), grace, why, wholeAnswers(ctx, grace, quiet),
                    LastSent::nanosAgo);
        }
    }

    /**
     * How long a client may take nothing after {@code ctx}'s answers: {@link #WHOLE_ANSWERS_QUIET} or
     * {@code quiet} when longer; the grace when the proxy ended one of the connection's HTTP/2
     * streams (cut or refused), as its answers were not all whole.
     */
    private static Duration wholeAnswers(ChannelHandlerContext ctx, Duration grace, Duration quiet) {
        if (ctx.channel().hasAttr(ENDED_A_STREAM)) {
            return grace;
        }
        return quiet != null && quiet.compareTo(WHOLE_ANSWERS_QUIET) > 0 ? quiet : WHOLE_ANSWERS_QUIET;
    }

    /**
     * Ends {@code ctx}'s connection once {@code lastWrite} is done. {@code why} says in the log, with
     * the grace, why a connection was reset.
     */
    public static void after(ChannelHandlerContext ctx, ChannelFuture lastWrite, Duration grace, String why) {
        after(ctx, lastWrite, grace, why, grace, LastSent::nanosAgo);
    }

    /** As {@link #after}, with {@code lastWrite} ending whole answers (as {@link #nowAnswered}). */
    public static void afterAnswered(ChannelHandlerContext ctx, ChannelFuture lastWrite, Duration grace, Duration quiet,
                                     String why) {
        after(ctx, lastWrite, grace, why, wholeAnswers(ctx, grace, quiet), LastSent::nanosAgo);
    }

    /**
     * As above: reset once the client has taken nothing for {@code quiet} (at least the grace), as
     * told by {@code lastSent}, how long ago the socket last sent bytes to the client.
     */
    static void after(ChannelHandlerContext ctx, ChannelFuture lastWrite, Duration grace, String why,
                      Duration quiet, ToLongFunction<Channel> lastSent) {
        Channel ch = ctx.channel();
        if (endedAlready(ctx)) {
            return;
        }
        if (ch instanceof SocketChannel) {
            ch.pipeline().addFirst(DROP, DROPS);
            ch.config().setAutoRead(true); // the client's end is seen even if reads were paused
        }
        lastWrite.addListener(f -> {
            if (f.isSuccess() && ch instanceof SocketChannel socket && socket.isActive()) {
                SslHandler tls = ch.pipeline().get(SslHandler.class);
                if (tls == null) {
                    socket.shutdownOutput();
                } else {
                    tls.closeOutbound().addListener(sent -> socket.shutdownOutput());
                }
            } else {
                ctx.close(); // an HTTP/2 stream: reset; or a write that failed
            }
        });
        if (!(ch instanceof SocketChannel) && ch.parent() != null) {
            ch.parent().attr(ENDED_A_STREAM).set(Boolean.TRUE);
        }
        Reset reset = new Reset(ctx, grace.compareTo(quiet) > 0 ? grace : quiet, why, lastSent);
        reset.in(grace.toNanos());
        ch.closeFuture().addListener(f -> reset.timer.cancel(false));
    }

    /**
     * Resets a connection the client has not closed within the grace. A client still taking what the
     * socket holds (its kernel sent bytes within the grace, or after whole answers within {@link
     * #WHOLE_ANSWERS_QUIET}: a slow reader of a long answer) is given it again from the last byte
     * sent; one that takes nothing is reset, and the kernel drops what it never took.
     */
    private static final class Reset implements Runnable {
        private final ChannelHandlerContext ctx;
        private final Duration grace;
        private final String why;
        private final ToLongFunction<Channel> lastSent;
        private ScheduledFuture<?> timer;

        Reset(ChannelHandlerContext ctx, Duration grace, String why, ToLongFunction<Channel> lastSent) {
            this.ctx = ctx;
            this.grace = grace;
            this.why = why;
            this.lastSent = lastSent;
        }

        void in(long nanos) {
            timer = ctx.executor().schedule(this, nanos, TimeUnit.NANOSECONDS);
        }

        @Override
        public void run() {
            if (ctx.channel() instanceof SocketChannel socket && socket.isOpen()) {
                long left = grace.toNanos() - lastSent.applyAsLong(socket);
                if (left > 0) {
                    in(left);
                    return;
                }
                LOG.debug("connection from {} reset ({}): the client did not close it, and took nothing for {}",
                        socket.remoteAddress(), why, grace);
                socket.config().setSoLinger(0);
            }
            ctx.close();
        }
    }

    /** Whether {@code ctx}'s connection was ended before (by another handler, for another reason). */
    private static boolean endedAlready(ChannelHandlerContext ctx) {
        return ctx.channel() instanceof SocketChannel && ctx.pipeline().get(DROP) != null;
    }
}
