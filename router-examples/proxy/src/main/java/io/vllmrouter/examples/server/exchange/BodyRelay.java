package io.vllmrouter.examples.server.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.EmptyHttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.buffer.Unpooled;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.InBandErrorException;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.examples.server.Flushes;
import io.vllmrouter.examples.server.ProxyContext;
import io.vllmrouter.examples.server.ProxyOptions;
import io.vllmrouter.examples.server.door.Hangup;
import io.vllmrouter.examples.server.upstream.NettyChunk;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.ByteBuffer;
import java.util.concurrent.Flow;

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
 * <p>Any other body's head waits for the body's first chunk, so that an answer that came in one read
 * (a plain completion, as a rule) leaves in one write: head, body and end together.
 *
 * <p>An event stream passes whole events ({@link SseTail}). An answer cut short never ends like a
 * complete one: an event stream gets an error event, then the connection (or HTTP/2 stream) is
 * closed without the end of the body, within {@link ProxyOptions#closeGrace} (5 s) even if the
 * client reads nothing; any other body stops where it was cut, and the connection is ended the same
 * way. An HTTP/1 connection is half-closed after
 * the error event, and reset when the client has not closed its side by then: a client that reads
 * nothing may hold part of an event the socket had already taken, which cannot be called back, so
 * it reads an error, never an end; and the kernel drops what the client never took rather than keep
 * it for a closed socket. Runs on the client's event loop; the router's signals hop onto it.
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
    private final Runnable flushTask = this::flush;
    /** Not an event stream: the head, until it leaves with the body's first chunk or its end. */
    private HttpResponse heldHead;
    /** The body's first chunk, held with the head until the end follows or the next flush; this relay's. */
    private ByteBuf heldBody;

    BodyRelay(ChannelHandlerContext ctx, ProxyContext context, ProxyExchange exchange, RouterResponse response,
              boolean sse) {
        this.ctx = ctx;
        this.context = context;
        this.exchange = exchange;
        this.response = response;
        this.tail = sse ? new SseTail() : null;
    }

    /**
     * Starts the answer with its head and subscribes to the body. An event stream's head leaves at
     * once, before its first event; any other answer's leaves with the first part of its body (with
     * all of it when it came in one read), in one write to the client's socket.
     */
    void start(HttpResponse head) {
        if (tail != null) {
            // The client sees the stream open before the first event, but events the backend sent
            // with its headers (already read) leave in the same write.
            ctx.write(head);
            response.bodyPublisher().subscribe(this);
            flushSoon();
        } else {
            heldHead = head;
            response.bodyPublisher().subscribe(this);
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
        if (heldHead != null) {
            if (heldBody == null) {
                heldBody = buf; // with the head, and with the end if it follows before the flush
                flushSoon();
                return;
            }
            writeHeld(); // only if a publisher sent more than was asked for
        }
        writeContent(buf, n);
        flushSoon();
    }

    /** A chunk of the body; the next is asked for once the client's socket took it. */
    private void writeContent(ByteBuf buf, long n) {
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
    }

    /** The head held back, and the chunk held with it: the body did not end in the same read. */
    private void writeHeld() {
        HttpResponse head = heldHead;
        ByteBuf body = heldBody;
        heldHead = null;
        heldBody = null;
        ctx.write(head);
        if (body != null) {
            writeContent(body, body.readableBytes());
        }
    }

    /** Drops what was held back unwritten (the answer failed or the client left); the held chunk is released here, once. */
    private void dropHeld() {
        heldHead = null;
        if (heldBody != null) {
            context.buffered(-heldBody.readableBytes());
            heldBody.release();
            heldBody = null;
        }
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
     * Flushes once the backend read that brought this chunk is over (or the task running now), so
     * a chunk and the end that follows it at once (a whole answer in one upstream read) leave in one
     * write.
     */
    private void flushSoon() {
        if (!flushPending) {
            flushPending = true;
            Flushes.later(ctx.executor(), flushTask);
        }
    }

    private void flush() {
        flushPending = false;
        if (heldHead != null && heldBody != null) {
            writeHeld(); // the body goes on after this read: the head and its first part leave now
        }
        ctx.flush();
    }

    private void complete() {
        if (done) {
            return;
        }
        done = true;
        exchange.end();
        if (heldHead != null) {
            // The whole answer came before a flush: one write.
            ByteBuf body = heldBody == null ? Unpooled.EMPTY_BUFFER : heldBody;
            long n = body.readableBytes();
            HttpResponse head = heldHead;
            heldHead = null;
            heldBody = null;
            ctx.write(new DefaultFullHttpResponse(head.protocolVersion(), head.status(), body, head.headers(),
                    EmptyHttpHeaders.INSTANCE)).addListener(f -> {
                        context.buffered(-n);
                        response.close();
                    });
            flushSoon();
            return;
        }
        ByteBuf rest = tail == null ? null : tail.rest();
        LastHttpContent last = rest == null ? LastHttpContent.EMPTY_LAST_CONTENT : new DefaultLastHttpContent(rest);
        ctx.write(last).addListener(f -> response.close());
        flushSoon();
    }

    /**
     * The body was cut short: never end it like a complete one. An event stream gets an error event
     * (on an event boundary: a half event held back is dropped), then the connection is closed
     * without the body's end; any other body is ended as it is.
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
            boolean nothingSent = heldHead != null;
            dropHeld();
            if (nothingSent) {
                // Nothing of the answer left yet (its head waits for its body): the client gets
                // the router's 502, and the connection closes after it.
                ctx.writeAndFlush(Responses.closing(Responses.error(502, "server_error", "upstream_error",
                        "The backend's answer failed before its body reached you: " + reason, -1)));
                return;
            }
            // Its end never comes: the client reads a short body, then our end; one that reads
            // nothing is reset after the grace, and the kernel drops what it never took.
            Hangup.now(ctx, context.options().closeGrace(), "an answer cut short");
            return;
        }
        tail.discard();
        // After the backend's own error event (the last thing relayed) nothing is added: it says
        // what happened. Otherwise the client gets ours.
        ByteBuf last = t instanceof InBandErrorException ? Unpooled.EMPTY_BUFFER : errorEvent(reason);
        // The end follows what the socket holds; a client that reads nothing is reset after the
        // grace (what it holds may end inside an event, so it must never see a clean end).
        Hangup.after(ctx, ctx.writeAndFlush(new DefaultHttpContent(last)), context.options().closeGrace(),
                "a cut stream");
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
        dropHeld();
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
