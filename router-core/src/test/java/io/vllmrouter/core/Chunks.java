package io.vllmrouter.core;

import io.vllmrouter.api.BodyChunk;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A scripted response body for the core's tests: fixed chunks, one per unit of demand, as the
 * transport contract asks, then the end, {@code failure}, or (hanging) nothing until cancelled;
 * remembers a cancel, counts the bytes it handed over, and each chunk's releases. A {@code request} made from inside
 * {@code onNext} adds demand for the running delivery loop instead of recursing, so a body split into
 * thousands of one-byte chunks does not grow the stack.
 */
final class Chunks implements Flow.Publisher<BodyChunk> {
    private final List<byte[]> chunks;
    private final Throwable failure;
    private final boolean hang;
    volatile boolean cancelled;
    /** Bytes handed to the subscriber so far. */
    final AtomicLong delivered = new AtomicLong();
    /** Every chunk handed to the subscriber, in order, counting its releases. */
    final List<Tracked> handed = new java.util.concurrent.CopyOnWriteArrayList<>();

    /** A chunk that counts how often it was released: its owner must release it once. */
    static final class Tracked implements BodyChunk {
        private final ByteBuffer bytes;
        final java.util.concurrent.atomic.AtomicInteger releases = new java.util.concurrent.atomic.AtomicInteger();

        Tracked(byte[] bytes) {
            this.bytes = ByteBuffer.wrap(bytes);
        }

        @Override
        public List<ByteBuffer> buffers() {
            return List.of(bytes);
        }

        @Override
        public void release() {
            releases.incrementAndGet();
        }
    }

    private Chunks(Throwable failure, boolean hang, List<byte[]> chunks) {
        this.failure = failure;
        this.hang = hang;
        this.chunks = chunks;
    }

    /** {@code chunks}, then {@code failure}, or the normal end when it is null. */
    Chunks(Throwable failure, String... chunks) {
        this(failure, false, utf8(chunks));
    }

    /** {@code chunks}, then the normal end. */
    static Chunks of(String... chunks) {
        return new Chunks(null, chunks);
    }

    /** {@code chunks}, then nothing: a backend that stalls, until the subscriber cancels. */
    static Chunks hanging(String... chunks) {
        return new Chunks(null, true, utf8(chunks));
    }

    /** Raw chunks (the same array may appear several times), then {@code failure}, the end, or (hang) nothing. */
    static Chunks bytes(Throwable failure, boolean hang, List<byte[]> chunks) {
        return new Chunks(failure, hang, chunks);
    }

    /** {@code all} in pieces of {@code size} bytes (the last one shorter). */
    static List<byte[]> split(byte[] all, int size) {
        List<byte[]> out = new ArrayList<>();
        for (int i = 0; i < all.length; i += size) {
            out.add(Arrays.copyOfRange(all, i, Math.min(all.length, i + size)));
        }
        return out;
    }

    private static List<byte[]> utf8(String... chunks) {
        List<byte[]> out = new ArrayList<>(chunks.length);
        for (String c : chunks) {
            out.add(c.getBytes(StandardCharsets.UTF_8));
        }
        return out;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super BodyChunk> s) {
        s.onSubscribe(new Flow.Subscription() {
            private int next;
            private long demand;
            private boolean delivering;
            private boolean done;

            @Override
            public void request(long n) {
                synchronized (this) {
                    demand += n;
                    if (delivering) {
                        return;     // the loop below is running further up this thread's stack
                    }
                    delivering = true;
                }
                while (true) {
                    byte[] chunk = null;
                    boolean end = false;
                    synchronized (this) {
                        if (demand == 0 || done || cancelled) {
                            delivering = false;
                            return;
                        }
                        demand--;
                        if (next < chunks.size()) {
                            chunk = chunks.get(next++);
                        } else if (!hang) {
                            done = true;
                            end = true;
                        } else {
                            demand = 0;
                        }
                    }
                    if (chunk != null) {
                        delivered.addAndGet(chunk.length);
                        Tracked t = new Tracked(chunk);
                        handed.add(t);
                        s.onNext(t);
                    } else if (end) {
                        if (failure != null) {
                            s.onError(failure);
                        } else {
                            s.onComplete();
                        }
                    }
                }
            }

            @Override
            public void cancel() {
                cancelled = true;
            }
        });
    }
}
