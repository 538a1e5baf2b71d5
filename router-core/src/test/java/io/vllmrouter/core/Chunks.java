package io.vllmrouter.core;

import io.vllmrouter.api.BodyChunk;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A scripted response body for the core's tests: fixed chunks, one per unit of demand, as the
 * transport contract asks, then the end or {@code failure}; remembers a cancel.
 */
final class Chunks implements Flow.Publisher<BodyChunk> {
    private final String[] chunks;
    private final Throwable failure;
    volatile boolean cancelled;

    /** {@code chunks}, then {@code failure}, or the normal end when it is null. */
    Chunks(Throwable failure, String... chunks) {
        this.failure = failure;
        this.chunks = chunks;
    }

    /** {@code chunks}, then the normal end. */
    static Chunks of(String... chunks) {
        return new Chunks(null, chunks);
    }

    @Override
    public void subscribe(Flow.Subscriber<? super BodyChunk> s) {
        AtomicBoolean done = new AtomicBoolean();
        s.onSubscribe(new Flow.Subscription() {
            private int next;

            @Override
            public synchronized void request(long n) {
                for (long i = 0; i < n && !done.get(); i++) {
                    if (next < chunks.length) {
                        s.onNext(BodyChunk.of(ByteBuffer.wrap(chunks[next++].getBytes(StandardCharsets.UTF_8))));
                    } else if (done.compareAndSet(false, true)) {
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
                done.set(true);
            }
        });
    }
}
