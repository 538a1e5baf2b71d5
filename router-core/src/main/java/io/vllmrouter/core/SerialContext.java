package io.vllmrouter.core;

import java.lang.System.Logger.Level;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Runs tasks one at a time, in the order they were queued, never re-entrantly — the fleet's state
 * has one owner because every change to it runs here (grpc-java's {@code SynchronizationContext}).
 *
 * <pre>{@code
 * SerialContext context = new SerialContext();
 * context.execute(() -> state.apply(change));            // from any thread
 * context.executeLater(task); scheduler.schedule(context::drain, Duration.ZERO);   // drained elsewhere
 * }</pre>
 *
 * <p>Which thread runs a task: {@link #execute} queues the task and then drains the queue on the
 * calling thread, unless another thread is draining already, in which case that thread runs it
 * soon after and {@code execute} returns at once. A task that queues another (directly or through
 * a callback) never runs it nested: it runs after the current task, on the same thread.
 * {@link #executeLater} only queues; the caller arranges a {@link #drain} (the fleet hands breaker
 * events to its scheduler this way, so no request thread runs state changes).
 *
 * <p>Tasks must be short and must not block: while one runs, others wait. A task that throws is
 * logged; the ones after it still run. Callers must not hold a lock a task might take.
 */
final class SerialContext implements Executor {

    private static final System.Logger LOG = System.getLogger(SerialContext.class.getName());

    private final Queue<Runnable> queue = new ConcurrentLinkedQueue<>();
    /** The thread draining now, or null. */
    private final AtomicReference<Thread> drainer = new AtomicReference<>();

    /** Queues {@code task} and drains on this thread unless another thread is draining. */
    @Override
    public void execute(Runnable task) {
        executeLater(task);
        drain();
    }

    /** Queues {@code task} without running anything; a later {@link #drain} (anywhere) runs it. */
    void executeLater(Runnable task) {
        queue.add(java.util.Objects.requireNonNull(task, "task"));
    }

    /** Runs queued tasks on this thread until the queue is empty, unless some thread is draining. */
    void drain() {
        do {
            if (!drainer.compareAndSet(null, Thread.currentThread())) {
                return;
            }
            try {
                Runnable task;
                while ((task = queue.poll()) != null) {
                    try {
                        task.run();
                    } catch (RuntimeException | Error e) {
                        LOG.log(Level.ERROR, "fleet state task failed; the ones after it still run", e);
                    }
                }
            } finally {
                drainer.set(null);
            }
            // a task queued between the last poll and the release would otherwise wait for the next drain
        } while (!queue.isEmpty());
    }

    /**
     * Runs {@code task} in the context and waits for it (interruptibly), rethrowing what it threw.
     *
     * @throws IllegalStateException when called from a task of this context (it would wait for itself)
     */
    void executeAndWait(Runnable task) {
        if (inContext()) {
            throw new IllegalStateException("cannot wait for the fleet's context from inside it (a listener callback?)");
        }
        java.util.concurrent.CompletableFuture<Void> done = new java.util.concurrent.CompletableFuture<>();
        execute(() -> {
            try {
                task.run();
                done.complete(null);
            } catch (RuntimeException | Error e) {
                done.completeExceptionally(e);
            }
        });
        try {
            done.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the fleet's context", e);
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw (Error) e.getCause();
        }
    }

    /** Whether the calling thread is running a task of this context now. */
    boolean inContext() {
        return drainer.get() == Thread.currentThread();
    }
}
