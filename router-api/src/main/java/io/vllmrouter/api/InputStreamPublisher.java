package io.vllmrouter.api;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * {@link RouterResponse#bodyPublisher()} for responses that only have a blocking {@link InputStream}:
 * one thread per subscription reads as demand allows. Responses that can push without blocking
 * override {@code bodyPublisher()}.
 */
final class InputStreamPublisher implements Flow.Publisher<BodyChunk> {

    private static final int CHUNK = 8192;

    private final RouterResponse response;
    private final AtomicBoolean subscribed = new AtomicBoolean();

    InputStreamPublisher(RouterResponse response) {
        this.response = response;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super BodyChunk> subscriber) {
        if (!subscribed.compareAndSet(false, true)) {
            subscriber.onSubscribe(new Flow.Subscription() {
                @Override public void request(long n) { }
                @Override public void cancel() { }
            });
            subscriber.onError(new IllegalStateException("the body publisher accepts one subscriber"));
            return;
        }
        Object lock = new Object();
        long[] demand = {0};
        boolean[] cancelled = {false};
        Thread reader = new Thread(() -> {
            InputStream in = response.body();
            try {
                while (true) {
                    synchronized (lock) {
                        while (demand[0] == 0 && !cancelled[0]) {
                            lock.wait();
                        }
                        if (cancelled[0]) {
                            return;
                        }
                        demand[0]--;
                    }
                    byte[] buf = new byte[CHUNK];
                    int n = in.read(buf);
                    if (n < 0) {
                        subscriber.onComplete();
                        return;
                    }
                    subscriber.onNext(BodyChunk.of(ByteBuffer.wrap(buf, 0, n)));
                }
            } catch (IOException e) {
                subscriber.onError(e);
            } catch (InterruptedException e) {
                response.close();
            }
        }, "vllm-router-body-" + response.requestId());
        reader.setDaemon(true);
        subscriber.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
                synchronized (lock) {
                    demand[0] = n <= 0 || demand[0] + n < 0 ? Long.MAX_VALUE : demand[0] + n;
                    lock.notifyAll();
                }
            }

            @Override
            public void cancel() {
                synchronized (lock) {
                    cancelled[0] = true;
                    lock.notifyAll();
                }
                response.close();
            }
        });
        reader.start();
    }
}
