package io.vllmrouter.examples.kvevents;

import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * The one thread that changes a {@link KvIndex}: tasks posted from the subscriber threads, the
 * router's state path and request threads run on it one at a time, in the order posted.
 *
 * <pre>{@code
 * IndexOwner owner = new IndexOwner("vllm-router-kv-index");
 * owner.post(() -> apply(batch));                  // waits while the queue is full
 * owner.await(() -> applied() >= 3, Duration.ofSeconds(5));
 * owner.stop();
 * }</pre>
 *
 * <p>The queue is bounded ({@link #QUEUE}): a subscriber that finds it full waits, so a burst of
 * events slows the subscribers (and ZMQ drops at its high-water mark) rather than growing memory. A
 * task that throws is logged and the next one runs. Tests and tools wait for the owner
 * ({@link #sync}, {@link #await}) instead of polling.
 *
 * <p>Thread-safe.
 */
final class IndexOwner {

    private static final System.Logger LOG = System.getLogger(IndexOwner.class.getName());

    /** Tasks waiting for the owner at most. */
    static final int QUEUE = 16_384;

    private final BlockingQueue<Runnable> queue = new ArrayBlockingQueue<>(QUEUE);
    private final Thread thread;
    private volatile boolean stopped;
    /** Notified each time the owner has run a task, for {@link #await}. */
    private final Object progress = new Object();

    /** Starts the owner thread, a daemon named {@code name}. */
    IndexOwner(String name) {
        this.thread = new Thread(this::run, name);
        thread.setDaemon(true);
        thread.start();
    }

    /** Hands a task to the owner, waiting while the queue is full; false once stopped. */
    boolean post(Runnable task) {
        while (!stopped) {
            try {
                if (queue.offer(task, 100, TimeUnit.MILLISECONDS)) {
                    return true;
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }

    /** Hands a task to the owner unless the queue is full (a request thread, which must not wait). */
    boolean offer(Runnable task) {
        return queue.offer(task);
    }

    /** Runs {@code task} on the owner after everything posted before it, and waits for it, at most 10 s. */
    void sync(Runnable task) throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        post(() -> {
            try {
                task.run();
            } finally {
                done.countDown();
            }
        });
        done.await(10, TimeUnit.SECONDS);
    }

    /**
     * Waits until {@code condition} holds, checking it now and each time the owner has run a task;
     * returns whether it held in time.
     */
    boolean await(BooleanSupplier condition, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (progress) {
            while (!condition.getAsBoolean()) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(progress, left);
            }
            return true;
        }
    }

    /** Takes no more tasks and ends the thread; tasks still queued are dropped. */
    void stop() {
        stopped = true;
        thread.interrupt();
    }

    private void run() {
        while (!stopped) {
            try {
                Runnable task = queue.poll(200, TimeUnit.MILLISECONDS);
                if (task != null) {
                    try {
                        task.run();
                    } finally {
                        synchronized (progress) {
                            progress.notifyAll();
                        }
                    }
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.log(Level.ERROR, "KV index task failed", e);
            }
        }
    }
}
