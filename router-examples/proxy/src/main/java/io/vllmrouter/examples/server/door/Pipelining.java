package io.vllmrouter.examples.server.door;

import io.netty.channel.ChannelDuplexHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPromise;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.time.Duration;
import java.util.ArrayDeque;

/**
 * HTTP/1.1's one-at-a-time rule and keep-alive, for one connection: a request waits (its parts
 * queued, reads paused when many pile up) until the answer before it has been written; each answer
 * says whether the connection stays open ({@code Connection: close} for a client that asked for it,
 * {@code keep-alive} for an HTTP/1.0 client that asked to keep it), and after an answer that closes
 * it the connection is ended by {@link Hangup} (our side shut down, what the client still sends
 * read and dropped until it closes, reset after the grace if it takes nothing more), so it gets to
 * read the answer (closing with unread input would reset the connection and could lose it; closing
 * outright would leave what a client that reads nothing never took in the kernel).
 *
 * <p>An answer's end is its {@link LastHttpContent}; an answer cut short closes the connection
 * itself. Runs on the connection's event loop.
 */
final class Pipelining extends ChannelDuplexHandler {

    private static final int PAUSE_AT = 16;

    /** How long a connection ended while its client still sends waits for the client's close. */
    private final Duration closeGrace;
    /** {@code client_idle_timeout}, for how long a client may take nothing of its whole answers ({@link Hangup#nowAnswered}). */
    private final Duration quiet;
    private final ArrayDeque<Object> queued = new ArrayDeque<>();
    /** A request is being answered. */
    private boolean busy;
    /** All of the current request arrived. */
    private boolean requestComplete;
    private boolean keepAlive;
    private boolean http10;
    /** The answer being written closes the connection. */
    private boolean closeAfter;
    private boolean lingering;

    Pipelining(Duration closeGrace, Duration quiet) {
        this.closeGrace = closeGrace;
        this.quiet = quiet;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (lingering) {
            ReferenceCountUtil.release(msg);
            return;
        }
        if (!queued.isEmpty() || (busy && msg instanceof HttpRequest)) {
            queued.add(msg);
            if (queued.size() > PAUSE_AT) {
                ctx.channel().config().setAutoRead(false);
            }
            return;
        }
        pass(ctx, msg);
    }

    private void pass(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof HttpRequest req) {
            busy = true;
            requestComplete = false;
            keepAlive = HttpUtil.isKeepAlive(req);
            http10 = req.protocolVersion().equals(HttpVersion.HTTP_1_0);
            closeAfter = !keepAlive;
        }
        if (msg instanceof LastHttpContent) {
            requestComplete = true;
        }
        ctx.fireChannelRead(msg);
    }

    @Override
    public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
        if (msg instanceof HttpResponse r && r.status().code() >= 200) {
            if (!keepAlive) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            } else if (!HttpUtil.isKeepAlive(r)) {
                closeAfter = true; // the answer says so (a refusal that ends the connection)
            } else if (http10) {
                r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
            }
        }
        boolean last = msg instanceof LastHttpContent
                && !(msg instanceof HttpResponse r && r.status().code() < 200); // 100 Continue is not the answer
        ctx.write(msg, promise);
        if (last && busy) {
            answered(ctx);
        }
    }

    /** The current answer has been written (handed to the socket): close, or take the next request. */
    private void answered(ChannelHandlerContext ctx) {
        busy = false;
        if (closeAfter) {
            queued.forEach(ReferenceCountUtil::release);
            queued.clear();
            if (requestComplete) {
                Hangup.nowAnswered(ctx, closeGrace, quiet, "answered with Connection: close");
            } else {
                linger(ctx);
            }
            return;
        }
        while (!busy && !queued.isEmpty()) {
            pass(ctx, queued.poll());
        }
        while (busy && !requestComplete && !queued.isEmpty() && !(queued.peek() instanceof HttpRequest)) {
            pass(ctx, queued.poll());
        }
        if (queued.size() <= PAUSE_AT && !ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    /** Ends the connection although the client is still sending: what it sends is read and dropped meanwhile. */
    private void linger(ChannelHandlerContext ctx) {
        lingering = true;
        Hangup.now(ctx, closeGrace, "answered before its request ended"); // a refusal or a 408: the grace
    }

    /** Whether a request is being answered now (for the read timeouts). */
    boolean busy() {
        return busy;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        queued.forEach(ReferenceCountUtil::release);
        queued.clear();
        ctx.fireChannelInactive();
    }

    @Override
    public void handlerRemoved(ChannelHandlerContext ctx) {
        queued.forEach(ReferenceCountUtil::release);
        queued.clear();
    }
}
