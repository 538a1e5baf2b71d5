package io.vllmrouter.examples.server.exchange;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.util.ReferenceCountUtil;
import io.vllmrouter.api.OneLine;
import io.vllmrouter.examples.server.ProxyContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The last step of an exchange: its answer. A refusal is sent as it is; an unknown path gets 404
 * and a method the route does not take 405; a local endpoint answers from {@link LocalEndpoints};
 * the rest is forwarded ({@link ForwardHandler}). Whatever it sends to a HEAD goes without its
 * body. Keeps the exchange being answered, to abort it when the client leaves. One per connection
 * or stream; runs on its event loop.
 */
public final class Dispatch extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(Dispatch.class);

    private final ProxyContext context;
    private final LocalEndpoints local;
    private ProxyExchange answering;

    public Dispatch(ProxyContext context, LocalEndpoints local) {
        this.context = context;
        this.local = local;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof ProxyExchange x)) {
            ReferenceCountUtil.release(msg);
            return;
        }
        answering = x;
        try {
            answer(ctx, x);
        } catch (RuntimeException | Error e) {
            LOG.error("internal error serving {} {}", x.method, OneLine.escape(x.rawPath), e);
            if (!x.ended()) {
                send(ctx, x, Responses.closing(Responses.error(500, "server_error", "internal_error",
                        "Internal error in the router", -1)));
            } else {
                ctx.close();
            }
        }
    }

    private void answer(ChannelHandlerContext ctx, ProxyExchange x) {
        if (x.refusal != null) {
            send(ctx, x, x.refusal.response());
            return;
        }
        Routes.Route route = x.route;
        if (route == null || !route.known()) {
            send(ctx, x, Responses.error(404, "invalid_request_error", "not_found",
                    "Unknown path: " + x.method + " " + x.rawPath + " (see GET / for the endpoints)", -1));
        } else if (!x.methodAllowed) {
            FullHttpResponse r = Responses.error(405, "invalid_request_error", "method_not_allowed",
                    "Method " + x.method + " not allowed on " + x.rawPath + " (allowed: " + route.methods() + ")", -1);
            r.headers().set(HttpHeaderNames.ALLOW, route.methods());
            send(ctx, x, r);
        } else if (route.local() != null) {
            send(ctx, x, local.answer(route.local(), x));
        } else {
            ForwardHandler.forward(ctx, context, x);
        }
    }

    /**
     * The answer to a HEAD, whatever it is (a local endpoint's, a refusal, an error): its status and
     * headers, its {@code Content-Length} included, without the body (HTTP/1.1's encoder would drop
     * it, HTTP/2's would send it as DATA, which an HTTP/2 client takes as a protocol error).
     */
    private static FullHttpResponse headersOnly(FullHttpResponse r) {
        FullHttpResponse head = r.replace(Unpooled.EMPTY_BUFFER);
        r.release();
        return head;
    }

    /** Sends a whole answer; the exchange counts as ended before the write, so a drain sees it at once. */
    static void send(ChannelHandlerContext ctx, ProxyExchange x, FullHttpResponse response) {
        x.end();
        ctx.writeAndFlush(x.method.equals("HEAD") ? headersOnly(response) : response);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        ProxyExchange x = answering;
        answering = null;
        if (x != null && !x.ended()) {
            x.abort();
        }
        ctx.fireChannelInactive();
    }
}
