package io.vllmrouter.examples.server.upstream;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.vllmrouter.api.BodyChunk;

import java.util.ArrayDeque;
import java.util.concurrent.Flow;

/**
 * A response body as the router reads it: a publisher of one subscriber, fed by its
 * {@link UpstreamExchange} on the pool's event loop. Bytes are read from the socket only while the
 * subscriber has demand, and what was read goes on as one {@link NettyChunk}, whose ownership goes
 * with it: from then on only its owner releases it (a proxy's write, when it completed). This class
 * releases only what it holds — bytes read and not yet handed on — when the body is cancelled.
 *
 * <p>All state is touched on the loop; {@code request}, {@code cancel} and {@code subscribe} from
 * other threads hop onto it.
 */
final class UpstreamBody implements Flow.Publisher<BodyChunk>, Flow.Subscription {

    /** Chunks up to this size are copied out of the read buffer they were sliced from. */
    static final int COPY_UP_TO = 8 * 1024;

    private final UpstreamExchange exchange;
    private final EventLoop loop;
    /** Bytes read and not yet handed on; this body's until then. */
    private final ArrayDeque<ByteBuf> pending = new ArrayDeque<>();
    private Flow.Subscriber<? super BodyChunk> subscriber;
    private long demand;
    private boolean lastIn;
    private Throwable failure;
    private boolean finished;
    private boolean cancelled;
    private boolean draining;

    UpstreamBody(UpstreamExchange exchange, EventLoop loop) {
        this.exchange = exchange;
        this.loop = loop;
    }

    // ---- from the exchange (on the loop) ------------------------------------------------------

    /** Bytes read; {@code last} when they end the body (then nothing more is read into a buffer for it). */
    void received(ByteBuf b, boolean last) {
        if (cancelled || !b.isReadable()) {
            b.release();
        } else {
            pending.add(!last && b.readableBytes() <= COPY_UP_TO ? ownCopy(b) : b);
        }
    }

    /**
     * A small piece of a read (an SSE event) in a buffer of its own size: held for a slow client
     * while the stream goes on, a slice would keep the whole read buffer
     * ({@value ConnectionPool#READ_BYTES} bytes) from the pool. The end of a body is not copied:
     * a short answer read whole is written at once, and holds at most one read buffer per exchange.
     */
    private ByteBuf ownCopy(ByteBuf b) {
        try {
            return exchange.alloc().directBuffer(b.readableBytes()).writeBytes(b);
        } finally {
            b.release();
        }
    }

    void ended() {
        lastIn = true;
        drain();
    }

    void failed(Throwable t) {
        if (!lastIn && failure == null) {
            failure = t;
            drain();
        }
    }

    boolean wantsMore() {
        return subscriber != null && demand > 0 && pending.isEmpty() && !lastIn;
    }

    boolean isCancelled() {
        return cancelled;
    }

    // ---- the publisher ------------------------------------------------------------------------

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
            exchange.readIfWanted();
        });
    }

    /**
     * Aborts before the end (the connection closes: the backend stops generating) and releases the
     * bytes not handed on. Chunks already handed on are their owners'.
     */
    @Override
    public void cancel() {
        onLoop(() -> {
            if (cancelled) {
                return;
            }
            cancelled = true;
            finished = true;
            if (!lastIn) {
                exchange.close();
            }
            ByteBuf b;
            while ((b = pending.poll()) != null) {
                b.release();
            }
        });
    }

    /** Hands on what was read, as demand allows, then the end. */
    void drain() {
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
                    ByteBuf all = pending.size() == 1 ? pending.poll()
                            : exchange.alloc().compositeBuffer(pending.size()).addComponents(true, pending);
                    pending.clear();
                    subscriber.onNext(new NettyChunk(all)); // the subscriber's from now on
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

    private void onLoop(Runnable r) {
        if (loop.inEventLoop()) {
            r.run();
        } else {
            loop.execute(r);
        }
    }
}
