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

    /** Paths that show the fleet: open without a key unless {@code protect_stats}. */
    private static final Set<String> STATS_PATHS = Set.of("/", "/load-stats", "/metrics", DashboardPage.PATH,
            DashboardPage.DATA_PATH);

    /** Initial size of a body buffer when Content-Length is larger: memory follows the bytes received. */
    private static final int INITIAL_BODY_BUFFER = 64 * 1024;

    private final ProxyServer server;
    private ChannelHandlerContext ctx;
    private Call call;
    private final ArrayDeque<Object> pipelined = new ArrayDeque<>();

    /** What the connection waits for now, bounded by a read timeout ({@code client_*_timeout}). */
    private enum Wait { NOTHING, FIRST_REQUEST, IDLE, HEADERS, BODY }

    private Wait waiting = Wait.NOTHING;
    /** When the current wait ends ({@link System#nanoTime()}), and its length for the message. */
    private long deadlineNanos;
    private java.time.Duration waitLength;
    /** The pending check of the deadline, or null; and when it runs. */
    private io.netty.util.concurrent.ScheduledFuture<?> timer;
    private long timerAt;
    /** Bytes of the next request arrived (set before the codec sees them). */
    private boolean sawBytes;

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
        /** The Content-Length, or -1 (chunked). */
        long declared = -1;
        byte[] body;
        int length;
        long discarded;
        boolean requestDone;
        boolean ended;
        /** Body memory reserved from max_buffered_body_bytes, released when the call ends. */
        long reserved;
        /** The client key's digest when authenticated; its concurrency slot is held while limited. */
        String keyId;
        boolean holdsKeySlot;
        String wwwAuthenticate;
        /** Close with {@link #lingerClose()} after the answer. */
        boolean linger;
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
    public void handlerRemoved(ChannelHandlerContext ctx) {
        stopTimer(); // the connection turned to HTTP/2 (its streams have handlers of their own), or closed
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        arm(Wait.FIRST_REQUEST);
        ctx.fireChannelActive();
    }

    /** Sits before the HTTP codec and tells this handler that request bytes arrived. */
    io.netty.channel.ChannelHandler byteWatch() {
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

    // ---- read timeouts ------------------------------------------------------------------------

    /** Waits for {@code what}, closing the connection when it takes longer than its timeout. */
    /**
     * Starts waiting for {@code what}. The connection keeps at most one timer, and it is not moved
     * for every wait: a keep-alive request goes through four (headers, body, idle, headers) and
     * setting and cancelling a timer for each was a measurable share of the event loop. A check
     * runs when the timer fires: a wait that is over is timed out, one that was extended is
     * checked again at its end, and with nothing awaited the timer lapses.
     */
    private void arm(Wait what) {
        io.vllmrouter.core.config.AccessConfig a = server.access();
        java.time.Duration d = switch (what) {
            case FIRST_REQUEST, HEADERS -> a.clientHeaderTimeout();
            case BODY -> a.clientBodyTimeout();
            case IDLE -> a.clientIdleTimeout();
            case NOTHING -> null;
        };
        waiting = d == null ? Wait.NOTHING : what;
        if (d == null) {
            return;
        }
        long now = System.nanoTime();
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
        timerAt = now + delayNanos;
        timer = ctx.executor().schedule(this::checkDeadline, delayNanos, java.util.concurrent.TimeUnit.NANOSECONDS);
    }

    private void checkDeadline() {
        timer = null;
        if (waiting == Wait.NOTHING || !ctx.channel().isActive()) {
            return;
        }
        long now = System.nanoTime();
        long left = deadlineNanos - now;
        if (left > 0) {
            checkAt(now, left);
        } else {
            timedOut(waiting, waitLength);
        }
    }

    /** Nothing is awaited now; the pending check, if any, finds that and lapses. */
    private void disarm() {
        waiting = Wait.NOTHING;
    }

    /** The connection is gone: its pending check goes too. */
    private void stopTimer() {
        waiting = Wait.NOTHING;
        if (timer != null) {
            timer.cancel(false);
            timer = null;
        }
    }

    private void timedOut(Wait what, java.time.Duration d) {
        if (waiting != what || !ctx.channel().isActive()) {
            return;
        }
        timer = null;
        waiting = Wait.NOTHING;
        String secs = d.toMillis() % 1000 == 0 ? String.valueOf(d.toSeconds()) : String.valueOf(d.toMillis() / 1000.0);
        switch (what) {
            case IDLE -> ctx.close();
            case FIRST_REQUEST, HEADERS -> {
                if (!sawBytes && what == Wait.FIRST_REQUEST) {
                    ctx.close(); // nothing was asked: nothing to answer
                    return;
                }
                LOG.debug("request headers not received within {} s from {}; closing", secs, ctx.channel().remoteAddress());
                byte[] json = errorJson("invalid_request_error", "request_timeout",
                        "Request headers not received within client_header_timeout (" + secs + " s)");
                FullHttpResponse resp = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.REQUEST_TIMEOUT,
                        Unpooled.wrappedBuffer(json));
                resp.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
                resp.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, json.length);
                resp.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
                ctx.writeAndFlush(resp).addListener(ChannelFutureListener.CLOSE);
            }
            case BODY -> {
                Call c = call;
                if (c == null || c.requestDone) {
                    return;
                }
                LOG.debug("request body of {} {} not received within {} s; closing, nothing forwarded", c.method,
                        LogText.escape(c.path), secs);
                c.kind = Kind.DISCARD;
                c.requestDone = true;
                releaseBody(c);
                if (!c.ended) {
                    sendError(c, 408, "invalid_request_error", "request_timeout",
                            "Request body not received within client_body_timeout (" + secs + " s)", -1, false);
                }
                ctx.close();
            }
            default -> {
            }
        }
    }

    /**
     * Closes after a refusal without resetting the connection: the answer is flushed, our side shut
     * down, and what the client still sends is read and dropped for a moment, so it gets to read the
     * answer (closing with unread input would reset the connection and could lose it).
     */
    private void lingerClose() {
        if (ctx.channel() instanceof io.netty.channel.socket.DuplexChannel d && ctx.pipeline().get("tls") == null) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
                if (f.isSuccess()) {
                    d.shutdownOutput();
                }
            });
            ctx.executor().schedule(() -> ctx.close(), 2, java.util.concurrent.TimeUnit.SECONDS);
        } else {
            ctx.close();
        }
    }

    private void releaseBody(Call c) {
        c.body = null;
        if (c.reserved > 0) {
            server.releaseBody(c.reserved);
            c.reserved = 0;
        }
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
            LOG.error("internal error serving {}", call == null ? "a request" : call.method + " " + LogText.escape(call.path), e);
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
        sawBytes = false;
        io.vllmrouter.core.config.AccessConfig access = server.access();
        if (HttpUtil.isTransferEncodingChunked(req) || req.headers().contains(HttpHeaderNames.CONTENT_LENGTH)) {
            arm(Wait.BODY);
        } else {
            disarm();
        }
        if (req.decoderResult().isFailure()) {
            // The decoder drops whatever follows: the request is over; answer, then close gently.
            c.kind = Kind.DISCARD;
            c.requestDone = true;
            c.linger = true;
            disarm();
            Throwable cause = req.decoderResult().cause();
            if (cause instanceof io.netty.handler.codec.http.TooLongHttpHeaderException) {
                sendError(c, 431, "invalid_request_error", "request_header_fields_too_large",
                        "Request headers larger than max_header_bytes (" + access.maxHeaderBytes() + " bytes)", -1, false);
            } else if (cause instanceof io.netty.handler.codec.http.TooLongHttpLineException) {
                sendError(c, 414, "invalid_request_error", "uri_too_long", "Request line too long", -1, false);
            } else {
                sendError(c, 400, "invalid_request_error", "invalid_request", "Malformed HTTP request", -1, false);
            }
            return;
        }
        if (req.headers().size() > access.maxHeaderCount()) {
            c.kind = Kind.DISCARD;
            sendError(c, 431, "invalid_request_error", "request_header_fields_too_large",
                    "More than max_header_count (" + access.maxHeaderCount() + ") header fields", -1, false);
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
        if (access.authEnabled() && !path.equals("/health") && (access.protectStats() || !STATS_PATHS.contains(path))) {
            c.keyId = access.match(bearer(req.headers().get(HttpHeaderNames.AUTHORIZATION)));
            if (c.keyId == null) {
                c.wwwAuthenticate = "Bearer";
                deferError(c, 401, "invalid_request_error", "invalid_api_key",
                        "Missing or invalid API key: send it as \"Authorization: Bearer <key>\"", -1);
                return;
            }
        }
        if (ProxyServer.ADMIN_PATHS.contains(path)) {
            if (!access.allowAdminPaths()) {
                deferError(c, 403, "invalid_request_error", "admin_path_forbidden",
                        "Backend administration path " + path + " is not forwarded (allow_admin_paths = false)", -1);
            } else if (allow(c, path.startsWith("/v1/") ? "GET, POST" : "POST")) {
                startForward(c);
            }
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
                        HealthReport h = server.health();
                        sendJson(c, h.httpStatus(), h.json());
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
            case DashboardPage.DATA_PATH:
                if (allow(c, "GET")) {
                    c.answer = () -> sendJson(c, 200, server.dashboardData());
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

    /** The key of an {@code Authorization: Bearer <key>} header, or null. */
    private static String bearer(String authorization) {
        if (authorization == null || authorization.length() < 7
                || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return null;
        }
        String key = authorization.substring(7).strip();
        return key.isEmpty() ? null : key;
    }

    private void startForward(Call c) {
        if (c.keyId != null) {
            io.vllmrouter.core.config.AccessConfig a = server.access();
            int wait = server.keyLimits().acquire(c.keyId, a.requestsPerMinute(), a.maxConcurrent());
            if (wait > 0) {
                deferError(c, 429, "rate_limit_error", "rate_limit_exceeded", "Too many requests for this API key ("
                        + (a.maxConcurrent() > 0 ? "max_concurrent " + a.maxConcurrent() + ", " : "")
                        + "requests_per_minute " + (a.requestsPerMinute() > 0 ? a.requestsPerMinute() : "unlimited")
                        + "); retry after " + wait + " s", wait);
                return;
            }
            c.holdsKeySlot = a.maxConcurrent() > 0;
        }
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
        c.declared = declared;
        int initial = (int) Math.max(0, Math.min(declared >= 0 ? Math.min(declared, INITIAL_BODY_BUFFER) : 1024, c.limit));
        if (!server.reserveBody(initial)) {
            overloaded(c);
            return;
        }
        c.reserved = initial;
        c.body = new byte[initial];
    }

    /** max_buffered_body_bytes reached: 503, the body read and dropped, the connection closed. */
    private void overloaded(Call c) {
        releaseBody(c);
        c.kind = Kind.DISCARD;
        sendError(c, 503, "server_error", "server_overloaded",
                "The router holds too many request bodies now (max_buffered_body_bytes); retry shortly", 1, false);
    }

    private void tooLarge(Call c) {
        c.kind = Kind.DISCARD;
        releaseBody(c);
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
                    // Doubling, but never past the declared length: a body that fits needs no trimming copy.
                    long cap = c.declared >= 0 ? Math.min(c.limit, c.declared) : c.limit;
                    int size = (int) Math.min(cap, Math.max(c.length + (long) n, c.body.length * 2L));
                    if (!server.reserveBody(size - c.body.length)) {
                        overloaded(c);
                        return;
                    }
                    c.reserved += size - c.body.length;
                    c.body = Arrays.copyOf(c.body, size);
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
        if (waiting == Wait.BODY) {
            disarm();
        }
        sawBytes = false;
        switch (c.kind) {
            case LOCAL -> c.answer.run();
            case FORWARD -> forward(c);
            case DISCARD -> {
                if (c.ended) {
                    lingerClose();
                }
            }
        }
    }

    private void forward(Call c) {
        byte[] body = c.length == c.body.length ? c.body : Arrays.copyOf(c.body, c.length);
        c.body = null;
        RouterRequest.Builder rb = RouterRequest.builder(c.method, c.query == null ? c.path : c.path + "?" + c.query)
                .body(body);
        boolean dropAuthorization = c.keyId != null || server.access().authEnabled();
        for (Map.Entry<String, String> h : c.request.headers()) {
            if (!REQUEST_SKIP.contains(h.getKey())
                    && !(dropAuthorization && h.getKey().equalsIgnoreCase("authorization"))) {
                rb.header(h.getKey(), h.getValue());
            }
        }
        String requestId = c.request.headers().get("X-Request-Id");
        // Kept only when printable: it appears in log lines.
        if (requestId != null && !requestId.isBlank() && requestId.length() <= 200 && LogText.escape(requestId) == requestId) {
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
                LOG.debug("request refused: {} {}", e.httpStatus(), LogText.escape(e.getMessage()));
                sendError(c, e.httpStatus(), e.errorType(), e.errorCode(), e.getMessage(), e.retryAfterSeconds(), c.keepAlive);
            } else {
                LOG.error("internal error forwarding {} {}", c.method, LogText.escape(c.path), cause);
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
        // The backend's length when it declared one (a body that then ends short is aborted, and the
        // client sees fewer bytes than announced); chunks otherwise.
        long length = sse ? -1 : r.contentLength();
        if (length >= 0) {
            HttpUtil.setContentLength(head, length);
        } else {
            HttpUtil.setTransferEncodingChunked(head, true);
        }
        ctx.write(head);
        Relay relay = new Relay(c, r, sse);
        c.relay = relay;
        r.bodyPublisher().subscribe(relay);
        if (sse) {
            // The client sees the stream open before the first event, but events the backend sent
            // with its headers (already read) leave in the same write.
            relay.flushSoon();
        }
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
        if (c.wwwAuthenticate != null && status == 401) {
            h.set(HttpHeaderNames.WWW_AUTHENTICATE, c.wwwAuthenticate);
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
            if (c.linger) {
                lingerClose();
            } else {
                write.addListener(ChannelFutureListener.CLOSE);
            }
        }
        advance(c, keepAlive);
    }

    private void markEnded(Call c) {
        if (!c.ended) {
            c.ended = true;
            releaseBody(c);
            if (c.holdsKeySlot) {
                c.holdsKeySlot = false;
                server.keyLimits().release(c.keyId);
            }
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
            disarm();
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
        if (call == null) {
            arm(sawBytes ? Wait.HEADERS : Wait.IDLE);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        stopTimer();
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
        if (cause instanceof IOException || cause instanceof io.netty.handler.codec.DecoderException) {
            // resets, and TLS failures (plain HTTP on the TLS port, a handshake the client gave up)
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
