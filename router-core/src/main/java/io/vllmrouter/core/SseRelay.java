package io.vllmrouter.core;

import io.vllmrouter.api.BodyChunk;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Flow;
import java.util.function.Consumer;

/**
 * A streamed answer's body between the transport and the caller. It starts by holding: it reads
 * (keeping each chunk, which it owns meanwhile) until the first {@code data:} event has arrived,
 * and only then says that the answer may go to the caller. vLLM
 * sends a stream's headers before any token, so a backend that stalls after its headers, fails, or
 * opens with an in-band error event is a failure before anything reached the caller: the request is
 * tried elsewhere like any other. Then, as the caller's publisher, it passes the held chunks and
 * every later chunk on as they come (no copy: each chunk's ownership goes on with it; held chunks
 * of a start that failed, and a chunk that arrives after the end, are released here). Only a cut
 * inside a chunk (an error event, watching) copies the bytes before it.
 *
 * <pre>{@code
 * SseRelay relay = new SseRelay(response.body(), true, r -> answer(r), cause -> retry(cause));
 * relay.start();                  // then one of the two, once
 * relay.subscribe(callerBody);    // after the first
 * }</pre>
 *
 * <p>Watching (streams that are not resumed elsewhere): an event carrying an {@code "error"} object
 * is passed on and ends the stream as a failure ({@link InBandError}), whatever follows it (vLLM sends
 * {@code [DONE]}), so the cut never looks like a complete answer; a connection lost after
 * {@code [DONE]} passed is a complete answer, not a failure. After the first data event it reads
 * each chunk's last two events and the event under way at its end, not every event: vLLM ends a
 * failed stream with its error event and {@code [DONE]}, and sends nothing after them
 * ({@link StreamWatch}). Without watching ({@link ResumableStream}
 * reads the events itself) chunks pass untouched.
 *
 * <p>Threads: upstream signals come one at a time from the transport; the caller's {@code request}
 * and {@code cancel}, and {@link #abandon} from a timer, may come from any thread. State changes take
 * this object's monitor (one per request); no subscriber is called while holding it.
 */
final class SseRelay implements Flow.Publisher<BodyChunk>, Flow.Subscriber<BodyChunk> {

    private enum Phase { HOLDING, RELEASED, FAILED }

    private final Flow.Publisher<BodyChunk> upstreamBody;
    private final boolean watch;
    private final Consumer<SseRelay> arrived;
    private final Consumer<Throwable> failed;
    private final StreamWatch seen;
    private boolean endsWithDone;

    private Phase phase = Phase.HOLDING;
    private Flow.Subscription upstream;
    private boolean cancelled;

    // holding (transport thread only, until released)
    /** The chunks read so far, owned here until passed on or released (guarded by the monitor). */
    private List<BodyChunk> held = new ArrayList<>(2);
    private long heldBytes;

    // released
    private Flow.Subscriber<? super BodyChunk> downstream;
    /** The held bytes still to be passed on. */
    private boolean heldPending;
    /** An end that came before the held bytes were passed on: EOF, or the Throwable. */
    private Object pendingEnd;
    private boolean emitting;
    /** Demand asked while the held bytes were being passed on, forwarded upstream after them. */
    private long demandWhileEmitting;
    private boolean ended;

    private static final Object EOF = new Object();

    /**
     * How the start went is told once, on the transport's thread or on the thread calling {@link #abandon}.
     *
     * @param body    the backend's body, not yet subscribed
     * @param watch   whether to watch for the in-band error and {@code [DONE]} after the start
     * @param arrived hears that the first data event arrived: the answer may go to the caller
     * @param failed  hears that no data event came: the body failed or ended, opened with an error
     *                event, or was abandoned
     */
    SseRelay(Flow.Publisher<BodyChunk> body, boolean watch, Consumer<SseRelay> arrived,
             Consumer<Throwable> failed) {
        this.upstreamBody = Objects.requireNonNull(body, "body");
        this.watch = watch;
        this.seen = new StreamWatch(watch);
        this.arrived = Objects.requireNonNull(arrived, "arrived");
        this.failed = Objects.requireNonNull(failed, "failed");
    }

    /** Subscribes to the backend's body and reads until the first data event. */
    void start() {
        upstreamBody.subscribe(this);
    }

    /**
     * Gives up on a body still held (the first-token timer ran out, the caller left): the upstream
     * request is cancelled and the failure callback hears {@code cause}. Nothing happens once the
     * start was told.
     */
    void abandon(Throwable cause) {
        Flow.Subscription s;
        List<BodyChunk> drop;
        synchronized (this) {
            if (phase != Phase.HOLDING) {
                return;
            }
            phase = Phase.FAILED;
            cancelled = true;
            s = upstream;
            drop = takeHeld();
        }
        HeldChunks.release(drop);
        if (s != null) {
            s.cancel();
        }
        failed.accept(cause);
    }

    // ---------------------------------------------------------------- from the backend

    @Override
    public void onSubscribe(Flow.Subscription s) {
        boolean cancel;
        synchronized (this) {
            upstream = s;
            cancel = cancelled;
        }
        if (cancel) {
            s.cancel();
        } else {
            s.request(1);
        }
    }

    @Override
    public void onNext(BodyChunk item) {
        Phase p;
        synchronized (this) {
            p = phase;
        }
        if (p == Phase.HOLDING) {
            hold(item);
        } else if (p == Phase.RELEASED) {
            pass(item);
        } else {
            item.release();
        }
    }

    @Override
    public void onError(Throwable t) {
        if (!failWhileHolding(t)) {
            end(seen.doneSeen() ? EOF : t);
        }
    }

    @Override
    public void onComplete() {
        if (!failWhileHolding(null)) {
            end(watch && endsWithDone && !seen.doneSeen() ? new IOException("the backend ended the stream before data: [DONE]")
                    : EOF);
        }
    }

    /**
     * The stream is an OpenAI completion stream (chat or text), which ends with {@code data: [DONE]}:
     * a clean end of the body before it (a server shutting down) is a cut, not a complete answer.
     * Call before {@link #start()}.
     */
    SseRelay endsWithDone() {
        endsWithDone = true;
        return this;
    }

    /**
     * While holding, an end of the body ({@code cause}, or null for a clean end) is the start's
     * failure; returns whether it was.
     */
    private boolean failWhileHolding(Throwable cause) {
        List<BodyChunk> drop;
        synchronized (this) {
            if (phase == Phase.FAILED) {
                return true;
            }
            if (phase != Phase.HOLDING) {
                return false;
            }
            phase = Phase.FAILED;
            drop = takeHeld();
        }
        HeldChunks.release(drop);
        failed.accept(cause != null ? cause : new IOException("the backend ended the stream before its first event"));
        return true;
    }

    /** Holding: keeps the chunk, looks for the first data event, and asks for more or tells how the start went. */
    private void hold(BodyChunk item) {
        List<ByteBuffer> buffers = item.buffers();
        int cutBuffer = -1;
        int cutAt = -1;
        for (int i = 0; i < buffers.size(); i++) {
            int stop = seen.read(buffers.get(i));
            if (seen.errorFirst() || seen.errorSeen()) {
                cutBuffer = i;
                cutAt = stop;
                break;
            }
        }
        heldBytes += item.length();
        Flow.Subscription s;
        Runnable tell = null;
        List<BodyChunk> drop = null;
        synchronized (this) {
            if (phase != Phase.HOLDING) {
                item.release();     // abandoned meanwhile: the held chunks went, the cancel has gone upstream
                return;
            }
            held.add(item);
            s = upstream;
            if (seen.errorFirst()) {
                phase = Phase.FAILED;
                cancelled = true;
                drop = takeHeld();
                tell = () -> failed.accept(new InBandError("the backend's first event was an error event"));
            } else if (seen.firstData() || heldBytes > SseParser.MAX_EVENT_BYTES) {
                // A first event longer than a held one may be is passed on as it comes.
                phase = Phase.RELEASED;
                heldPending = true;
                if (seen.errorSeen()) {
                    List<BodyChunk> all = takeHeld();
                    held = new ArrayList<>(1);
                    held.add(HeldChunks.copyUpTo(all, all.size() - 1, cutBuffer, cutAt));
                    pendingEnd = new InBandError("the backend sent an error event");
                    cancelled = true;
                }
                tell = () -> arrived.accept(this);
            }
        }
        HeldChunks.release(drop);
        if (tell == null) {
            s.request(1);
            return;
        }
        if (cancelled()) {
            s.cancel();
        }
        tell.run();
    }

    /** The held chunks, handed over by the monitor's holder; none are held after. */
    private List<BodyChunk> takeHeld() {
        List<BodyChunk> h = held;
        held = null;
        return h;
    }

    private synchronized boolean cancelled() {
        return cancelled;
    }

    /** Released: a chunk goes on as it is, unless (watching) it holds an error event. */
    private void pass(BodyChunk item) {
        Flow.Subscriber<? super BodyChunk> d;
        synchronized (this) {
            if (ended) {
                item.release();
                return;
            }
            d = downstream;
        }
        if (!watch) {
            d.onNext(item);
            return;
        }
        List<ByteBuffer> buffers = item.buffers();
        for (int i = 0; i < buffers.size(); i++) {
            int stop = seen.read(buffers.get(i));
            if (seen.errorSeen()) {
                errorInChunk(d, item, i, stop);
                return;
            }
        }
        d.onNext(item);
    }

    /**
     * The error event ends at {@code cut} in buffer {@code index}: the bytes up to it are copied and the
     * chunk released, the upstream request is cancelled, and the caller gets those bytes and then the
     * failure.
     */
    private void errorInChunk(Flow.Subscriber<? super BodyChunk> d, BodyChunk chunk, int index, int cut) {
        BodyChunk copy = HeldChunks.copyUpTo(List.of(chunk), 0, index, cut);
        Flow.Subscription s;
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            cancelled = true;
            s = upstream;
        }
        s.cancel();
        d.onNext(copy);
        d.onError(new InBandError("the backend sent an error event"));
    }

    // ---------------------------------------------------------------- to the caller

    @Override
    public void subscribe(Flow.Subscriber<? super BodyChunk> subscriber) {
        Objects.requireNonNull(subscriber, "subscriber");
        synchronized (this) {
            if (phase != Phase.RELEASED || downstream != null) {
                throw new IllegalStateException("the body is not ready or already subscribed");
            }
            downstream = subscriber;
        }
        subscriber.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
                requested(n);
            }

            @Override
            public void cancel() {
                Flow.Subscription s;
                List<BodyChunk> drop = null;
                synchronized (SseRelay.this) {
                    ended = true;
                    cancelled = true;
                    s = upstream;
                    if (heldPending) {
                        heldPending = false;
                        drop = takeHeld();  // never passed on
                    }
                }
                HeldChunks.release(drop);
                if (s != null) {
                    s.cancel();
                }
            }
        });
    }

    private void requested(long n) {
        if (n <= 0) {
            end(new IllegalArgumentException("request(" + n + "): expected > 0"));
            return;
        }
        Flow.Subscriber<? super BodyChunk> d;
        Flow.Subscription s;
        boolean emitHeld;
        BodyChunk heldChunk = null;
        synchronized (this) {
            if (ended) {
                return;
            }
            if (emitting) {
                // on this thread from inside onNext, or on another: forwarded once the held bytes are out
                demandWhileEmitting = demandWhileEmitting + n < 0 ? Long.MAX_VALUE : demandWhileEmitting + n;
                return;
            }
            d = downstream;
            s = upstream;
            emitHeld = heldPending;
            if (emitHeld) {
                emitting = true;
                heldPending = false;
                heldChunk = HeldChunks.asOne(takeHeld());
                n--;
            }
        }
        if (emitHeld) {
            d.onNext(heldChunk);
            Object end;
            synchronized (this) {
                emitting = false;
                end = pendingEnd;
                n = n + demandWhileEmitting < 0 ? Long.MAX_VALUE : n + demandWhileEmitting;
                demandWhileEmitting = 0;
            }
            if (end != null) {
                deliver(end);
                return;
            }
        }
        if (n > 0 && s != null && !cancelled()) {
            s.request(n);
        }
    }

    /** The upstream ended after the start: passed on, after the held bytes if they are still pending. */
    private void end(Object end) {
        synchronized (this) {
            if (ended) {
                return;
            }
            if (heldPending || emitting || downstream == null) {
                if (pendingEnd == null) {
                    pendingEnd = end;
                }
                return;
            }
        }
        deliver(end);
    }

    private void deliver(Object end) {
        Flow.Subscriber<? super BodyChunk> d;
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            d = downstream;
        }
        if (end == EOF) {
            d.onComplete();
        } else {
            Throwable t = (Throwable) end;
            d.onError(t instanceof CancellationException ? new IOException("cancelled", t) : t);
        }
    }
}
