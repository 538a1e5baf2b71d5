package io.vllmrouter.examples.server.door;

import io.netty.channel.Channel;
import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.concurrent.ScheduledFuture;
import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.ProxyContext;
import io.vllmrouter.examples.server.exchange.Responses;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

/**
 * The client's read timeouts: {@code client_header_timeout} for a request's line and headers (and
 * for the first request of a connection), {@code client_body_timeout} for its body, and
 * {@code client_idle_timeout} between requests, counted from when the client took the whole answer:
 * a client slow to read a long answer keeps its connection while it takes some of it within each
 * {@code client_idle_timeout}, from the proxy's buffer or (on Linux) from the socket's. A
 * connection that asked nothing is closed quietly; a
 * late head or body gets 408 (nothing is forwarded). An idle connection, or one answered 408, is
 * ended by {@link Hangup} (reset if the client does not close it). On an HTTP/2 stream
 * only the body is timed (the connection's idleness is {@link Http2Door}'s).
 *
 * <p>The connection keeps at most one timer, moved lazily: a keep-alive request goes through four
 * waits (headers, body, idle, headers), and setting and cancelling a timer for each was a measurable
 * share of the event loop. The timer is never set further ahead than the shortest of the three
 * timeouts, so a new wait never ends before it and never has to move it. When the timer fires, a
 * wait that is over times out, one that is not is checked again (at its end, or one shortest
 * timeout later), and with nothing awaited the timer lapses. Sits after
 * {@link Pipelining}, so it times the request being served; its {@link #byteWatch()} sits before the
 * HTTP codec and tells it when bytes of a next request arrive.
 */
final class ReadTimeouts extends ChannelDuplexHandler {

    private static final Logger LOG = LoggerFactory.getLogger(ReadTimeouts.class);

    /** What the connection waits for now. */
    private enum Wait { NOTHING, FIRST_REQUEST, IDLE, HEADERS, BODY, DRAIN }

    private final ProxyContext context;
    private final boolean stream;
    private ChannelHandlerContext ctx;
    private Wait waiting = Wait.NOTHING;
    private long deadlineNanos;
    private Duration waitLength;
    private ScheduledFuture<?> timer;
    private long timerAt;
    /** Bytes of the next request arrived. */
    private boolean sawBytes;
    /** A request is in progress (its answer not yet written). */
    private boolean serving;
    /** The last write of an answer, until the flush that sends it is over. */
    private ChannelPromise answerEnd;
    /** While the client takes an answer ({@code DRAIN}): its output as last seen, bytes pending and taken. */
    private long pendingSeen;
    private long progressSeen;

    /** How long ago the kernel last sent bytes to the client ({@link LastSent}). */
    private final ToLongFunction<Channel> lastSent;

    private ReadTimeouts(ProxyContext context, boolean stream, ToLongFunction<Channel> lastSent) {
        this.context = context;
        this.stream = stream;
        this.lastSent = lastSent;
    }

    /** For an HTTP/1.1 connection. */
    static ReadTimeouts forConnection(ProxyContext context) {
        return forConnection(context, LastSent::nanosAgo);
    }

    /** For an HTTP/1.1 connection, told by {@code lastSent} how long ago its socket last sent bytes. */
    static ReadTimeouts forConnection(ProxyContext context, ToLongFunction<Channel> lastSent) {
        return new ReadTimeouts(context, false, lastSent);
    }

    /** For one HTTP/2 stream: its body only. */
    static ReadTimeouts forStream(ProxyContext context) {
        return new ReadTimeouts(context, true, ch -> Long.MAX_VALUE);
    }

    /** Goes before the HTTP codec: tells this handler that request bytes arrived. */
    ChannelHandler byteWatch() {
        return new ChannelInboundHandlerAdapter() {
            @Override
            public void channelRead(ChannelHandlerContext c, Object msg) {
                sawBytes = true;
                if (waiting == Wait.IDLE) {
                    arm(Wait.HEADERS);
                }
                c.fireChannelRead(msg);
            }
        };
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        if (!stream && ctx.channel().isActive()) {
            arm(Wait.FIRST_REQUEST);
        }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        if (!stream) {
            arm(Wait.FIRST_REQUEST);
        }
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            serving = true;
            sawBytes = false;
            if (HttpUtil.isTransferEncodingChunked(req) || req.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
                arm(Wait.BODY);
            } else {
                waiting = Wait.NOTHING;
            }
        }
        if (msg instanceof LastHttpContent && waiting == Wait.BODY) {
            waiting = Wait.NOTHING;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        // Before the write: writing an answer's end lets a pipelined request through (Pipelining),
        // whose channelRead, within this write, must find the answer's end already counted.
        if (msg instanceof LastHttpContent && !(msg instanceof io.netty.handler.codec.http.HttpResponse r
                && r.status().code() < 200) && serving && !stream) {
            serving = false;
            arm(sawBytes ? Wait.HEADERS : Wait.IDLE);
            answerEnd = promise.isVoid() ? null : promise;
        }
        ctx.write(msg, promise);
    }

    /**
     * After an answer's flush: if the socket did not take all of it, the client is slow to read,
     * and the idle wait starts only once it took the rest. Meanwhile ({@code DRAIN}) a client that
     * takes nothing of its answer for {@code client_idle_timeout} is ended; one that takes some
     * keeps its connection, however long the answer.
     */
    @Override
    public void flush(ChannelHandlerContext ctx) {
        ctx.flush();
        ChannelPromise end = answerEnd;
        if (end != null) {
            answerEnd = null;
            if (!end.isDone() && (waiting == Wait.IDLE || waiting == Wait.HEADERS)) {
                arm(Wait.DRAIN);
                outputMoved();
                end.addListener(f -> {
                    if (waiting == Wait.DRAIN) {
                        arm(sawBytes ? Wait.HEADERS : Wait.IDLE); // taken: from now on the client is idle
                    }
                });
            }
        }
    }

    /** Whether the socket took some of what is queued since the last look; looks again. */
    private boolean outputMoved() {
        ChannelOutboundBuffer out = ctx.channel().unsafe().outboundBuffer();
        long pending = out == null ? 0 : out.totalPendingWriteBytes();
        long progress = out == null ? 0 : out.currentProgress(); // a large write partly taken
        boolean moved = pending != pendingSeen || progress != progressSeen;
        pendingSeen = pending;
        progressSeen = progress;
        return moved;
    }

    private void arm(Wait what) {
        FrontDoorConfig a = context.access();
        Duration d = switch (what) {
            case FIRST_REQUEST, HEADERS -> a.clientHeaderTimeout();
            case BODY -> a.clientBodyTimeout();
            case IDLE, DRAIN -> a.clientIdleTimeout();
            case NOTHING -> null;
        };
        waiting = d == null ? Wait.NOTHING : what;
        if (d == null) {
            return;
        }
        long now = ctx.executor().ticker().nanoTime();
        waitLength = d;
        deadlineNanos = now + d.toNanos();
        if (timer != null && timerAt - deadlineNanos > 0) {
            timer.cancel(false); // it would run after this deadline
            timer = null;
        }
        if (timer == null) {
            checkAt(now, deadlineNanos - now);
        }
    }

    private void checkAt(long now, long delayNanos) {
        long delay = Math.min(delayNanos, shortestWaitNanos(context.access()));
        timerAt = now + delay;
        timer = ctx.executor().schedule(this::check, delay, TimeUnit.NANOSECONDS);
    }

    /** The shortest timeout set: every wait armed later ends at or after a timer this close. */
    private static long shortestWaitNanos(FrontDoorConfig a) {
        long shortest = Long.MAX_VALUE;
        for (Duration d : new Duration[] {a.clientHeaderTimeout(), a.clientBodyTimeout(), a.clientIdleTimeout()}) {
            if (d != null) {
                shortest = Math.min(shortest, d.toNanos());
            }
        }
        return shortest;
    }

    private void check() {
        timer = null;
        if (waiting == Wait.NOTHING || !ctx.channel().isActive()) {
            return;
        }
        long now = ctx.executor().ticker().nanoTime();
        long left = deadlineNanos - now;
        if (left > 0) {
            checkAt(now, left);
        } else if (waiting == Wait.DRAIN && outputMoved()) {
            arm(Wait.DRAIN); // the client took some of its answer during this wait: another
        } else if (waiting == Wait.IDLE && (left = waitLength.toNanos() - lastSent.applyAsLong(ctx.channel())) > 0) {
            // The kernel was still sending the answer lately: the client is reading what the
            // socket had taken. Idle from the last byte it sent.
            deadlineNanos = now + left;
            checkAt(now, left);
        } else {
            timedOut(waiting, waitLength);
        }
    }

    private void timedOut(Wait what, Duration d) {
        waiting = Wait.NOTHING;
        String secs = d.toMillis() % 1000 == 0 ? String.valueOf(d.toSeconds()) : String.valueOf(d.toMillis() / 1000.0);
        switch (what) {
            case IDLE -> Hangup.now(ctx, context.options().closeGrace(), "idle for client_idle_timeout"); // it took everything already
            case DRAIN -> Hangup.now(ctx, context.options().closeGrace(),
                    "took none of its answer for client_idle_timeout");
            case FIRST_REQUEST, HEADERS -> {
                if (!sawBytes && what == Wait.FIRST_REQUEST) {
                    ctx.close(); // nothing was asked: nothing to answer
                    return;
                }
                LOG.debug("request headers not received within {} s from {}; closing", secs, ctx.channel().remoteAddress());
                late("Request headers not received within client_header_timeout (" + secs + " s)", "request headers late");
            }
            case BODY -> {
                LOG.debug("request body not received within {} s; closing, nothing forwarded", secs);
                late("Request body not received within client_body_timeout (" + secs + " s)", "request body late");
            }
            default -> {
            }
        }
    }

    /** A request too late: 408 with {@code message}, then the connection is ended. */
    private void late(String message, String why) {
        Hangup.after(ctx, ctx.writeAndFlush(Responses.closing(Responses.error(408, "invalid_request_error",
                "request_timeout", message, -1))), context.options().closeGrace(), why);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stop();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stop(); // the connection turned to HTTP/2, or closed
    }

    private void stop() {
        waiting = Wait.NOTHING;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }
}
