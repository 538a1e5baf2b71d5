package io.vllmrouter.examples.server;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.ScheduledFuture;
import io.vllmrouter.core.transport.TransportException;
import io.vllmrouter.core.transport.UpstreamRequest;
import io.vllmrouter.core.transport.UpstreamResponse;

import java.net.URI;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

/**
 * One request on one pooled upstream connection, and its response: the future of the headers, then
 * the body as a demand-driven publisher. All state is touched on the pool's event loop only; calls
 * from other threads ({@code request}, {@code cancel}, a cancelled future) hop onto it.
 */
final class UpstreamCall implements UpstreamResponse, Flow.Publisher<List<ByteBuffer>>, Flow.Subscription {

    private final NettyTransport.LoopPool pool;
    private final UpstreamRequest request;
    private final CompletableFuture<UpstreamResponse> future;
    private final String key;

    private Channel channel;
    private Handler handler;
    private boolean reused;
    private boolean retried;
    private boolean detached;
    private ScheduledFuture<?> timeout;

    private boolean headersIn;
    private boolean informational;
    private int status;
    private Map<String, List<String>> headers;
    private boolean keepAlive;

    /** Body buffers read and not yet handed on; owned here. */
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
    /** Buffers handed on in the last item, released at the next request(n) or cancel(). */
    private final ArrayList<ByteBuf> lent = new ArrayList<>();
    private boolean lastIn;
    private Throwable failure;
    private Throwable cause;

    private Flow.Subscriber<? super List<ByteBuffer>> subscriber;
    private long demand;
    private boolean finished;
    private boolean cancelled;
    private boolean draining;

    UpstreamCall(NettyTransport.LoopPool pool, UpstreamRequest request, CompletableFuture<UpstreamResponse> future) {
        this.pool = pool;
        this.request = request;
        this.future = future;
        URI u = request.uri();
        this.key = u.getHost() + ":" + u.getPort();
    }

    // ---- sending ------------------------------------------------------------------------------

    void start() {
        if (future.isDone()) {
            return;
        }
        future.whenComplete((r, t) -> {
            if (future.isCancelled()) {
                onLoop(this::abort);
            }
        });
        long nanos = request.responseTimeout().toNanos();
        timeout = pool.loop.schedule(this::timedOut, nanos, TimeUnit.NANOSECONDS);
        Channel ch = pool.reuse(key);
        if (ch != null) {
            reused = true;
            attach(ch);
        } else {
            connect();
        }
    }

    private void connect() {
        pool.connect(request.uri()).addListener((ChannelFuture f) -> {
            if (future.isDone() || cancelled) {
                f.channel().close();
                return;
            }
            if (!f.isSuccess()) {
                failBeforeHeaders(TransportException.Kind.CONNECT,
                        "cannot connect to " + key + ": " + TransportException.describe(f.cause()), f.cause());
                return;
            }
            attach(f.channel());
        });
    }

    private void attach(Channel ch) {
        channel = ch;
        detached = false;
        handler = ch.pipeline().get(Handler.class);
        handler.call = this;
        ch.writeAndFlush(buildRequest()).addListener(f -> {
            if (!f.isSuccess() && ch == channel) {
                ch.close(); // channelInactive decides: a retry on a new connection, or RESET
            }
        });
        ch.read();
    }

    private FullHttpRequest buildRequest() {
        URI uri = request.uri();
        String path = uri.getRawPath();
        String target = (path == null || path.isEmpty() ? "/" : path) + (uri.getRawQuery() == null ? "" : "?" + uri.getRawQuery());
        byte[] body = request.body();
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.valueOf(request.method()), target,
                body.length == 0 ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        HttpHeaders h = req.headers();
        for (Map.Entry<String, List<String>> e : request.headers().entrySet()) {
            h.add(e.getKey(), e.getValue());
        }
        h.set(HttpHeaderNames.HOST, uri.getRawAuthority());
        String m = request.method();
        if (body.length > 0 || m.equals("POST") || m.equals("PUT") || m.equals("PATCH")) {
            h.setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        }
        return req;
    }

    // ---- receiving ----------------------------------------------------------------------------

    /**
     * The response headers as the core takes them, in one pass over Netty's entries with immutable
     * lists (which the core keeps without copying): a header repeated under the same name is joined.
     */
    static Map<String, List<String>> headerMap(HttpHeaders in) {
        Map<String, List<String>> map = new LinkedHashMap<>(Math.max(8, in.size() * 2));
        for (Iterator<Map.Entry<String, String>> it = in.iteratorAsString(); it.hasNext(); ) {
            Map.Entry<String, String> e = it.next();
            map.merge(e.getKey(), List.of(e.getValue()), UpstreamCall::joined);
        }
        return Collections.unmodifiableMap(map);
    }

    private static List<String> joined(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a.size() + b.size());
        all.addAll(a);
        all.addAll(b);
        return List.copyOf(all);
    }

    private void onMessage(Object msg) {
        if (msg instanceof HttpResponse r) {
            if (r.decoderResult().isFailure()) {
                ReferenceCountUtil.release(msg);
                protocolError(r.decoderResult().cause());
                return;
            }
            if (r.status().code() < 200) {
                informational = true; // 100 Continue and the like: the real answer follows
            } else {
                informational = false;
                headersIn = true;
                timeout.cancel(false);
                status = r.status().code();
                headers = headerMap(r.headers());
                keepAlive = HttpUtil.isKeepAlive(r);
                if (!future.complete(this)) {
                    ReferenceCountUtil.release(msg);
                    abort();
                    return;
                }
            }
        }
        if (msg instanceof HttpContent c) {
            if (c.decoderResult().isFailure()) {
                c.release();
                protocolError(c.decoderResult().cause());
                return;
            }
            if (informational || cancelled) {
                c.release();
                return;
            }
            ByteBuf b = c.content();
            if (b.isReadable()) {
                pending.add(b); // ownership moves here
            } else {
                b.release();
            }
            if (c instanceof LastHttpContent) {
                lastIn = true;
                detach(keepAlive);
                drain();
            }
        } else if (!(msg instanceof HttpResponse)) {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onReadComplete() {
        drain();
        readIfWanted();
    }

    private void readIfWanted() {
        if (!detached && channel != null && (!headersIn || (subscriber != null && demand > 0 && pending.isEmpty() && !lastIn))) {
            channel.read();
        }
    }

    private void onInactive() {
        if (detached) {
            return;
        }
        detached = true;
        if (!headersIn) {
            if (reused && !retried && !future.isDone()) {
                // A pooled connection the backend had closed: once more on a new one.
                retried = true;
                reused = false;
                channel = null;
                connect();
                return;
            }
            failBeforeHeaders(TransportException.Kind.RESET,
                    "connection to " + key + " closed before the response" + (cause == null ? "" : ": " + TransportException.describe(cause)), cause);
            return;
        }
        if (!lastIn && failure == null) {
            failure = new TransportException(TransportException.Kind.RESET,
                    "the backend closed the connection before the end of the body"
                            + (cause == null ? "" : ": " + TransportException.describe(cause)), cause);
            drain();
        }
    }

    private void protocolError(Throwable t) {
        if (!headersIn) {
            failBeforeHeaders(TransportException.Kind.PROTOCOL, "invalid HTTP from " + key + ": " + TransportException.describe(t), t);
        } else if (failure == null) {
            failure = new TransportException(TransportException.Kind.PROTOCOL, "invalid HTTP from " + key + ": " + TransportException.describe(t), t);
            close();
            drain();
        }
    }

    private void timedOut() {
        if (headersIn || future.isDone()) {
            return;
        }
        failBeforeHeaders(TransportException.Kind.TIMEOUT,
                "no response headers from " + key + " within " + request.responseTimeout().toMillis() + " ms", null);
    }

    private void failBeforeHeaders(TransportException.Kind kind, String message, Throwable t) {
        if (timeout != null) {
            timeout.cancel(false);
        }
        close();
        releaseAll();
        future.completeExceptionally(new TransportException(kind, message, t));
    }

    /** The future was cancelled, or nobody wants the answer: drop the connection. */
    private void abort() {
        if (timeout != null) {
            timeout.cancel(false);
        }
        cancelled = true;
        finished = true;
        close();
        releaseAll();
    }

    /** Gives the connection back (clean end, kept alive) or closes it. */
    private void detach(boolean reusable) {
        if (detached || channel == null) {
            return;
        }
        detached = true;
        Channel ch = channel;
        handler.call = null;
        if (reusable) {
            pool.release(key, ch);
        } else {
            ch.close();
        }
    }

    /** Closes the connection unless it was already given back: the backend sees its client gone. */
    private void close() {
        if (!detached && channel != null) {
            detached = true;
            handler.call = null;
            channel.close();
        }
    }

    // ---- UpstreamResponse and the body publisher ----------------------------------------------

    @Override
    public int status() {
        return status;
    }

    @Override
    public Map<String, List<String>> headers() {
        return headers;
    }

    @Override
    public Flow.Publisher<List<ByteBuffer>> body() {
        return this;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super List<ByteBuffer>> s) {
        onLoop(() -> {
            if (subscriber != null) {
                s.onSubscribe(new Flow.Subscription() {
                    @Override public void request(long n) { }
                    @Override public void cancel() { }
                });
                s.onError(new IllegalStateException("the body accepts one subscriber"));
                return;
            }
            subscriber = s;
            s.onSubscribe(this);
            drain();
        });
    }

    @Override
    public void request(long n) {
        onLoop(() -> {
            releaseLent(); // the subscriber is done with the previous item
            if (finished) {
                return;
            }
            if (n <= 0) {
                cancel();
                finished = true;
                subscriber.onError(new IllegalArgumentException("request(" + n + "): expected > 0"));
                return;
            }
            demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
            drain();
            readIfWanted();
        });
    }

    @Override
    public void cancel() {
        onLoop(() -> {
            releaseLent();
            if (cancelled) {
                return;
            }
            cancelled = true;
            finished = true;
            if (!lastIn) {
                close(); // before the end: abort, so the backend stops generating
            }
            releaseAll();
        });
    }

    private void drain() {
        if (draining || subscriber == null || finished) {
            return;
        }
        draining = true;
        try {
            while (!finished) {
                if (!pending.isEmpty()) {
                    if (demand == 0) {
                        return;
                    }
                    demand--;
                    List<ByteBuffer> item = new ArrayList<>(pending.size());
                    for (ByteBuf b : pending) {
                        if (b.nioBufferCount() == 1) {
                            item.add(b.nioBuffer());
                        } else {
                            Collections.addAll(item, b.nioBuffers());
                        }
                    }
                    lent.addAll(pending);
                    pending.clear();
                    subscriber.onNext(item);
                } else if (lastIn) {
                    finished = true;
                    subscriber.onComplete();
                } else if (failure != null) {
                    finished = true;
                    subscriber.onError(failure);
                } else {
                    return;
                }
            }
        } finally {
            draining = false;
        }
    }

    private void releaseLent() {
        for (ByteBuf b : lent) {
            b.release();
        }
        lent.clear();
    }

    private void releaseAll() {
        releaseLent();
        ByteBuf b;
        while ((b = pending.poll()) != null) {
            b.release();
        }
    }

    private void onLoop(Runnable r) {
        if (pool.loop.inEventLoop()) {
            r.run();
        } else {
            pool.loop.execute(r);
        }
    }


    /** The upstream connection's handler: passes events to the call it carries, if any. */
    static final class Handler extends ChannelInboundHandlerAdapter {
        private final NettyTransport.LoopPool pool;
        UpstreamCall call;

        Handler(NettyTransport.LoopPool pool) {
            this.pool = pool;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            UpstreamCall c = call;
            if (c != null) {
                c.onMessage(msg);
            } else {
                ReferenceCountUtil.release(msg); // bytes on an idle connection: not ours to keep
                ctx.close();
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            UpstreamCall c = call;
            if (c != null) {
                c.onReadComplete();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            UpstreamCall c = call;
            if (c != null) {
                call = null;
                c.onInactive();
            } else {
                pool.forget(ctx.channel());
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
            UpstreamCall c = call;
            if (c != null && c.cause == null) {
                c.cause = t;
            }
            ctx.close();
        }
    }
}
