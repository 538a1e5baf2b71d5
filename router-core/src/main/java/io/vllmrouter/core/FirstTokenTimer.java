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
 * <p>Threads: started on the attempt's thread, fired on the scheduler's, told of the relay on the
 * transport's; the flag and the relay are volatile and each side looks at the other's after setting
 * its own, so a relay that starts holding as the timer fires is abandoned either way.
 */
final class FirstTokenTimer {

    private final Duration wait;
    private final boolean deadline;
    private final CompletableFuture<?> call;
    private final Scheduler.Cancellable task;
    private volatile boolean fired;
    private volatile SseRelay relay;

    private FirstTokenTimer(Scheduler scheduler, Duration wait, boolean deadline, CompletableFuture<?> call) {
        this.wait = wait;
        this.deadline = deadline;
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
        return new FirstTokenTimer(scheduler, deadline ? remaining : firstToken, deadline, call);
    }

    private void fire() {
        // Flag first: the cancel completes the call, whose callback must see why.
        fired = true;
        call.cancel(true);
        SseRelay r = relay;
        if (r != null) {
            r.abandon(timeout());
        }
    }

    /** The headers came and the body is being held until its first event; abandoned at once if the timer ran out. */
    void holding(SseRelay r) {
        relay = r;
        if (fired) {
            r.abandon(timeout());
        }
    }

    /** The first event, or the attempt's end, came: the timer stops. */
    void cancel() {
        task.cancel();
    }

    /** Whether the timer ran out. */
    boolean fired() {
        return fired;
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
