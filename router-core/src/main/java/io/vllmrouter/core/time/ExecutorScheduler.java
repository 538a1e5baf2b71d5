package io.vllmrouter.core.time;

import io.vllmrouter.api.time.Scheduler;
import java.lang.System.Logger.Level;
import java.time.Duration;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** {@link Scheduler} on a {@link ScheduledThreadPoolExecutor} with one daemon thread. */
public final class ExecutorScheduler implements Scheduler {

    private static final System.Logger LOG = System.getLogger(ExecutorScheduler.class.getName());

    private final ScheduledExecutorService executor;

    /** A scheduler on one daemon thread named {@code threadName}. */
    public static Scheduler newDaemon(String threadName) {
        return new ExecutorScheduler(threadName);
    }

    private ExecutorScheduler(String threadName) {
        ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
        ex.setRemoveOnCancelPolicy(true);
        ex.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        this.executor = ex;
    }

    @Override
    public Cancellable schedule(Runnable task, Duration delay) {
        var f = executor.schedule(guard(task), delay.toNanos(), TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }

    @Override
    public Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period) {
        var f = executor.scheduleAtFixedRate(guard(task), initialDelay.toNanos(), period.toNanos(),
                TimeUnit.NANOSECONDS);
        return () -> f.cancel(false);
    }

    private static Runnable guard(Runnable task) {
        return () -> {
            try {
                task.run();
            } catch (RuntimeException | Error e) {
                LOG.log(Level.ERROR, "background task failed; it keeps its schedule", e);
            }
        };
    }

    @Override
    public void close() {
        executor.shutdownNow();
    }
}
