package io.vllmrouter.core;

import io.vllmrouter.api.BackendsBusyException;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.time.Scheduler;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

/**
 * The optional admission queue, seen from one request ({@code max_in_flight_factor > 0}): which
 * candidates still have room, and, when none has, waiting in the router's FIFO queue (no thread
 * held) for at most {@code queue_timeout}, or a 429 at once when {@code max_queue} requests are
 * already waiting. The queue itself is {@link Forwarder}'s; a freed slot wakes the first waiter
 * ({@link Exchange#wake}), which picks again and either takes it or keeps its place.
 *
 * <p>Threads: {@link #waitOrRefuse} and {@link #leave} run on the thread of the exchange's attempt
 * (the caller's, or the one that freed a slot); {@link #timedOut} on the scheduler's. The state is
 * guarded by this object's monitor. A refusal is handed to the exchange's {@code refuse} callback,
 * which fails the request.
 */
final class AdmissionWait {

    private final Forwarder forwarder;
    private final Exchange owner;
    private final String model;
    private final Consumer<RouterException> refuse;

    /** Guarded by this: waiting, its timer, and whether the wait ran out. */
    private boolean queued;
    private boolean expired;
    private Scheduler.Cancellable timer;

    AdmissionWait(Forwarder forwarder, Exchange owner, String model, Consumer<RouterException> refuse) {
        this.forwarder = forwarder;
        this.owner = owner;
        this.model = model;
        this.refuse = refuse;
    }

    /** Candidates below {@code factor × max_concurrent_requests} in flight (at least one each). */
    static List<Backend> unsaturated(List<Backend> candidates, double factor) {
        List<Backend> open = null;
        for (int i = 0; i < candidates.size(); i++) {
            Backend b = candidates.get(i);
            boolean full = b.inFlight() >= Math.max(1, (int) Math.ceil(b.capacity() * factor));
            if (full && open == null) {
                open = new ArrayList<>(candidates.subList(0, i));
            } else if (!full && open != null) {
                open.add(b);
            }
        }
        return open == null ? candidates : open;
    }

    /**
     * Every candidate is saturated: wait in the router's FIFO queue for a slot, at most
     * {@code queue_timeout}, or refuse with 429 at once when {@code max_queue} are waiting.
     */
    void waitOrRefuse(Snapshot snap) {
        Snapshot.Settings s = snap.settings;
        synchronized (this) {
            if (queued && !expired) {
                forwarder.requeue(owner);       // woken, but the slot went to another: keep the place
                return;
            }
            if (!queued && forwarder.enqueue(owner, s.maxQueue())) {
                try {
                    timer = forwarder.scheduler().schedule(this::timedOut, s.queueTimeout());
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    forwarder.dequeue(owner);   // no wait without its timeout: the request fails instead
                    throw e;
                }
                queued = true;
                return;
            }
        }
        refuse.accept(busy(snap, queued ? "waited " + s.queueTimeout().toMillis() + " ms for a free slot"
                : "every backend has max_in_flight_factor x max_concurrent_requests requests in flight and "
                + s.maxQueue() + " requests are waiting"));
    }

    private void timedOut() {
        synchronized (this) {
            expired = true;
        }
        if (forwarder.dequeue(owner)) {
            Snapshot s = forwarder.snapshot();
            refuse.accept(busy(s, "waited " + s.settings.queueTimeout().toMillis() + " ms for a free slot"));
        }
    }

    /**
     * The request got past admission (or left the queue): the wait's timer, if any, is cancelled,
     * and a later wait (a retry's) is a new one, with its own place, limit and timeout.
     */
    synchronized void leave() {
        if (timer != null) {
            timer.cancel();
            timer = null;
        }
        queued = false;
        expired = false;
    }

    private RouterException busy(Snapshot s, String why) {
        int retryAfter = (int) Math.max(1, (s.settings.queueTimeout().toMillis() + 999) / 1000);
        return new BackendsBusyException(model, why, s.total, s.healthy, s.open, retryAfter);
    }
}
