package io.vllmrouter.examples.server;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.core.RouterJson;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/**
 * One client connection of the {@link ProxyServer}: reads HTTP/1.1 requests, answers the local
 * endpoints, forwards the rest through the router and relays the answer. Everything here runs on the
 * connection's event loop; callbacks from elsewhere (the router, the transport) hop onto it.
 *
 * <p>One request at a time per connection: a pipelined request waits (buffered, reads paused when
 * many pile up) until the one before it is answered.
 */
final class ProxyHandler extends ChannelInboundHandlerAdapter {

    private static final Logger LOG = LoggerFactory.getLogger(ProxyHandler.class);

    /** Headers not passed upstream: hop-by-hop ones and those the HTTP client sets itself. */
    private static final Set<String> REQUEST_SKIP = caseInsensitive(
            "host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer",
            "upgrade", "expect", "proxy-connection", "proxy-authorization", "proxy-authenticate");

    /** Headers not passed back to the client: hop-by-hop ones and those this server sets. */
    private static final Set<String> RESPONSE_SKIP = caseInsensitive(
            "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
            "date", "server", "proxy-connection");

    /** Bytes of a refused (413) body read and dropped before the connection is closed anyway. */
    private static final long DISCARD_LIMIT = 16L * 1024 * 1024;
    private static final int PIPELINE_PAUSE = 16;

    private final ProxyServer server;
    private ChannelHandlerContext ctx;
    private Call call;
    private final ArrayDeque<Object> pipelined = new ArrayDeque<>();

    ProxyHandler(ProxyServer server) {
        this.server = server;
    }

    private static Set<String> caseInsensitive(String... names) {
        Set<String> s = new TreeSet<>(String.CASE_INSENSITIVE_ORDER);
        s.addAll(Arrays.asList(names));
        return s;
    }

    /** What to do once the request's body has been read. */
    private enum Kind { LOCAL, FORWARD, DISCARD }

    /** One request and its answer. */
    private static final class Call {
        final HttpRequest request;
        final String method;
        final String path;
        final String query;
        boolean keepAlive;
        Kind kind = Kind.LOCAL;
        /** Runs when the body has been read, for LOCAL calls. */
        Runnable answer;
        long limit;
        byte[] body;
        int length;
        long discarded;
        boolean requestDone;
        boolean ended;
        CompletableFuture<RouterResponse> routing;
        Relay relay;

        Call(HttpRequest request, String method, String path, String query) {
            this.request = request;
            this.method = method;
            this.path = path;
            this.query = query;
        }
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (!pipelined.isEmpty() || (msg instanceof HttpRequest && call != null)) {
            pipelined.add(msg);
            if (pipelined.size() > PIPELINE_PAUSE) {
                ctx.channel().config().setAutoRead(false);
            }
            return;
        }
        handle(msg);
    }

    private void handle(Object msg) {
        try {
            if (msg instanceof HttpRequest req) {
                begin(req);
            }
            if (msg instanceof HttpContent content) {
                Call c = call;
                if (c != null && !c.requestDone) {
                    content(c, content);
                }
            }
        } catch (RuntimeException | Error e) {
            LOG.error("internal error serving {}", call == null ? "a request" : call.method + " " + call.path, e);
            Call c = call;
            if (c != null && c.relay == null && c.routing == null) {
                sendError(c, 500, "server_error", "internal_error", "Internal error in the router", -1, false);
            } else {
                ctx.close();
            }
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    // ---- requests -----------------------------------------------------------------------------

    private void begin(HttpRequest req) {
        String uri = req.uri();
        if (uri.startsWith("http://") || uri.startsWith("https://")) { // absolute form
            int slash = uri.indexOf('/', uri.indexOf("//") + 2);
            uri = slash < 0 ? "/" : uri.substring(slash);
        }
        int q = uri.indexOf('?');
        String path = q < 0 ? uri : uri.substring(0, q);
        String query = q < 0 ? null : uri.substring(q + 1);
        String method = req.method().name().toUpperCase(Locale.ROOT);
        Call c = new Call(req, method, path, query);
        call = c;
        server.exchangeStarted();
        c.keepAlive = HttpUtil.isKeepAlive(req);
        if (req.decoderResult().isFailure()) {
            c.kind = Kind.DISCARD;
            sendError(c, 400, "invalid_request_error", "invalid_request", "Malformed HTTP request", -1, false);
            return;
        }
        if (server.isStopping()) {
            c.keepAlive = false;
            deferError(c, 503, "server_error", "shutting_down", "The router is shutting down", 1);
            return;
        }
        String refused = PathGuard.check(path);
        if (refused != null) {
            deferError(c, 400, "invalid_request_error", "invalid_path", "Refused path: " + refused, -1);
            return;
        }
        switch (path) {
            case "/":
                if (allow(c, "GET")) {
                    c.answer = () -> sendJson(c, 200, server.info());
                }
                return;
            case "/health":
                if (allow(c, "GET")) {
                    c.answer = () -> {
                        ObjectNode h = server.health();
                        sendJson(c, h.get("healthy_servers").asInt() > 0 ? 200 : 503, h);
                    };
                }
                return;
            case "/load-stats":
                if (allow(c, "GET")) {
                    c.answer = () -> {
                        try {
                            send(c, 200, "application/json", RouterJson.mapper().writeValueAsBytes(server.router().stats()), -1, null);
                        } catch (JsonProcessingException e) {
                            throw new IllegalStateException(e);
                        }
                    };
                }
                return;
            case "/metrics":
                if (allow(c, "GET")) {
                    c.answer = () -> send(c, 200, "text/plain; version=0.0.4; charset=utf-8", server.metricsText(), -1, null);
                }
                return;
            case "/v1/models":
                if (allow(c, "GET")) {
                    c.answer = () -> sendJson(c, 200, server.models());
                }
                return;
            case DashboardPage.PATH:
                if (allow(c, "GET")) {
                    c.answer = () -> dashboard(c);
                }
                return;
            default:
                break;
        }
        if (path.startsWith("/v1/models/") && method.equals("GET")) {
            String rawId = path.substring("/v1/models/".length());
            c.answer = () -> {
                ObjectNode m = server.model(rawId);
                if (m != null) {
                    sendJson(c, 200, m);
                } else {
                    sendError(c, 404, "invalid_request_error", "model_not_found",
                            "The model '" + ProxyServer.decodeId(rawId) + "' does not exist on any healthy backend", -1,
                            c.keepAlive);
                }
            };
        } else if (path.startsWith("/v1/")) {
            if (allow(c, "GET, POST")) {
                startForward(c);
            }
        } else if (ProxyServer.EXTRA_FORWARDED.contains(path)) {
            if (allow(c, "POST")) {
                startForward(c);
            }
        } else {
            deferError(c, 404, "invalid_request_error", "not_found",
                    "Unknown path: " + method + " " + path + " (see GET / for the endpoints)", -1);
        }
    }

    /** Answers 405 (once the body is read) and returns false unless the method is one of {@code allowed}. */
    private boolean allow(Call c, String allowed) {
        String method = c.method;
        // Compared in place: this runs on every forwarded request, so no split (a regex) per call.
        for (int i = 0; i < allowed.length(); ) {
            int end = allowed.indexOf(',', i);
            if (end < 0) {
                end = allowed.length();
            }
            if (allowed.regionMatches(i, method, 0, method.length()) && end - i == method.length()) {
                return true;
            }
            i = end + 1;
            while (i < allowed.length() && allowed.charAt(i) == ' ') {
                i++;
            }
        }
        c.answer = () -> {
            byte[] json = errorJson("invalid_request_error", "method_not_allowed",
                    "Method " + method + " not allowed on " + c.path + " (allowed: " + allowed + ")");
            send(c, 405, "application/json", json, -1, allowed);
        };
        return false;
    }

    private void deferError(Call c, int status, String type, String code, String message, int retryAfter) {
        c.answer = () -> sendError(c, status, type, code, message, retryAfter, c.keepAlive);
    }

    private void startForward(Call c) {
        c.kind = Kind.FORWARD;
        c.limit = server.maxBodyBytes();
        long declared = -1;
        String cl = c.request.headers().get(HttpHeaderNames.CONTENT_LENGTH);
        if (cl != null) {
            try {
                declared = Long.parseLong(cl.trim());
            } catch (NumberFormatException e) {
                c.kind = Kind.LOCAL;
                c.keepAlive = false;
                deferError(c, 400, "invalid_request_error", "invalid_request", "Bad Content-Length: " + cl, -1);
                return;
            }
            if (declared > c.limit) {
                tooLarge(c);
                return;
            }
        }
        if (HttpUtil.is100ContinueExpected(c.request)) {
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE));
        }
        c.body = new byte[(int) Math.max(0, Math.min(declared >= 0 ? declared : 1024, c.limit))];
    }

    private void tooLarge(Call c) {
        c.kind = Kind.DISCARD;
        c.body = null;
        // The rest of the body is read and dropped (up to DISCARD_LIMIT) so the client gets to read
        // the answer before the connection closes.
        sendError(c, 413, "invalid_request_error", "request_too_large",
                "Request body larger than max_body_bytes (" + c.limit + " bytes)", -1, false);
    }

    private void content(Call c, HttpContent content) {
        if (content.decoderResult().isFailure() && c.kind != Kind.DISCARD) {
            c.kind = Kind.DISCARD;
            c.requestDone = true;
            sendError(c, 400, "invalid_request_error", "invalid_request", "Malformed HTTP request body", -1, false);
            ctx.close();
            return;
        }
        ByteBuf data = content.content();
        int n = data.readableBytes();
        if (c.kind == Kind.FORWARD && n > 0) {
            if (c.length + (long) n > c.limit) {
                tooLarge(c);
            } else {
                if (c.length + n > c.body.length) {
                    c.body = Arrays.copyOf(c.body, (int) Math.min(c.limit, Math.max(c.length + (long) n, c.body.length * 2L)));
                }
                data.readBytes(c.body, c.length, n);
                c.length += n;
            }
        } else if (c.kind == Kind.DISCARD) {
            c.discarded += n;
            if (c.discarded > DISCARD_LIMIT) {
                ctx.close();
                return;
            }
        }
        if (!(content instanceof LastHttpContent)) {
            return;
        }
        c.requestDone = true;
        switch (c.kind) {
            case LOCAL -> c.answer.run();
            case FORWARD -> forward(c);
            case DISCARD -> {
                if (c.ended) {
                    ctx.close();
                }
            }
        }
    }

    private void forward(Call c) {
        byte[] body = c.length == c.body.length ? c.body : Arrays.copyOf(c.body, c.length);
        c.body = null;
        RouterRequest.Builder rb = RouterRequest.builder(c.method, c.query == null ? c.path : c.path + "?" + c.query)
                .body(body);
        for (Map.Entry<String, String> h : c.request.headers()) {
            if (!REQUEST_SKIP.contains(h.getKey())) {
                rb.header(h.getKey(), h.getValue());
            }
        }
        String requestId = c.request.headers().get("X-Request-Id");
        if (requestId != null && !requestId.isBlank() && requestId.length() <= 200) {
            rb.requestId(requestId);
        }
        CompletableFuture<RouterResponse> f = server.router().routeAsync(rb.build());
        c.routing = f;
        f.whenComplete((r, err) -> {
            if (ctx.executor().inEventLoop()) {
                routed(c, r, err);
            } else {
                ctx.executor().execute(() -> routed(c, r, err));
            }
        });
    }

    // ---- responses ----------------------------------------------------------------------------

    private void routed(Call c, RouterResponse r, Throwable err) {
        if (c.ended || call != c) {
            if (r != null) {
                r.close();
            }
            return;
        }
        if (err != null) {
            Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null
                    ? err.getCause() : err;
            if (cause instanceof java.util.concurrent.CancellationException) {
                return; // the client went away first
            }
            if (cause instanceof RouterException e) {
                LOG.debug("request refused: {} {}", e.httpStatus(), e.getMessage());
                sendError(c, e.httpStatus(), e.errorType(), e.errorCode(), e.getMessage(), e.retryAfterSeconds(), c.keepAlive);
            } else {
                LOG.error("internal error forwarding {} {}", c.method, c.path, cause);
                sendError(c, 500, "server_error", "internal_error", "Internal error in the router", -1, c.keepAlive);
            }
            return;
        }
        int status = r.status();
        // Validated although a transport's decoder saw them already: a transport of the embedder's
        // own might not, and a header must never split the response.
        HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status));
        HttpHeaders out = head.headers();
        for (Map.Entry<String, List<String>> h : r.headers().entrySet()) {
            if (!RESPONSE_SKIP.contains(h.getKey())) {
                try {
                    out.add(h.getKey(), h.getValue());
                } catch (IllegalArgumentException invalid) {
                    LOG.debug("response header {} not passed on: {}", h.getKey(), invalid.getMessage());
                }
            }
        }
        if (r.requestId() != null) {
            out.set("X-Request-Id", r.requestId());
        }
        keepAliveHeader(c, out);
        boolean sse = r.isEventStream();
        if (status == 204 || status == 304 || status < 200 || c.method.equals("HEAD")) {
            r.close();
            FullHttpResponse full = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, head.status(), Unpooled.EMPTY_BUFFER);
            full.headers().set(out);
            finishWith(c, full, c.keepAlive);
            return;
        }
        long length = -1;
        if (!sse) {
            String declared = r.header("content-length");
            if (declared != null) {
                try {
                    length = Long.parseLong(declared.trim());
                } catch (NumberFormatException ignored) {
                    length = -1;
                }
            }
        }
        if (length >= 0) {
            HttpUtil.setContentLength(head, length);
        } else {
            HttpUtil.setTransferEncodingChunked(head, true);
        }
        ctx.write(head);
        if (sse) {
            ctx.flush(); // the client sees the stream open before the first event
        }
        Relay relay = new Relay(c, r, sse);
        c.relay = relay;
        r.bodyPublisher().subscribe(relay);
    }

    private static void keepAliveHeader(Call c, HttpHeaders out) {
        if (!c.keepAlive) {
            out.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (c.request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            out.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
    }

    /** The web dashboard: one static page, served from memory without a copy. */
    private void dashboard(Call c) {
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                Unpooled.wrappedBuffer(DashboardPage.buffer()));
        DashboardPage.HEADERS.forEach(resp.headers()::set);
        resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, DashboardPage.length());
        keepAliveHeader(c, resp.headers());
        finishWith(c, resp, c.keepAlive);
    }

    private void sendJson(Call c, int status, ObjectNode json) {
        try {
            send(c, status, "application/json", ProxyServer.JSON.writeValueAsBytes(json), -1, null);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static byte[] errorJson(String type, String code, String message) {
        ObjectNode root = ProxyServer.JSON.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.putNull("param");
        error.put("code", code);
        try {
            return ProxyServer.JSON.writeValueAsBytes(root);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Writes OpenAI's error shape {@code {"error":{"message","type","param","code"}}}. */
    private void sendError(Call c, int status, String type, String code, String message, int retryAfterSeconds,
                           boolean keepAlive) {
        c.keepAlive = keepAlive;
        send(c, status, "application/json", errorJson(type, code, message), retryAfterSeconds, null);
    }

    private void send(Call c, int status, String contentType, byte[] body, int retryAfterSeconds, String allow) {
        FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(body));
        HttpHeaders h = resp.headers();
        h.set(HttpHeaderNames.CONTENT_TYPE, contentType);
        h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        if (retryAfterSeconds >= 0) {
            h.setInt(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        if (allow != null) {
            h.set(HttpHeaderNames.ALLOW, allow);
        }
        keepAliveHeader(c, h);
        finishWith(c, resp, c.keepAlive);
    }

    /**
     * Writes the call's last message and ends the call; the connection closes unless kept alive.
     * The call counts as ended before the write, so a drain sees it ended as soon as the client can.
     */
    private void finishWith(Call c, Object last, boolean keepAlive) {
        boolean discarding = c.kind == Kind.DISCARD && !c.requestDone;
        markEnded(c);
        io.netty.channel.ChannelFuture write = ctx.writeAndFlush(last);
        if (!keepAlive && !discarding) {
            write.addListener(ChannelFutureListener.CLOSE);
        }
        advance(c, keepAlive);
    }

    private void markEnded(Call c) {
        if (!c.ended) {
            c.ended = true;
            server.exchangeEnded();
        }
    }

    /** The call is over (answered or aborted): the next pipelined request may start. */
    private void end(Call c, boolean keepAlive) {
        markEnded(c);
        advance(c, keepAlive);
    }

    private void advance(Call c, boolean keepAlive) {
        if (call != c) {
            return;
        }
        if (c.kind == Kind.DISCARD && !c.requestDone) {
            return; // the refused body is still arriving; the connection closes at its end
        }
        call = null;
        if (!keepAlive) {
            pipelined.forEach(ReferenceCountUtil::release);
            pipelined.clear();
            return;
        }
        while (call == null && !pipelined.isEmpty()) {
            handle(pipelined.poll());
        }
        while (call != null && !call.requestDone && !pipelined.isEmpty() && !(pipelined.peek() instanceof HttpRequest)) {
            handle(pipelined.poll());
        }
        if (pipelined.size() <= PIPELINE_PAUSE && !ctx.channel().config().isAutoRead()) {
            ctx.channel().config().setAutoRead(true);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        Call c = call;
        if (c != null) {
            end(c, false);
            CompletableFuture<RouterResponse> f = c.routing;
            if (f != null && !f.isDone()) {
                f.cancel(true); // the router cancels the upstream request
            }
            Relay r = c.relay;
            if (r != null) {
                r.clientGone();
            }
        }
        pipelined.forEach(ReferenceCountUtil::release);
        pipelined.clear();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof IOException) {
            LOG.debug("client connection failed: {}", cause.toString());
        } else {
            LOG.warn("client connection failed", cause);
        }
        ctx.close();
    }

    // ---- relaying a body ----------------------------------------------------------------------

    /**
     * Writes a backend's body to the client as the router passes it on. One chunk at a time: the
     * next is asked for when the previous one has been written to the socket, which is also when
     * its buffers (possibly the transport's pooled memory, wrapped here without a copy) are handed
     * back.
     */
    private final class Relay implements Flow.Subscriber<List<ByteBuffer>> {
        private final Call c;
        private final RouterResponse response;
        private final boolean sse;
        private volatile Flow.Subscription subscription;
        private boolean done;
        private boolean flushPending;
        private long held;

        Relay(Call c, RouterResponse response, boolean sse) {
            this.c = c;
            this.response = response;
            this.sse = sse;
        }

        private void onLoop(Runnable r) {
            if (ctx.executor().inEventLoop()) {
                r.run();
            } else {
                ctx.executor().execute(r);
            }
        }

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public void onNext(List<ByteBuffer> item) {
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

        private void write(List<ByteBuffer> item) {
            if (done) {
                return;
            }
            int last = -1;
            long n = 0;
            for (int i = 0; i < item.size(); i++) {
                if (item.get(i).hasRemaining()) {
                    last = i;
                    n += item.get(i).remaining();
                }
            }
            if (last < 0) {
                subscription.request(1);
                return;
            }
            held = n;
            server.buffered(n);
            for (int i = 0; i < last; i++) {
                ByteBuffer b = item.get(i);
                if (b.hasRemaining()) {
                    ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(b)), ctx.voidPromise());
                }
            }
            ctx.write(new DefaultHttpContent(Unpooled.wrappedBuffer(item.get(last)))).addListener(f -> {
                server.buffered(-held);
                held = 0;
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

        /**
         * Flushes once the current event-loop task is done, so a chunk and the end that follows it
         * at once (a whole answer in one upstream read) leave in one write.
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
            boolean keepAlive = c.keepAlive;
            markEnded(c);
            ctx.write(LastHttpContent.EMPTY_LAST_CONTENT).addListener(f -> {
                response.close(); // hands the last buffers back to the transport
                if (!f.isSuccess() || !keepAlive) {
                    ctx.close();
                }
            });
            flushSoon();
            advance(c, keepAlive);
        }

        /**
         * The body was cut short: never end it like a complete one. An event stream gets an error
         * event, then the connection is aborted without the chunked terminator; any other body is
         * aborted as it is.
         */
        private void truncated(Throwable t) {
            if (done) {
                return;
            }
            done = true;
            String reason = t.getMessage() == null ? "the backend failed" : t.getMessage();
            LOG.debug("upstream body of request {} from {} failed: {}", response.requestId(), response.backendId(), reason);
            response.close();
            markEnded(c);
            if (sse) {
                ObjectNode root = ProxyServer.JSON.createObjectNode();
                ObjectNode error = root.putObject("error");
                error.put("message", "The answer was cut short: " + reason);
                error.put("type", "upstream_error");
                error.put("code", 502);
                byte[] event = ("data: " + root + "\n\n").getBytes(StandardCharsets.UTF_8);
                ctx.writeAndFlush(new DefaultHttpContent(Unpooled.wrappedBuffer(event)))
                        .addListener(ChannelFutureListener.CLOSE);
            } else {
                ctx.close();
            }
            end(c, false);
        }

        /** The client's connection closed: cancel the upstream request. */
        void clientGone() {
            if (done) {
                return;
            }
            done = true;
            Flow.Subscription s = subscription;
            if (s != null) {
                s.cancel();
            }
            response.close();
        }
    }
}
