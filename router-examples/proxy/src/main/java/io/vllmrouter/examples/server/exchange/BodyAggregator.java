package io.vllmrouter.examples.server.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vllmrouter.examples.server.ProxyContext;

import java.util.Arrays;

/**
 * Reads a request's body into its {@link ProxyExchange}, within the limits, and hands the exchange
 * on once the body is whole. Only a request that will be forwarded keeps its body: up to
 * {@code max_body_bytes} (a larger one gets 413 at once), in memory reserved from
 * {@code max_buffered_body_bytes} across all connections (when that is spent, 503 at once). Memory
 * follows the bytes received, not the declared length. Any other body is read and dropped; after a
 * refusal that closes the connection, at most {@value #DISCARD_LIMIT} bytes are dropped before it
 * closes anyway.
 *
 * <p>Refusals that close the connection are answered at once (the client may still be sending); the
 * others once the body has been read. One per connection or stream; runs on its event loop.
 */
public final class BodyAggregator extends ChannelInboundHandlerAdapter {

    /** Bytes of a refused body read and dropped before the connection is closed anyway. */
    static final long DISCARD_LIMIT = 16L * 1024 * 1024;
    /** First size of a body buffer when Content-Length is larger: memory follows the bytes received. */
    private static final int INITIAL_BODY_BUFFER = 64 * 1024;

    private final ProxyContext context;
    /** The exchange whose body is arriving, or null between requests. */
    private ProxyExchange current;
    private boolean keeping;
    private long limit;
    private long declared;
    private long discarded;

    public BodyAggregator(ProxyContext context) {
        this.context = context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (msg instanceof ProxyExchange x) {
            begin(ctx, x);
        } else if (msg instanceof HttpContent c) {
            try {
                content(ctx, c);
            } finally {
                c.release();
            }
        } else {
            ReferenceCountUtil.release(msg);
        }
    }

    private void begin(ChannelHandlerContext ctx, ProxyExchange x) {
        current = x;
        keeping = false;
        discarded = 0;
        if (x.complete || (x.refusal != null && x.refusal.close())) {
            dispatch(ctx, x);
            return;
        }
        if (!x.forwarded() || !x.methodAllowed) {
            if (HttpUtil.is100ContinueExpected(x.head)) {
                if (x.refusal != null) {
                    // The client sends its body only after 100 Continue: refused, it hears so now,
                    // and the connection closes after the answer (the body is not wanted).
                    refuseNow(ctx, x, x.refusal.closing());
                } else {
                    ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
                }
            }
            return; // answered locally or refused: the body, if any, is dropped
        }
        limit = context.maxBodyBytes();
        declared = -1;
        String cl = x.head.headers().get(HttpHeaderNames.CONTENT_LENGTH);
        if (cl != null) {
            try {
                declared = Long.parseLong(cl.trim());
            } catch (NumberFormatException e) {
                refuseNow(ctx, x, new ProxyExchange.Refusal(400, "invalid_request_error", "invalid_request",
                        "Bad Content-Length: " + cl).closing());
                return;
            }
            if (declared > limit) {
                refuseNow(ctx, x, tooLarge());
                return;
            }
        }
        if (HttpUtil.is100ContinueExpected(x.head)) {
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
        }
        int initial = (int) Math.max(0, Math.min(declared >= 0 ? Math.min(declared, INITIAL_BODY_BUFFER) : 1024, limit));
        if (!context.reserveBody(initial)) {
            refuseNow(ctx, x, overloaded());
            return;
        }
        x.reserved = initial;
        x.body = new byte[initial];
        keeping = true;
    }

    private void content(ChannelHandlerContext ctx, HttpContent content) {
        ProxyExchange x = current;
        if (x == null || x.complete) {
            return; // after an answer that closes the connection: dropped
        }
        if (content.decoderResult().isFailure()) {
            refuseNow(ctx, x, new ProxyExchange.Refusal(400, "invalid_request_error", "invalid_request",
                    "Malformed HTTP request body").closing());
            ctx.close();
            return;
        }
        ByteBuf data = content.content();
        int n = data.readableBytes();
        if (keeping && n > 0) {
            if (x.length + (long) n > limit) {
                refuseNow(ctx, x, tooLarge());
            } else if (!grow(x, n)) {
                refuseNow(ctx, x, overloaded());
            } else {
                data.readBytes(x.body, x.length, n);
                x.length += n;
            }
        } else if (x.refusal != null && x.refusal.close()) {
            discarded += n;
            if (discarded > DISCARD_LIMIT) {
                ctx.close();
                return;
            }
        }
        if (content instanceof LastHttpContent) {
            if (x.refusal != null && x.refusal.close()) {
                current = null; // answered already; the rest of its body is read
                x.complete = true;
                return;
            }
            x.complete = true;
            if (keeping && x.length != x.body.length) {
                x.body = Arrays.copyOf(x.body, x.length);
            }
            dispatch(ctx, x);
        }
    }

    /** Room for {@code n} more bytes, doubling but never past the declared length; false when the budget is spent. */
    private boolean grow(ProxyExchange x, int n) {
        if (x.length + n <= x.body.length) {
            return true;
        }
        long cap = declared >= 0 ? Math.min(limit, declared) : limit;
        int size = (int) Math.min(cap, Math.max(x.length + (long) n, x.body.length * 2L));
        if (size < x.length + n || !context.reserveBody(size - x.body.length)) {
            return false;
        }
        x.reserved += size - x.body.length;
        x.body = Arrays.copyOf(x.body, size);
        return true;
    }

    /** Answers now, drops the rest of the body, and closes once it is read (or too much of it came). */
    private void refuseNow(ChannelHandlerContext ctx, ProxyExchange x, ProxyExchange.Refusal r) {
        keeping = false;
        x.releaseBody();
        x.refusal = r;
        dispatch(ctx, x);
    }

    private void dispatch(ChannelHandlerContext ctx, ProxyExchange x) {
        if (x.complete) {
            current = null;
        }
        ctx.fireChannelRead(x);
    }

    private ProxyExchange.Refusal tooLarge() {
        return new ProxyExchange.Refusal(413, "invalid_request_error", "request_too_large",
                "Request body larger than max_body_bytes (" + limit + " bytes)").closing();
    }

    private static ProxyExchange.Refusal overloaded() {
        return new ProxyExchange.Refusal(503, "server_error", "server_overloaded",
                "The router holds too many request bodies now (max_buffered_body_bytes); retry shortly",
                1, null, false, true);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ProxyExchange x = current;
        current = null;
        if (x != null) {
            x.abort();
        }
        ctx.fireChannelInactive();
    }
}
