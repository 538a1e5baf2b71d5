package io.vllmrouter.api.time;

import java.time.Duration;

/**
 * Runs background tasks (scrapes, health checks, reload checks) after a delay. Production uses a
 * single daemon thread (router-core's {@code ExecutorScheduler.newDaemon}); tests use
 * {@code FakeClock}, which runs due tasks when the test advances time. Tasks must be short and must not block: they start asynchronous work.
 */
public interface Scheduler extends AutoCloseable {

    /** Runs {@code task} once after {@code delay}; the handle cancels it. */
    Cancellable schedule(Runnable task, Duration delay);

    /**
     * Runs {@code task} after {@code initialDelay} and then every {@code period}, measured from the
     * start of one run to the next. A task that throws is logged and keeps its schedule.
     */
    Cancellable scheduleAtFixedRate(Runnable task, Duration initialDelay, Duration period);

    /** Stops running tasks; idempotent. */
    @Override
    void close();

    /** A scheduled task's handle. */
    interface Cancellable {
        void cancel();
    }
}
