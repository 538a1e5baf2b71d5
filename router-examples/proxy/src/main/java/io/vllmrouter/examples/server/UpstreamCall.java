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
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;

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

/**
 * One request on one pooled upstream connection, and its response: the future of the headers, then
 * the body as a demand-driven publisher. All state is touched on the pool's event loop only; calls
 * from other threads ({@code request}, {@code cancel}, a cancelled future) hop onto it.
 */
final class UpstreamCall implements UpstreamResponse, Flow.Publisher<BodyChunk>, Flow.Subscription {

    private final NettyTransport.LoopPool pool;
    private final UpstreamRequest request;
    private final CompletableFuture<UpstreamResponse> future;
    private final String key;

    private Channel channel;
    private Handler handler;
    private boolean reused;
    private boolean retried;
    private boolean detached;
    /** Whether the first bytes of the request (its head) reached the socket: null until known. */
    Boolean headWritten;
    boolean headSeen;

    private boolean headersIn;
    private boolean informational;
    private int status;
    private Map<String, List<String>> headers;
    private boolean keepAlive;

    /** Body buffers read and not yet handed on; owned here until handed on as a chunk. */
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
    private boolean lastIn;
    private Throwable failure;
    private Throwable cause;

    private Flow.Subscriber<? super BodyChunk> subscriber;
    private long demand;
    private boolean finished;
    private boolean cancelled;
    private boolean draining;

    UpstreamCall(NettyTransport.LoopPool pool, UpstreamRequest request, CompletableFuture<UpstreamResponse> future) {
        this.pool = pool;
        this.request = request;
        this.future = future;
        URI u = request.backend();
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
        Channel ch = pool.reuse(key);
        if (ch != null) {
            reused = true;
            attach(ch);
        } else {
            connect();
        }
    }

    private void connect() {
        pool.connect(request.backend()).addListener((ChannelFuture f) -> {
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
        headSeen = false;
        headWritten = null;
        ch.writeAndFlush(buildRequest()).addListener(f -> {
            if (!f.isSuccess() && ch == channel) {
                ch.close(); // channelInactive decides: a retry on a new connection, or RESET
            }
        });
        ch.read();
    }

    private FullHttpRequest buildRequest() {
        URI uri = request.backend();
        String target = request.requestTarget();
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
            if (reused && !retried && !future.isDone() && Boolean.FALSE.equals(headWritten)) {
                // A pooled connection the backend had closed before a byte of the request was
                // written: it provably never got the request, so once more on a new connection.
                // Any other failure is the router's to judge (retries, breakers, listeners).
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

    private void failBeforeHeaders(TransportException.Kind kind, String message, Throwable t) {
        close();
        releaseAll();
        future.completeExceptionally(new TransportException(kind, message, t));
    }

    /** The future was cancelled, or nobody wants the answer: drop the connection. */
    private void abort() {
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
    public Flow.Publisher<BodyChunk> body() {
        return this;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super BodyChunk> s) {
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
                    // The bytes read so far become the subscriber's, and are never touched here again.
                    ByteBuf all = pending.size() == 1 ? pending.poll()
                            : channelAlloc().compositeBuffer(pending.size()).addComponents(true, pending);
                    pending.clear();
                    subscriber.onNext(new NettyChunk(all));
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

    private io.netty.buffer.ByteBufAllocator channelAlloc() {
        return channel != null ? channel.alloc() : io.netty.buffer.PooledByteBufAllocator.DEFAULT;
    }

    /** Releases what was read and not handed on: the chunks handed on are their owners' to release. */
    private void releaseAll() {
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


    /**
     * First in the upstream pipeline (next to the socket): tells the call whether the first bytes of
     * its request (the head) were written, which decides whether a failed pooled connection may be
     * retried on its own ({@link #onInactive}).
     */
    static final class HeadWatch extends io.netty.channel.ChannelOutboundHandlerAdapter {
        private final Handler handler;

        HeadWatch(Handler handler) {
            this.handler = handler;
        }

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, io.netty.channel.ChannelPromise promise) {
            UpstreamCall c = handler.call;
            if (c != null && !c.headSeen && !promise.isVoid()) {
                c.headSeen = true;
                promise.addListener(f -> c.headWritten = f.isSuccess());
            }
            ctx.write(msg, promise);
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
