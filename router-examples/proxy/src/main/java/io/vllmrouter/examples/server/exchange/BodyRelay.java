package io.vllmrouter.examples.server.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.buffer.Unpooled;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.InBandErrorException;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.examples.server.ProxyContext;
import io.vllmrouter.examples.server.ProxyOptions;
import io.vllmrouter.examples.server.upstream.NettyChunk;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

/**
 * Writes a backend's body to the client as the router passes it on, one chunk at a time: the next is
 * asked for when the previous one's write completed, so a slow client slows its backend and at most
 * one read's worth is held per stream.
 *
 * <p>Each chunk is this relay's from {@code onNext} until its write takes it: Netty releases a
 * written buffer when the write completed or failed, and nothing else releases it — not the request
 * ending, a deadline, or the backend failing. So a cut never hands a chunk still queued for a slow
 * client back to the pool (where another request's bytes would take its place).
 *
 * <p>An event stream passes whole events ({@link SseTail}). An answer cut short never ends like a
 * complete one: an event stream gets an error event, then the connection (or HTTP/2 stream) is
 * closed without the end of the body, within {@link ProxyOptions#cutStreamGrace} (5 s) even if the
 * client reads nothing; any other body is closed at once. A client that has not taken the error
 * event by then may hold part of an event the socket had already taken, which cannot be called
 * back: its connection is reset, not closed, so that it reads an error, never an end. Runs on the
 * client's event loop; the router's signals hop onto it.
 */
final class BodyRelay implements Flow.Subscriber<BodyChunk> {

    private static final Logger LOG = LoggerFactory.getLogger(BodyRelay.class);

    private final ChannelHandlerContext ctx;
    private final ProxyContext context;
    private final ProxyExchange exchange;
    private final RouterResponse response;
    private final SseTail tail;
    private volatile Flow.Subscription subscription;
    private boolean done;
    private boolean flushPending;

    BodyRelay(ChannelHandlerContext ctx, ProxyContext context, ProxyExchange exchange, RouterResponse response,
              boolean sse) {
        this.ctx = ctx;
        this.context = context;
        this.exchange = exchange;
        this.response = response;
        this.tail = sse ? new SseTail() : null;
    }

    /** Writes the head and starts the body; an event stream's head leaves at once. */
    void start(HttpResponse head) {
        ctx.write(head);
        response.bodyPublisher().subscribe(this);
        if (tail != null) {
            // The client sees the stream open before the first event, but events the backend sent
            // with its headers (already read) leave in the same write.
            flushSoon();
        }
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        s.request(1);
    }

    @Override
    public void onNext(BodyChunk item) {
        onLoop(() -> write(item));
    }

    @Override
    public void onError(Throwable t) {
        onLoop(() -> truncated(t));
    }

    @Override
    public void onComplete() {
        onLoop(this::complete);
    }

    private void write(BodyChunk item) {
        if (done) {
            item.release();
            return;
        }
        ByteBuf buf = ownBuffer(item);
        if (tail != null) {
            buf = tail.whole(buf, () -> ctx.alloc().compositeBuffer());
        }
        if (buf == null || !buf.isReadable()) {
            if (buf != null) {
                buf.release();
            }
            subscription.request(1); // nothing whole yet: the next chunk
            return;
        }
        long n = buf.readableBytes();
        context.buffered(n);
        ctx.write(new DefaultHttpContent(buf)).addListener(f -> {
            context.buffered(-n);
            if (f.isSuccess()) {
                if (!done) {
                    subscription.request(1);
                }
            } else {
                LOG.debug("client went away during request {}; cancelling upstream", response.requestId());
                clientGone();
                ctx.close();
            }
        });
        flushSoon();
    }

    /** The chunk's bytes as a buffer this relay owns: the transport's own, or a copy of someone else's. */
    private ByteBuf ownBuffer(BodyChunk item) {
        if (item instanceof NettyChunk netty) {
            return netty.buf();
        }
        try {
            ByteBuf copy = ctx.alloc().buffer((int) item.length());
            for (ByteBuffer b : item.buffers()) {
                copy.writeBytes(b.duplicate());
            }
            return copy;
        } finally {
            item.release();
        }
    }

    /**
     * Flushes once the current event-loop task is done, so a chunk and the end that follows it at
     * once (a whole answer in one upstream read) leave in one write.
     */
    private void flushSoon() {
        if (!flushPending) {
            flushPending = true;
            ctx.executor().execute(() -> {
                flushPending = false;
                ctx.flush();
            });
        }
    }

    private void complete() {
        if (done) {
            return;
        }
        done = true;
        exchange.end();
        ByteBuf rest = tail == null ? null : tail.rest();
        LastHttpContent last = rest == null ? LastHttpContent.EMPTY_LAST_CONTENT : new DefaultLastHttpContent(rest);
        ctx.write(last).addListener(f -> response.close());
        flushSoon();
    }

    /**
     * The body was cut short: never end it like a complete one. An event stream gets an error event
     * (on an event boundary: a half event held back is dropped), then the connection is closed
     * without the body's end; any other body is closed as it is.
     */
    private void truncated(Throwable t) {
        if (done) {
            return;
        }
        done = true;
        String reason = t.getMessage() == null ? "the backend failed" : t.getMessage();
        LOG.debug("upstream body of request {} from {} failed: {}", response.requestId(), response.backendId(), reason);
        response.close();
        exchange.end();
        if (tail == null) {
            ctx.close();
            return;
        }
        tail.discard();
        // After the backend's own error event (the last thing relayed) nothing is added: it says
        // what happened. Otherwise the client gets ours.
        ByteBuf last = t instanceof InBandErrorException ? Unpooled.EMPTY_BUFFER : errorEvent(reason);
        ChannelFuture written = ctx.writeAndFlush(new DefaultHttpContent(last))
                .addListener(ChannelFutureListener.CLOSE);
        // A client that reads nothing would hold the connection open for ever: closed anyway, and
        // reset when the error event has not gone (what it got may end in part of an event).
        ctx.executor().schedule(() -> {
            if (!written.isDone() && ctx.channel() instanceof SocketChannel socket && socket.isOpen()) {
                socket.config().setSoLinger(0);
            }
            ctx.close();
        }, context.options().cutStreamGrace().toNanos(), TimeUnit.NANOSECONDS);
    }

    private ByteBuf errorEvent(String reason) {
        byte[] event = ("data: " + Responses.utf8(Responses.errorJson("upstream_error", 502,
                "The answer was cut short: " + reason)) + "\n\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        return ctx.alloc().buffer(event.length).writeBytes(event);
    }

    /** The client's connection closed: cancel the upstream request. */
    void clientGone() {
        if (done) {
            return;
        }
        done = true;
        if (tail != null) {
            tail.discard();
        }
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
        response.close();
    }

    private void onLoop(Runnable r) {
        if (ctx.executor().inEventLoop()) {
            r.run();
        } else {
            ctx.executor().execute(r);
        }
    }
}
