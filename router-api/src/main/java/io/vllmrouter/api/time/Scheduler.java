package io.vllmrouter.api.time;

import java.util.concurrent.Executor;
import java.time.Duration;

/**
 * Runs background tasks (scrapes, health checks, reload checks) after a delay. Production uses a
 * single daemon thread (router-core's {@code ExecutorScheduler.newDaemon}); tests use
 * {@code FakeClock}, which runs due tasks when the test advances time. Tasks must be short and must not block: they start asynchronous work.
 */
public interface Scheduler extends AutoCloseable {

    /**
     * Runs {@code task} once after {@code delay}; the handle cancels it.
     *
     * @throws java.util.concurrent.RejectedExecutionException once closed (as a closed executor
     *     does): the router then fails the request it was timing rather than let it go untimed
     */
    Cancellable schedule(Runnable task, Duration delay);

    /**
     * Runs {@code task} after {@code initialDelay} and then every {@code period}, measured from the
     * start of one run to the next. A task that throws is logged and keeps its schedule.
     */
    Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period);

    /**
     * Where later work that belongs to the calling thread's request runs: a scheduler on event loops
     * returns the calling thread's loop, so that a request woken from another thread (a slot freed
     * by another request) goes on on its own thread, not on the waker's. Called on the request's
     * thread; the default runs tasks at once on whichever thread submits them.
     */
    default Executor callerExecutor() {
        return Runnable::run;
    }

    /** Stops running tasks; idempotent. */
    @Override
    void close();

    /** A scheduled task's handle. */
    interface Cancellable {
        void cancel();
    }
}
