package io.vllmrouter.examples.server;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;

/**
 * Flushes of client connections waiting on one event loop until the backend read that fed them is
 * over. A relay that wrote part of an answer asks for its flush {@link #later}, so that what one
 * read of a backend brought (head, events, end) leaves in one write to the client; the upstream
 * connection's read-complete runs the flushes {@link #now}, while the bytes just read are still in
 * the processor's cache, and a task on the loop runs any asked for outside a backend's read.
 *
 * <p>A task alone would flush only after the loop had read every other ready connection: with tens
 * of streams per loop, tens of answers read into as many pooled buffers before the first is
 * written, and copied to the sockets from memory rather than from the cache.
 *
 * <p>One instance per event-loop thread, used only by that thread: no lock, no volatile.
 */
public final class Flushes {

    private static final Logger LOG = LoggerFactory.getLogger(Flushes.class);

    private static final FastThreadLocal<Flushes> OWN = new FastThreadLocal<>() {
        @Override
        protected Flushes initialValue() {
            return new Flushes();
        }
    };

    private ArrayList<Runnable> pending = new ArrayList<>();
    private ArrayList<Runnable> running = new ArrayList<>();
    private boolean taskQueued;
    private boolean inRun;
    private final Runnable task = () -> {
        taskQueued = false;
        run();
    };

    private Flushes() {
    }

    /**
     * Runs {@code flush} on {@code loop} once the current backend read is over, or after the task
     * running now. The caller asks once per flush it needs (a flag of its own): each call runs once.
     */
    public static void later(EventExecutor loop, Runnable flush) {
        if (!loop.inEventLoop()) {
            loop.execute(flush);
            return;
        }
        Flushes f = OWN.get();
        f.pending.add(flush);
        if (!f.taskQueued) {
            f.taskQueued = true;
            loop.execute(f.task);
        }
    }

    /** Runs the flushes asked for on the calling thread's loop; at the end of a backend read. */
    public static void now() {
        Flushes f = OWN.getIfExists();
        if (f != null && !f.pending.isEmpty()) {
            f.run();
        }
    }

    /**
     * Runs what is pending. A flush may complete writes whose listeners ask for more flushes: those
     * wait for the next read's end or the task, which is queued whenever one is pending (the task
     * clears its mark before it runs them, so a flush asked for meanwhile queues it again).
     */
    private void run() {
        if (inRun) {
            return; // the batch running now is followed by the task for what was added
        }
        inRun = true;
        ArrayList<Runnable> batch = pending;
        pending = running;
        running = batch;
        int i = 0;
        try {
            for (; i < batch.size(); i++) {
                try {
                    batch.get(i).run();
                } catch (RuntimeException e) {
                    LOG.warn("flushing a client connection failed", e); // the others still run
                }
            }
        } finally {
            // Even after an Error: the flushes not run wait for the next run, and runs go on (a loop
            // whose flushes stopped would hang every client on it).
            for (int j = i + 1; j < batch.size(); j++) {
                pending.add(batch.get(j));
            }
            batch.clear();
            inRun = false;
        }
    }
}
