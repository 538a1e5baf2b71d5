package io.vllmrouter.examples.server.exchange;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.ProxyContext;

/**
 * The first step of an exchange: turns a request's head into a {@link ProxyExchange} and refuses
 * what no later step should see — a head the decoder could not read (400, 414, 431; the connection
 * closes), too many header fields (431), a path that could address something other than it
 * appears to ({@link PathGuard}, 400), and anything once the proxy is stopping (503). Body parts pass
 * on untouched. One per connection (HTTP/1.1) or stream (HTTP/2); runs on its event loop.
 */
public final class RequestHead extends ChannelInboundHandlerAdapter {

    private final ProxyContext context;

    public RequestHead(ProxyContext context) {
        this.context = context;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!(msg instanceof HttpRequest req)) {
            ctx.fireChannelRead(msg);
            return;
        }
        ctx.fireChannelRead(exchange(req));
        if (req instanceof FullHttpRequest full) {
            // A whole request (the one an h2c upgrade held): its body goes on as the last part, and
            // with it the ownership of its buffer.
            ctx.fireChannelRead(new DefaultLastHttpContent(full.content(), full.trailingHeaders()));
        }
    }

    private ProxyExchange exchange(HttpRequest req) {
        String uri = req.uri();
        if (uri.startsWith("http://") || uri.startsWith("https://")) { // absolute form
            int slash = uri.indexOf('/', uri.indexOf("//") + 2);
            uri = slash < 0 ? "/" : uri.substring(slash);
        }
        int q = uri.indexOf('?');
        String raw = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? null : uri.substring(q + 1);
        FrontDoorConfig access = context.access();
        if (req.decoderResult().isFailure()) {
            // The decoder drops whatever follows: answer, then close gently.
            ProxyExchange x = new ProxyExchange(context, req, raw, null, query);
            Throwable cause = req.decoderResult().cause();
            if (cause instanceof TooLongHttpHeaderException) {
                x.refuse(new ProxyExchange.Refusal(431, "invalid_request_error", "request_header_fields_too_large",
                        "Request headers larger than max_header_bytes (" + access.maxHeaderBytes() + " bytes)").closing());
            } else if (cause instanceof TooLongHttpLineException) {
                x.refuse(new ProxyExchange.Refusal(414, "invalid_request_error", "uri_too_long",
                        "Request line too long").closing());
            } else {
                x.refuse(new ProxyExchange.Refusal(400, "invalid_request_error", "invalid_request",
                        "Malformed HTTP request").closing());
            }
            x.complete = true; // nothing more of it will be read
            return x;
        }
        String refused = PathGuard.check(raw);
        if (refused == null) {
            refused = PathGuard.checkQuery(query);
        }
        ProxyExchange x = new ProxyExchange(context, req, raw, refused == null ? PathGuard.decoded(raw) : null, query);
        if (req.headers().size() > access.maxHeaderCount()) {
            x.refuse(new ProxyExchange.Refusal(431, "invalid_request_error", "request_header_fields_too_large",
                    "More than max_header_count (" + access.maxHeaderCount() + ") header fields").closing());
        } else if (context.stopping()) {
            x.refuse(new ProxyExchange.Refusal(503, "server_error", "shutting_down", "The router is shutting down",
                    1, null, false, true));
        } else if (refused != null) {
            x.refuse(new ProxyExchange.Refusal(400, "invalid_request_error", "invalid_path", "Refused path: " + refused));
        }
        return x;
    }
}
