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

/**
 * A backend's response body as an {@link InputStream} that hands over each chunk as it arrives
 * (subscribed to the transport's {@link io.vllmrouter.core.transport.UpstreamResponse#body()}, one
 * chunk of demand at a time, so a slow reader slows the backend instead of filling memory).
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

    private final LinkedBlockingQueue<Object> queue = new LinkedBlockingQueue<>();
    private final EndListener listener;
    private final AtomicBoolean ended = new AtomicBoolean();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile Flow.Subscription subscription;
    /** Upstream finished: null, EOF or the Throwable it failed with. */
    private volatile Object upstreamEnd;
    private volatile long bytes;

    // reader-thread state
    private List<ByteBuffer> chunk;
    private int chunkIndex;
    private Object terminal;

    StreamingBody(EndListener listener) {
        this.listener = Objects.requireNonNull(listener, "listener");
    }

    @Override
    public void onSubscribe(Flow.Subscription s) {
        subscription = s;
        if (closed.get() || ended.get()) {
            s.cancel();
        } else {
            s.request(1);
        }
    }

    @Override
    public void onNext(List<ByteBuffer> item) {
        queue.offer(item);
    }

    @Override
    public void onError(Throwable t) {
        upstreamEnd = t;
        queue.offer(t);
    }

    @Override
    public void onComplete() {
        upstreamEnd = EOF;
        queue.offer(EOF);
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
                Flow.Subscription s = subscription;
                if (s != null && !closed.get()) {
                    s.request(1);
                }
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
            cancelUpstream();
            end(Outcome.CANCELLED, null);
        }
        queue.offer(new Closed());
    }

    /** The request's deadline passed: cancel upstream and fail the reader. */
    void expire(String message) {
        if (ended.get()) {
            return;
        }
        Expired e = new Expired(message);
        // End and queue the timeout before cancelling: some JDKs (25) call onError from cancel(),
        // and the reader must see why the stream ended, not the transport's echo of the cancel.
        end(Outcome.TIMED_OUT, e);
        queue.offer(e);
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

    private static final class Closed extends IOException {
        private static final long serialVersionUID = 1L;

        Closed() {
            super("response closed");
        }
    }
}
