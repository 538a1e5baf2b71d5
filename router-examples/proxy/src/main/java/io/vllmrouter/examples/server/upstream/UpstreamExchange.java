package io.vllmrouter.examples.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelProgressiveFuture;
import io.netty.channel.ChannelProgressiveFutureListener;
import io.netty.channel.ChannelProgressivePromise;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.HeaderMap;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;

import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;

/**
 * One request on one pooled upstream connection: sends it, completes the future with the status and
 * headers, then feeds the body to its {@link UpstreamBody}. All state is touched on the pool's event
 * loop; calls from other threads (a cancelled future, the body's subscriber) hop onto it.
 *
 * <p>A request is sent once, as one buffer ({@link RequestBytes}). The only exception: a reused
 * connection found closed before a byte of the request was written (the backend provably never
 * saw it) is replaced by a new connection once.
 */
final class UpstreamExchange implements UpstreamResponse {

    private final ConnectionPool pool;
    private final UpstreamRequest request;
    private final CompletableFuture<UpstreamResponse> future;
    private final String key;
    private final UpstreamBody body;

    private Channel channel;
    private UpstreamHandler handler;
    private boolean reused;
    private boolean retried;
    private boolean detached;
    /** The whole request reached the socket: until then the connection cannot carry another. */
    private boolean requestWritten;
    /** The write of the request failed on the current connection before any byte reached its socket. */
    private boolean notSent;
    /** The request's Host header, checked once. */
    private String host;

    private boolean headersIn;
    private boolean informational;
    private int status;
    private Map<String, List<String>> headers;
    private boolean keepAlive;
    private Throwable cause;

    UpstreamExchange(ConnectionPool pool, UpstreamRequest request, CompletableFuture<UpstreamResponse> future) {
        this.pool = pool;
        this.request = request;
        this.future = future;
        this.key = ConnectionPool.key(request.backend());
        this.body = new UpstreamBody(this, pool.loop);
    }

    // ---- sending ------------------------------------------------------------------------------

    void start() {
        if (future.isDone()) {
            return;
        }
        host = RequestBytes.host(request);
        if (host == null) {
            // Nothing can be sent to this address (a URI's authority may hold what a header cannot).
            future.completeExceptionally(new TransportException(TransportException.Kind.CONNECT,
                    "cannot send to " + key + ": its address cannot be a Host header", null));
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
            if (future.isDone() || body.isCancelled()) {
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
        requestWritten = false;
        notSent = false;
        handler = UpstreamHandler.of(ch);
        handler.exchange = this;
        handler.decoder.head = request.method().equals("HEAD");
        ChannelProgressivePromise written = ch.newProgressivePromise();
        written.addListener(new ChannelProgressiveFutureListener() {
            private boolean anyByte;

            @Override
            public void operationProgressed(ChannelProgressiveFuture f, long progress, long total) {
                anyByte |= progress > 0;
            }

            @Override
            public void operationComplete(ChannelProgressiveFuture f) {
                if (ch != channel) {
                    return; // a connection this exchange left for another
                }
                if (f.isSuccess()) {
                    requestWritten = true;
                } else {
                    // onInactive decides: once more on a new connection when this pooled one took
                    // not a byte of the request (the backend cannot have seen it), else RESET.
                    notSent = !anyByte;
                    ch.close();
                }
            }
        });
        ch.writeAndFlush(pool.requestBytes.encode(ch.alloc(), request, host), written);
        ch.read();
    }

    // ---- receiving ----------------------------------------------------------------------------

    void onMessage(Object msg) {
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
            if (informational) {
                c.release();
                return;
            }
            body.received(c.content(), c instanceof LastHttpContent); // ownership moves to the body
            if (c instanceof LastHttpContent) {
                if (cause != null) {
                    // The decoder ends a body without length or chunks where its connection ends,
                    // and this connection failed (a reset): the body was cut short, not complete.
                    close();
                    body.failed(new TransportException(TransportException.Kind.RESET,
                            "the backend reset the connection before the end of the body: "
                                    + TransportException.describe(cause), cause));
                    return;
                }
                // The end first: a request it lets through at once (a pipelining client's next one)
                // cannot get this connection while the rest of this read is still being decoded,
                // where bytes past this answer must find no exchange (and so close the connection).
                body.ended();
                detach(keepAlive);
            }
        } else if (!(msg instanceof HttpResponse)) {
            ReferenceCountUtil.release(msg);
        }
    }

    void onReadComplete() {
        body.drain();
        readIfWanted();
    }

    /** Reads on when the headers are awaited or the body's subscriber has demand for more. */
    void readIfWanted() {
        if (!detached && channel != null && (!headersIn || body.wantsMore())) {
            channel.read();
        }
    }

    void failedWith(Throwable t) {
        if (cause == null) {
            cause = t;
        }
    }

    void onInactive() {
        if (detached) {
            return;
        }
        detached = true;
        if (!headersIn) {
            if (reused && !retried && !future.isDone() && notSent) {
                // The pooled connection was found closed before a byte of the request was
                // written: the backend never saw it, so it goes once more on a new connection.
                // Any other failure is the router's to judge (its retries, breakers and listeners).
                retried = true;
                reused = false;
                channel = null;
                connect();
                return;
            }
            failBeforeHeaders(TransportException.Kind.RESET, "connection to " + key + " closed before the response"
                    + (cause == null ? "" : ": " + TransportException.describe(cause)), cause);
            return;
        }
        body.failed(new TransportException(TransportException.Kind.RESET,
                "the backend closed the connection before the end of the body"
                        + (cause == null ? "" : ": " + TransportException.describe(cause)), cause));
    }

    private void protocolError(Throwable t) {
        String message = "invalid HTTP from " + key + ": " + TransportException.describe(t);
        if (!headersIn) {
            failBeforeHeaders(TransportException.Kind.PROTOCOL, message, t);
        } else {
            close();
            body.failed(new TransportException(TransportException.Kind.PROTOCOL, message, t));
        }
    }

    private void failBeforeHeaders(TransportException.Kind kind, String message, Throwable t) {
        close();
        body.cancel();
        future.completeExceptionally(new TransportException(kind, message, t));
    }

    /** The future was cancelled, or nobody wants the answer: drop the connection. */
    private void abort() {
        body.cancel();
    }

    /**
     * Gives the connection back (clean end, kept alive, the request all written) or closes it. A
     * backend that answered before it had the whole request (an early error) would read the rest
     * of it as the start of the next request on the connection.
     */
    private void detach(boolean reusable) {
        if (detached || channel == null) {
            return;
        }
        detached = true;
        handler.exchange = null;
        if (reusable && requestWritten) {
            pool.release(key, channel);
        } else {
            channel.close();
        }
    }

    /** Closes the connection unless it was given back: the backend sees its client gone. */
    void close() {
        if (!detached && channel != null) {
            detached = true;
            handler.exchange = null;
            channel.close();
        }
    }

    io.netty.buffer.ByteBufAllocator alloc() {
        return channel != null ? channel.alloc() : io.netty.buffer.PooledByteBufAllocator.DEFAULT;
    }

    void onLoop(Runnable r) {
        if (pool.loop.inEventLoop()) {
            r.run();
        } else {
            pool.loop.execute(r);
        }
    }

    // ---- UpstreamResponse ---------------------------------------------------------------------

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
        return body;
    }

    /**
     * The response headers as the core takes them, in one pass over Netty's entries: a header
     * repeated under the same name is joined ({@link HeaderMap.Builder#add}).
     */
    static HeaderMap headerMap(HttpHeaders in) {
        HeaderMap.Builder map = HeaderMap.builder(in.size());
        for (Iterator<Map.Entry<String, String>> it = in.iteratorAsString(); it.hasNext(); ) {
            Map.Entry<String, String> e = it.next();
            map.add(e.getKey(), e.getValue());
        }
        return map.build();
    }
}
