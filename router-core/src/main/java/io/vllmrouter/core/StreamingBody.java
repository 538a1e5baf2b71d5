package io.vllmrouter.core;

import io.vllmrouter.api.BodyChunk;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A backend's response body as an {@link InputStream} that hands over each chunk as it arrives
 * (subscribed to the transport's {@link io.vllmrouter.api.transport.UpstreamResponse#body()}, one
 * chunk of demand at a time, so a slow reader slows the backend instead of filling memory).
 *
 * <p>Or, instead of reading, a caller subscribes to {@link #publisher()}: chunks then pass straight
 * from the transport to that subscriber (no queue, no copy, no thread), and its demand and
 * cancellation pass straight back.
 *
 * <p>Chunks ({@link BodyChunk}) have one owner. Published, each becomes the subscriber's with
 * {@code onNext}; this class never releases a chunk it handed on, whatever ends the request. Read
 * as a stream, a chunk is this class's: queued chunks are released when the body is closed, and the
 * chunk being read is released by the reader once used up, or by whichever of the reader and
 * {@link #close()} comes last (so a chunk is never released under a reader copying from it).
 *
 * <p>The request ends exactly once, reported to {@link EndListener}: when the reader reaches the
 * end ({@link Outcome#COMPLETED}) or an upstream error ({@link Outcome#FAILED}); when {@link #close}
 * comes first (the upstream request is cancelled so the backend stops generating:
 * {@link Outcome#CANCELLED}); or when {@link #expire} fires at the request's deadline (upstream
 * cancelled, the reader gets an {@link IOException}: {@link Outcome#TIMED_OUT}, or
 * {@link Outcome#TIMED_OUT_NOT_STALLED} when the backend was not the one holding it up).
 */
final class StreamingBody extends InputStream implements Flow.Subscriber<BodyChunk> {

    /**
     * How the body ended. {@code TIMED_OUT}: the deadline passed while the backend was stalled: it
     * owed a chunk asked for and, when the body is timed, had sent nothing for the stall bound.
     * {@code TIMED_OUT_NOT_STALLED}: the deadline passed while the reader had not asked for more (a
     * client that stopped reading held the stream back), or while a timed stream was still coming
     * (a long generation).
     */
    enum Outcome { COMPLETED, FAILED, CANCELLED, TIMED_OUT, TIMED_OUT_NOT_STALLED, STOPPED }

    /** Hears the end of the body, once, on whichever thread ended it. */
    interface EndListener {
        void ended(Outcome outcome, Throwable cause, long bytes);
    }

    private static final Object EOF = new Object();
    private static final int UNDECIDED = 0;
    private static final int STREAM = 1;
    private static final int PUBLISHER = 2;

    /**
     * Chunks and the end for a reader, made on first use ({@link #queue()}): a published body (the
     * proxy's) never queues, and saves the queue and its locks per request.
     */
    private volatile LinkedBlockingQueue<Object> queue;
    private static final java.lang.invoke.VarHandle QUEUE;

    static {
        try {
            QUEUE = java.lang.invoke.MethodHandles.lookup().findVarHandle(StreamingBody.class, "queue",
                    LinkedBlockingQueue.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }
    private final EndListener listener;
    /** Times the chunks for the backend's speed estimate; null when not timed. */
    private final StreamTiming timing;
    private final long stallNanos;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Flow.Subscription subscription;
    /** Demand asked before the upstream subscription arrived; handed over by whichever comes second. */
    private final AtomicLong earlyDemand = new AtomicLong();
    /** Upstream finished: null, EOF or the Throwable it failed with. */
    private volatile Object upstreamEnd;
    /** The deadline's failure, once it passed. */
    private volatile Expired expired;
    private volatile long bytes;
    /** Chunks asked for upstream, written by the reader or the subscriber (one at a time, as Flow says). */
    private volatile long requested;
    /** Chunks the upstream delivered, written by its (serial) onNext. */
    private volatile long delivered;

    /** Whether the body is read as a stream or published; the first use decides. */
    private final AtomicInteger mode = new AtomicInteger(UNDECIDED);
    private volatile Flow.Subscriber<? super BodyChunk> downstream;
    private final AtomicBoolean downstreamDone = new AtomicBoolean();
    /** onSubscribe has returned: the downstream may now hear the end. */
    private volatile boolean downstreamReady;

    /** The reader: outside read(), inside it, or the body closed (then the reader's chunk is released by whoever came last). */
    private static final int IDLE = 0;
    private static final int READING = 1;
    private static final int CLOSED = 2;
    private final AtomicInteger reader = new AtomicInteger(IDLE);

    // reader-thread state
    private BodyChunk chunk;
    private int chunkIndex;
    private Object terminal;
    private boolean asked;

    StreamingBody(EndListener listener) {
        this(listener, null, Long.MAX_VALUE);
    }

    /**
     * With {@code timing} told of each chunk as it arrives (null: none). A timed body whose backend
     * sent nothing for {@code stallNanos} when the deadline passes was stalled; else it was coming.
     */
    StreamingBody(EndListener listener, StreamTiming timing, long stallNanos) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.timing = timing;
        this.stallNanos = stallNanos;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (closed.get() || ended.get()) {
            s.cancel();
            return;
        }
        long n = earlyDemand.getAndSet(0);
        if (n > 0) {
            s.request(n);
        }
    }

    /** Asks upstream for {@code n} more chunks, or keeps the demand until the subscription arrives. */
    private void requestUpstream(long n) {
        long r = requested + n;
        requested = r < 0 ? Long.MAX_VALUE : r;
        Flow.Subscription s = subscription;
        if (s != null) {
            s.request(n);
            return;
        }
        earlyDemand.getAndAccumulate(n, (a, b) -> a + b < 0 ? Long.MAX_VALUE : a + b);
        s = subscription;
        if (s != null) { // arrived meanwhile: whichever of the two comes second passes the demand on
            long m = earlyDemand.getAndSet(0);
            if (m > 0) {
                s.request(m);
            }
        }
    }

    @Override
    public void onNext(BodyChunk item) {
        delivered++; // one writer: the upstream's onNext is serial
        if (timing != null) {
            timing.chunk();
        }
        Flow.Subscriber<? super BodyChunk> d = downstream;
        if (d == null) {
            queue().offer(item);
            if (closed.get()) {
                releaseQueued(); // closed meanwhile: nobody will read it
            }
            return;
        }
        if (downstreamDone.get()) {
            item.release(); // the subscriber left: the chunk was never its
            return;
        }
        bytes += item.length();
        d.onNext(item);
    }

    @Override
    public void onError(Throwable t) {
        upstreamEnd = t;
        if (downstream != null) {
            end(Outcome.FAILED, t);
            signalDownstream(t);
        } else {
            queue().offer(t);
        }
    }

    @Override
    public void onComplete() {
        upstreamEnd = EOF;
        if (downstream != null) {
            end(Outcome.COMPLETED, null);
            signalDownstream(EOF);
        } else {
            queue().offer(EOF);
        }
    }

    /**
     * The body as a publisher ({@code RouterResponse.bodyPublisher()}): chunks pass through as the
     * transport delivers them, {@code request(n)} goes upstream, {@code cancel()} is {@link #close()}.
     */
    Flow.Publisher<BodyChunk> publisher() {
        return subscriber -> {
            Objects.requireNonNull(subscriber, "subscriber");
            if (!mode.compareAndSet(UNDECIDED, PUBLISHER)) {
                subscriber.onSubscribe(new Flow.Subscription() {
                    @Override public void request(long n) { }
                    @Override public void cancel() { }
                });
                subscriber.onError(new IllegalStateException("the body is already being read"));
                return;
            }
            // Set before onSubscribe: a request(n) made there may bring onNext at once, on any thread.
            downstream = subscriber;
            subscriber.onSubscribe(new Flow.Subscription() {
                @Override
                public void request(long n) {
                    if (n <= 0) {
                        close();
                        signalDownstream(new IllegalArgumentException("request(" + n + "): expected > 0"));
                    } else if (!closed.get()) {
                        requestUpstream(n);
                    }
                }

                @Override
                public void cancel() {
                    downstreamDone.set(true);
                    close();
                }
            });
            downstreamReady = true;
            // An end that came before the subscriber (a failure, the deadline) is passed on now.
            Expired e = expired;
            Object up = upstreamEnd;
            if (e != null) {
                signalDownstream(e);
            } else if (up != null) {
                end(up == EOF ? Outcome.COMPLETED : Outcome.FAILED, up == EOF ? null : (Throwable) up);
                signalDownstream(up);
            }
        };
    }

    private void signalDownstream(Object end) {
        Flow.Subscriber<? super BodyChunk> d = downstream;
        if (d == null || !downstreamReady || !downstreamDone.compareAndSet(false, true)) {
            return;
        }
        if (end == EOF) {
            d.onComplete();
        } else {
            d.onError((Throwable) end);
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n <= 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        if (len == 0) {
            return 0;
        }
        if (mode.get() != STREAM && !mode.compareAndSet(UNDECIDED, STREAM)) {
            throw new IOException("the body is being published to a subscriber");
        }
        if (!reader.compareAndSet(IDLE, READING)) {
            throw new IOException("response closed");
        }
        try {
            return readChunks(b, off, len);
        } finally {
            if (!reader.compareAndSet(READING, IDLE)) {
                releaseChunk(); // closed while reading: the reader came last
            }
        }
    }

    private int readChunks(byte[] b, int off, int len) throws IOException {
        while (true) {
            if (terminal != null) {
                return terminalResult();
            }
            if (closed.get()) {
                throw new IOException("response closed");
            }
            if (chunk != null) {
                java.util.List<ByteBuffer> buffers = chunk.buffers();
                while (chunkIndex < buffers.size()) {
                    ByteBuffer buf = buffers.get(chunkIndex);
                    if (buf.hasRemaining()) {
                        int n = Math.min(len, buf.remaining());
                        buf.get(b, off, n);
                        bytes += n;
                        return n;
                    }
                    chunkIndex++;
                }
                releaseChunk();
            }
            if (!asked) {
                // One chunk at a time, asked for once the previous one is used up: a slow reader
                // slows the backend.
                asked = true;
                requestUpstream(1);
            }
            Object next;
            try {
                next = queue().take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while reading the response body");
            }
            if (next instanceof BodyChunk c) {
                chunk = c;
                chunkIndex = 0;
                asked = false;
            } else {
                terminal = next;
                if (next == EOF) {
                    end(Outcome.COMPLETED, null);
                } else if (next instanceof Throwable t && !(t instanceof Closed)) {
                    end(t instanceof Expired ? Outcome.TIMED_OUT : Outcome.FAILED, t);
                }
            }
        }
    }

    /** The queue, made by whichever thread needs it first. */
    private LinkedBlockingQueue<Object> queue() {
        LinkedBlockingQueue<Object> q = queue;
        if (q == null) {
            LinkedBlockingQueue<Object> made = new LinkedBlockingQueue<>();
            @SuppressWarnings("unchecked")
            LinkedBlockingQueue<Object> won = (LinkedBlockingQueue<Object>) QUEUE.compareAndExchange(this, null, made);
            q = won == null ? made : won;
        }
        return q;
    }

    private void releaseChunk() {
        BodyChunk c = chunk;
        if (c != null) {
            chunk = null;
            c.release();
        }
    }

    /**
     * Once closed: releases the chunks nobody will read (safe from any thread: the queue hands each
     * out once) and leaves the mark that wakes a reader blocked in {@code read()}.
     */
    private void releaseQueued() {
        Object o;
        while ((o = queue().poll()) != null) {
            if (o instanceof BodyChunk c) {
                c.release();
            }
        }
        queue().offer(Closed.MARK);
    }

    private int terminalResult() throws IOException {
        if (terminal == EOF) {
            return -1;
        }
        Throwable t = (Throwable) terminal;
        if (t instanceof IOException io) {
            throw new IOException(io.getMessage(), io);
        }
        throw new IOException("upstream failed: " + t, t);
    }

    @Override
    public int available() {
        BodyChunk c = chunk;
        if (c == null) {
            return 0;
        }
        java.util.List<ByteBuffer> buffers = c.buffers();
        for (int i = chunkIndex; i < buffers.size(); i++) {
            if (buffers.get(i).hasRemaining()) {
                return buffers.get(i).remaining();
            }
        }
        return 0;
    }

    /** Bytes handed to the reader so far. */
    long bytes() {
        return bytes;
    }

    /**
     * Ends the body early. Before the upstream end this cancels the upstream request (the backend
     * stops generating) and counts as cancelled; after it, the upstream's outcome stands.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        Object up = upstreamEnd;
        if (up == EOF) {
            end(Outcome.COMPLETED, null);
        } else if (up instanceof Throwable t) {
            end(Outcome.FAILED, t);
        } else {
            end(Outcome.CANCELLED, null);
        }
        // After the end too: a transport that still holds buffers of this body gives them back.
        cancelUpstream();
        if (mode.get() != PUBLISHER) {
            releaseQueued(); // and wakes a reader blocked in read(); a publisher has none
            if (reader.getAndSet(CLOSED) == IDLE) {
                releaseChunk(); // no reader inside read(): its chunk is released here, once
            }
        }
    }

    /** The request's deadline passed: cancel upstream and fail the reader. */
    void expire(String message) {
        endEarly(message, false);
    }

    /** The router is stopping and cannot time the rest: cut as {@link #expire} does, not the backend's failure. */
    void stop(String message) {
        endEarly(message, true);
    }

    private void endEarly(String message, boolean stopping) {
        if (ended.get()) {
            return;
        }
        Expired e = new Expired(message);
        // End and pass on the timeout before cancelling: some JDKs (25) call onError from cancel(),
        // and the reader must see why the stream ended, not the transport's echo of the cancel.
        expired = e;
        end(stopping ? Outcome.STOPPED : backendStalled() ? Outcome.TIMED_OUT : Outcome.TIMED_OUT_NOT_STALLED, e);
        if (downstream != null) {
            signalDownstream(e);
        } else {
            queue().offer(e);
        }
        cancelUpstream();
    }

    /** Whether the backend owed a chunk asked for and, when timed, had been silent for the stall bound. */
    private boolean backendStalled() {
        if (requested <= delivered) {
            return false; // the reader had not asked for more
        }
        return timing == null || timing.silentNanos() >= stallNanos;
    }

    private void cancelUpstream() {
        Flow.Subscription s = subscription;
        if (s != null) {
            s.cancel();
        }
    }

    private void end(Outcome outcome, Throwable cause) {
        if (ended.compareAndSet(false, true)) {
            listener.ended(outcome, cause, bytes);
        }
    }

    /** Whether the request has ended (any outcome). */
    boolean isEnded() {
        return ended.get();
    }

    /** Thrown to the reader when the request's deadline passed. */
    static final class Expired extends IOException {
        private static final long serialVersionUID = 1L;

        Expired(String message) {
            super(message);
        }
    }

    /**
     * The queue's last item after {@link #close()}: one shared instance without a stack trace, since
     * every response is closed once and a stack trace per request was a measurable share of the
     * proxy's CPU and allocation.
     */
    private static final class Closed extends IOException {
        private static final long serialVersionUID = 1L;
        static final Closed MARK = new Closed();

        private Closed() {
            super("response closed");
        }

        @Override
        public synchronized Throwable fillInStackTrace() {
            return this;
        }
    }

    /** Discards a body we will not pass on (an answer replaced by a retry or by the router's error). */
    static final Flow.Subscriber<BodyChunk> DISCARD = new Flow.Subscriber<>() {
        @Override public void onSubscribe(Flow.Subscription s) { s.cancel(); }
        @Override public void onNext(BodyChunk item) { item.release(); }
        @Override public void onError(Throwable t) { }
        @Override public void onComplete() { }
    };
}
