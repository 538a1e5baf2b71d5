package io.vllmrouter.examples.server.exchange;

import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.vllmrouter.api.HeaderMap;
import io.vllmrouter.api.OneLine;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.examples.server.FlatHttpHeaders;
import io.vllmrouter.examples.server.ProxyContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * Forwards an exchange through the router and starts its answer: the router's error in OpenAI's
 * shape, or the backend's status and headers followed by its body ({@link BodyRelay}). Headers cross
 * as the router's policy says (it drops hop-by-hop ones both ways); the front door only keeps a
 * client's key to itself. Everything runs on the exchange's event loop; the router's callback hops
 * onto it.
 */
final class ForwardHandler {

    private static final Logger LOG = LoggerFactory.getLogger(ForwardHandler.class);
    /** The request id's header name, its hash computed once rather than per answer. */
    private static final AsciiString X_REQUEST_ID = AsciiString.cached("X-Request-Id");

    private ForwardHandler() {
    }

    static void forward(ChannelHandlerContext ctx, ProxyContext context, ProxyExchange x) {
        byte[] body = x.body;
        x.body = null; // the router holds it now; the reservation ends with the exchange
        RouterRequest.Builder rb = RouterRequest.builder(x.method, x.query == null ? x.rawPath : x.rawPath + "?" + x.query)
                .body(body == null ? new byte[0] : body);
        boolean keepKeyHere = context.access().authEnabled();
        for (Map.Entry<String, String> h : x.head.headers()) {
            if (!(keepKeyHere && h.getKey().equalsIgnoreCase("authorization"))) {
                rb.header(h.getKey(), h.getValue());
            }
        }
        CompletableFuture<RouterResponse> f = context.router().routeAsync(rb.build());
        x.onAbort = () -> f.cancel(true); // the router cancels the upstream request
        f.whenComplete((r, err) -> {
            if (ctx.executor().inEventLoop()) {
                routed(ctx, context, x, r, err);
            } else {
                ctx.executor().execute(() -> routed(ctx, context, x, r, err));
            }
        });
    }

    private static void routed(ChannelHandlerContext ctx, ProxyContext context, ProxyExchange x, RouterResponse r,
                               Throwable err) {
        if (x.ended()) {
            if (r != null) {
                r.close(); // the client left meanwhile
            }
            return;
        }
        if (err != null) {
            Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
            if (cause instanceof CancellationException) {
                return; // the client went away first
            }
            if (cause instanceof RouterException e) {
                LOG.debug("request refused: {} {}", e.httpStatus(), OneLine.escape(e.getMessage()));
                Dispatch.send(ctx, x, Responses.error(e.httpStatus(), e.errorType(), e.errorCode(), e.getMessage(),
                        e.retryAfterSeconds()));
            } else {
                LOG.error("internal error forwarding {} {}", x.method, OneLine.escape(x.rawPath), cause);
                Dispatch.send(ctx, x, Responses.error(500, "server_error", "internal_error",
                        "Internal error in the router", -1));
            }
            return;
        }
        int status = r.status();
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                FlatHttpHeaders.HEADERS);
        HttpHeaders out = head.headers();
        HeaderMap headers = HeaderMap.copyOf(r.headers()); // the core's own: not copied
        for (int i = 0; i < headers.size(); i++) {
            try {
                out.add(headers.nameAt(i), headers.valuesAt(i));
            } catch (IllegalArgumentException invalid) {
                // Validated although a transport's decoder saw them already: a transport of the
                // embedder's own might not, and a header must never split the response.
                LOG.debug("response header {} not passed on: {}", headers.nameAt(i), invalid.getMessage());
            }
        }
        if (r.requestId() != null) {
            out.set(X_REQUEST_ID, r.requestId());
        }
        if (status == 204 || status == 304 || status < 200) {
            r.close();
            FullHttpResponse full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, head.status(), Unpooled.EMPTY_BUFFER);
            full.headers().set(out);
            Dispatch.send(ctx, x, full);
            return;
        }
        boolean sse = r.isEventStream();
        // The backend's length when it declared one (a body that then ends short is aborted, and the
        // client sees fewer bytes than announced); chunks otherwise.
        long length = sse ? -1 : r.contentLength();
        if (length >= 0) {
            out.set(HttpHeaderNames.CONTENT_LENGTH, Long.toString(length)); // a String: no boxing and conversion
        } else {
            HttpUtil.setTransferEncodingChunked(head, true);
        }
        BodyRelay relay = new BodyRelay(ctx, context, x, r, sse);
        x.onAbort = relay::clientGone;
        relay.start(head);
    }
}
