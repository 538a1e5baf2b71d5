package io.vllmrouter.core;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Flow;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend's response body as an {@link InputStream} that hands over each chunk as it arrives
 * (subscribed to the transport's {@link io.vllmrouter.core.transport.UpstreamResponse#body()}, one
 * chunk of demand at a time, so a slow reader slows the backend instead of filling memory).
 *
 * <p>Or, instead of reading, a caller subscribes to {@link #publisher()}: chunks then pass straight
 * from the transport to that subscriber (no queue, no copy, no thread), and its demand and
 * cancellation pass straight back.
 *
 * <p>The request ends exactly once, reported to {@link EndListener}: when the reader reaches the
 * end ({@link Outcome#COMPLETED}) or an upstream error ({@link Outcome#FAILED}); when {@link #close}
 * comes first (the upstream request is cancelled so the backend stops generating:
 * {@link Outcome#CANCELLED}); or when {@link #expire} fires at the request's deadline (upstream
 * cancelled, the reader gets an {@link IOException}: {@link Outcome#TIMED_OUT}).
 */
final class StreamingBody extends InputStream implements Flow.Subscriber<List<ByteBuffer>> {

    enum Outcome { COMPLETED, FAILED, CANCELLED, TIMED_OUT }

    /** Hears the end of the body, once, on whichever thread ended it. */
    interface EndListener {
        void ended(Outcome outcome, Throwable cause, long bytes);
    }

    private static final Object EOF = new Object();
    private static final int UNDECIDED = 0;
    private static final int STREAM = 1;
    private static final int PUBLISHER = 2;

    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final EndListener listener;
    /** Times the chunks for the backend's speed estimate; null when not timed. */
    private final StreamTiming timing;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Flow.Subscription subscription;
    /** Demand asked before the upstream subscription arrived; guarded by this. */
    private long earlyDemand;
    /** Upstream finished: null, EOF or the Throwable it failed with. */
    private volatile Object upstreamEnd;
    /** The deadline's failure, once it passed. */
    private volatile Expired expired;
    private volatile long bytes;

    /** Whether the body is read as a stream or published; the first use decides. */
    private final AtomicInteger mode = new AtomicInteger(UNDECIDED);
    private volatile Flow.Subscriber<? super List<ByteBuffer>> downstream;
    private final AtomicBoolean downstreamDone = new AtomicBoolean();
    /** onSubscribe has returned: the downstream may now hear the end. */
    private volatile boolean downstreamReady;

    // reader-thread state
    private List<ByteBuffer> chunk;
    private int chunkIndex;
    private Object terminal;
    private boolean asked;

    StreamingBody(EndListener listener) {
        this(listener, null);
    }

    /** With {@code timing} told of each chunk as it arrives (null: none). */
    StreamingBody(EndListener listener, StreamTiming timing) {
        this.listener = Objects.requireNonNull(listener, "listener");
        this.timing = timing;
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        long n;
        synchronized (this) {
            subscription = s;
            n = earlyDemand;
            earlyDemand = 0;
        }
        if (closed.get() || ended.get()) {
            s.cancel();
        } else if (n > 0) {
            s.request(n);
        }
    }

    /** Asks upstream for {@code n} more chunks, or keeps the demand until the subscription arrives. */
    private void requestUpstream(long n) {
        Flow.Subscription s;
        synchronized (this) {
            s = subscription;
            if (s == null) {
                earlyDemand = earlyDemand + n < 0 ? Long.MAX_VALUE : earlyDemand + n;
                return;
            }
        }
        s.request(n);
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
        if (timing != null) {
            timing.chunk();
        }
        Flow.Subscriber<? super List<ByteBuffer>> d = downstream;
        if (d == null) {
            queue.offer(item);
            return;
        }
        if (downstreamDone.get()) {
            return;
        }
        long n = 0;
        for (ByteBuffer b : item) {
            n += b.remaining();
        }
        bytes += n;
        d.onNext(item);
    }

    @Override
    public void onError(Throwable t) {
        upstreamEnd = t;
        if (downstream != null) {
            end(Outcome.FAILED, t);
            signalDownstream(t);
        } else {
            queue.offer(t);
        }
    }

    @Override
    public void onComplete() {
        upstreamEnd = EOF;
        if (downstream != null) {
            end(Outcome.COMPLETED, null);
            signalDownstream(EOF);
        } else {
            queue.offer(EOF);
        }
    }

    /**
     * The body as a publisher ({@code RouterResponse.bodyPublisher()}): chunks pass through as the
     * transport delivers them, {@code request(n)} goes upstream, {@code cancel()} is {@link #close()}.
     */
    Flow.Publisher<List<ByteBuffer>> publisher() {
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
        Flow.Subscriber<? super List<ByteBuffer>> d = downstream;
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
        if (closed.get()) {
            throw new IOException("response closed");
        }
        if (mode.get() != STREAM && !mode.compareAndSet(UNDECIDED, STREAM)) {
            throw new IOException("the body is being published to a subscriber");
        }
        while (true) {
            if (terminal != null) {
                return terminalResult();
            }
            if (chunk != null) {
                while (chunkIndex < chunk.size()) {
                    ByteBuffer buf = chunk.get(chunkIndex);
                    if (buf.hasRemaining()) {
                        int n = Math.min(len, buf.remaining());
                        buf.get(b, off, n);
                        bytes += n;
                        return n;
                    }
                    chunkIndex++;
                }
                chunk = null;
            }
            if (!asked && !closed.get()) {
                // One chunk at a time, asked for once the previous one is used up: a slow reader
                // slows the backend, and the transport may take the previous chunk's buffers back.
                asked = true;
                requestUpstream(1);
            }
            Object next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while reading the response body");
            }
            if (next instanceof List<?> l) {
                @SuppressWarnings("unchecked")
                List<ByteBuffer> c = (List<ByteBuffer>) l;
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
        List<ByteBuffer> c = chunk;
        if (c == null) {
            return 0;
        }
        for (int i = chunkIndex; i < c.size(); i++) {
            if (c.get(i).hasRemaining()) {
                return c.get(i).remaining();
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
        // After the end too: a transport that lends pooled buffers takes the last ones back now.
        cancelUpstream();
        if (mode.get() != PUBLISHER) {
            queue.offer(Closed.MARK); // wakes a reader blocked in read(); a publisher has none
        }
    }

    /** The request's deadline passed: cancel upstream and fail the reader. */
    void expire(String message) {
        if (ended.get()) {
            return;
        }
        Expired e = new Expired(message);
        // End and pass on the timeout before cancelling: some JDKs (25) call onError from cancel(),
        // and the reader must see why the stream ended, not the transport's echo of the cancel.
        expired = e;
        end(Outcome.TIMED_OUT, e);
        if (downstream != null) {
            signalDownstream(e);
        } else {
            queue.offer(e);
        }
        cancelUpstream();
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
    static final Flow.Subscriber<List<ByteBuffer>> DISCARD = new Flow.Subscriber<>() {
        @Override public void onSubscribe(Flow.Subscription s) { s.cancel(); }
        @Override public void onNext(List<ByteBuffer> item) { }
        @Override public void onError(Throwable t) { }
        @Override public void onComplete() { }
    };
}
