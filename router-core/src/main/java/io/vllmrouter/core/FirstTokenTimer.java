package io.vllmrouter.core;

import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.api.transport.TransportException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;

/**
 * One streamed attempt's {@code first_token_timeout}: from sending the request until its first SSE
 * data event (vLLM sends a stream's headers at once, so the headers alone prove nothing). When it runs
 * out it cancels the call, if the headers have not come, or abandons the {@link SseRelay} holding the
 * body, and the attempt fails with {@link #timeout()}. When the request's deadline comes first the
 * timer runs to the deadline instead ({@link #isDeadline()}), which is a 504, not a retry.
 * Non-streaming requests have none: vLLM sends their headers only once the whole answer is done.
 *
 * <p>The timer is {@linkplain #handOver handed over} when the answer starts: it then runs the body's
 * expiry at the request's deadline instead, so that an attempt keeps one scheduled task, not two. A
 * deadline timer runs it when it comes; a first-token timer, when it comes, schedules the expiry for
 * what is left of the request's time (only answers still running after {@code first_token_timeout}
 * get a second task).
 *
 * <p>Threads: started on the attempt's thread, fired on the scheduler's, told of the relay on the
 * transport's; the state and the relay are volatile and each side looks at the other's after setting
 * its own, so a relay that starts holding as the timer fires is abandoned either way. Firing and
 * handing over race on one compare-and-set: exactly one of them wins.
 */
final class FirstTokenTimer {

    private static final int ARMED = 0;
    private static final int FIRED = 1;
    private static final int HANDED_OVER = 2;
    private static final java.lang.invoke.VarHandle STATE;

    static {
        try {
            STATE = java.lang.invoke.MethodHandles.lookup().findVarHandle(FirstTokenTimer.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Scheduler scheduler;
    private final Duration wait;
    private final boolean deadline;
    /** The request's time left when this timer comes: zero for a deadline timer. */
    private final Duration afterWait;
    private final CompletableFuture<?> call;
    /** The scheduled task: this timer's, then the expiry's when a first-token timer handed over came. */
    private volatile Scheduler.Cancellable task;
    /** Set by {@link #cancel}: a task scheduled as it ran is cancelled by whoever comes second. */
    private volatile boolean cancelled;
    private volatile int state = ARMED;
    /** What runs at the deadline once handed over; written before the state says so. */
    private volatile Runnable then;
    /** What runs instead when the scheduler, closed, refuses the rest of the deadline. */
    private volatile Runnable stopped;
    private volatile SseRelay relay;

    private FirstTokenTimer(Scheduler scheduler, Duration wait, Duration remaining, boolean deadline, CompletableFuture<?> call) {
        this.scheduler = scheduler;
        this.wait = wait;
        this.deadline = deadline;
        this.afterWait = deadline ? Duration.ZERO : remaining.minus(wait);
        this.call = call;
        this.task = scheduler.schedule(this::fire, wait);
    }

    /**
     * Starts the timer for a call sent with {@code remaining} until the request's deadline.
     *
     * @param firstToken the configured {@code first_token_timeout}, or null for none
     */
    static FirstTokenTimer start(Scheduler scheduler, Duration firstToken, Duration remaining, CompletableFuture<?> call) {
        boolean deadline = firstToken == null || firstToken.compareTo(remaining) >= 0;
        return new FirstTokenTimer(scheduler, deadline ? remaining : firstToken, remaining, deadline, call);
    }

    private void fire() {
        if (!STATE.compareAndSet(this, ARMED, FIRED)) {
            if (state == HANDED_OVER) {
                if (deadline) {
                    then.run();
                } else if (!cancelled) {
                    Scheduler.Cancellable next;
                    try {
                        next = scheduler.schedule(then, afterWait);
                    } catch (java.util.concurrent.RejectedExecutionException e) {
                        stopped.run();  // the scheduler is closed: the answer ends now rather than untimed
                        return;
                    }
                    task = next;
                    if (cancelled) {
                        next.cancel(); // cancel() ran meanwhile and may have seen the old task
                    }
                }
            }
            return;
        }
        // State first: the cancel completes the call, whose callback must see why.
        call.cancel(true);
        SseRelay r = relay;
        if (r != null) {
            r.abandon(timeout());
        }
    }

    /** The headers came and the body is being held until its first event; abandoned at once if the timer ran out. */
    void holding(SseRelay r) {
        relay = r;
        if (fired()) {
            r.abandon(timeout());
        }
    }

    /** The first event, or the attempt's end, came: the timer stops (handed over: the body's deadline stops). */
    void cancel() {
        cancelled = true;
        task.cancel();
    }

    /**
     * The answer started: the timer goes on as the body's deadline, running {@code expiry} at the
     * request's deadline instead of failing the attempt, or {@code stopped} at once if the closed
     * scheduler refuses to time the rest. False when it already fired or was cancelled.
     */
    boolean handOver(Runnable expiry, Runnable stopped) {
        if (cancelled) {
            return false;
        }
        this.stopped = stopped;
        then = expiry;
        return STATE.compareAndSet(this, ARMED, HANDED_OVER);
    }

    /** Whether the timer ran out (before being handed over). */
    boolean fired() {
        return state == FIRED;
    }

    /** Whether the timer is the request's deadline (no time would be left for another backend). */
    boolean isDeadline() {
        return deadline;
    }

    /** The failure, in words: {@code "no first token within 5000 ms"}. */
    String describe() {
        return "no first token within " + wait.toMillis() + " ms";
    }

    /** The failure the attempt ends with. */
    TransportException timeout() {
        return new TransportException(TransportException.Kind.TIMEOUT, describe(), null);
    }
}
