package io.vllmrouter.core;

import io.github.resilience4j.retry.Retry;
import io.vllmrouter.api.HeaderMap;
import io.vllmrouter.api.InvalidRequestException;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.RejectedExecutionException;

/**
 * One routed request: picks a backend from the published {@link Snapshot}, sends through the
 * {@link io.vllmrouter.api.transport.Transport}, retries failures that happened before anything
 * reached the caller, and reports the request's end once. It knows the router only through its
 * {@link Forwarder} (snapshot, clock, scheduler, listener, transport).
 *
 * <p>Retry rules, for any transport (docs/resilience.md): before anything reached the caller, a
 * connect failure, a reset, a status in {@code retry_on_status} and, for a stream, no first data
 * event within {@code first_token_timeout} or an in-band error as its first event ({@link
 * FirstTokenTimer}, {@link SseRelay}: the caller's response waits for that first event) are retried
 * on another backend while the retry policy and the request's deadline allow; when every attempt
 * failed the caller gets a 502 naming them, never a backend's error page. Nothing by the request's
 * deadline is 504; a non-streaming request is bounded by its deadline only, since vLLM sends its
 * headers when the whole answer is done. After the answer started nothing is retried here.
 *
 * <p>Breaker accounting: only the backend's own failures count against it. A 429 is load (retried,
 * not counted), 4xx answers are successes, a cancelled caller and the router's own errors (an
 * {@link Error} such as OutOfMemoryError, a rejected task) count for nothing; {@link Failures} keeps
 * what the attempts told and judges the query of death. {@link AdmissionWait} holds the optional
 * admission queue's wait, {@link RequestReport} the request's one report, and a stream that may
 * resume elsewhere is handed to {@link ResumableStream}.
 *
 * <p>Attempts run one after another (each starts from the previous one's callback), so the
 * mutable fields need no lock: each attempt's start happens-after the previous one's end.
 */
final class Exchange {

    private static final System.Logger LOG = System.getLogger(Exchange.class.getName());

    private final Forwarder forwarder;
    private final RouterRequest request;
    private final RequestInfo info;
    private final String requestId;
    private final long startNanos;
    private final Duration timeout;
    private final long deadlineNanos;
    private final Retry.AsyncContext<Object> retry;
    final CompletableFuture<RouterResponse> result = new CompletableFuture<>();

    private final Failures failures;
    private final RequestReport report;
    private final AdmissionWait admission;
    /** Where a Responses API request must go, or null for any other request. */
    private final ResponsesRoute responses;

    /** The body sent: the caller's, or a stream continuation's. */
    private byte[] body;
    /** The attempt whose body the caller is reading (changes when a stream resumes). */
    private volatile Attempt current;
    /** Set when the answer may resume on another backend ({@code stream_failover}), from the start. */
    private final ResumableStream resumable;
    private StreamingBody streamingBody;
    /** A continuation is being sought: successes feed the stream, failures end it. */
    private boolean resumeMode;
    private int resumesLeft;
    private Throwable streamCause;

    private volatile CompletableFuture<?> call;
    /** A stream's body held until its first event, so that a caller's cancel reaches it; else null. */
    private volatile SseRelay holding;
    /** The thread (or event loop) this request started on, for a wake-up from elsewhere. */
    private final java.util.concurrent.Executor home;
    /** The request's time-to-first-token objective in seconds ({@link SloGate}); NaN when it has none. */
    private double ttftObjective = Double.NaN;

    Exchange(Forwarder forwarder, RouterRequest request, RequestInfo info, String requestId,
             Duration timeout, Retry retry) {
        this.forwarder = forwarder;
        this.request = request;
        this.info = info;
        this.requestId = requestId;
        this.startNanos = forwarder.ticker().nanoTime();
        this.timeout = timeout;
        this.deadlineNanos = startNanos + timeout.toNanos();
        this.retry = retry.asyncContext();
        this.resumable = ResumableStream.forRequest(forwarder.snapshot().settings, request, info,
                new ResumableStream.Resumer() {
                    @Override
                    public boolean resume(byte[] body, Throwable cause) {
                        return Exchange.this.resume(body, cause);
                    }

                    @Override
                    public void callerLeft() {
                        // A continuation being started: the backend stops and its slot is given
                        // back now, not at its first token or first_token_timeout.
                        stopCall(new CancellationException("the caller left during a stream failover"));
                    }
                });
        this.body = resumable != null ? resumable.body() : request.body();
        this.failures = new Failures(info.model());
        this.report = new RequestReport(forwarder, info, requestId, startNanos, failures);
        this.admission = new AdmissionWait(forwarder, this, info.model(), this::fail);
        this.home = forwarder.scheduler().callerExecutor();
        this.responses = ResponsesRoute.of(request, forwarder.responses());
        result.whenComplete((r, t) -> {
            if (t instanceof CancellationException) {
                if (forwarder.dequeue(this)) {
                    // Cancelled while waiting for a slot: no attempt will run to report it.
                    admission.leave();
                    report.cancelled(null);
                }
                stopCall(t);
            }
        });
    }

    CompletableFuture<RouterResponse> start() {
        forwarder.listener().onRequestStart(requestId, info.model(), request);
        try {
            ttftObjective = SloGate.objective(request, info.model(), forwarder.snapshot().settings.ttftSlo());
        } catch (RouterException e) {
            fail(e);
            return result;
        }
        attempt();
        return result;
    }

    /**
     * The next attempt, or the request's failure. A request scheduler closed under the request (the
     * router stopping) fails it here, with its place in the queue and its backend's slot given back
     * by whoever held them when the timer was refused.
     */
    private void attempt() {
        try {
            tryNext();
        } catch (RejectedExecutionException e) {
            fail(failures.stopping(e, forwarder.snapshot()));
        }
    }

    /**
     * Whether the request ended before this attempt could go on (a caller that left is reported
     * here, once whoever comes first); a continuation goes on whatever the request's result.
     */
    private boolean endedMeanwhile() {
        if (!result.isDone() || resumeMode) {
            return false;
        }
        if (result.isCancelled()) {
            report.cancelled(null);
        }
        return true;
    }

    private void tryNext() {
        if (endedMeanwhile()) {
            return;
        }
        if (resumeMode && resumable.abandoned()) {
            return; // no continuation for a stream nobody reads (its end reported the request)
        }
        Snapshot snap = forwarder.snapshot();
        List<Backend> candidates = responses == null ? snap.candidates(info.model(), request.path())
                : responses.candidates(snap.candidates(info.model()));
        if (failures.triedAny() && !candidates.isEmpty()) {
            // Never where the request may have run already; untried backends before those that
            // refused it outright (connection refused, 429, 503), which may take it now.
            List<Backend> fresh = new ArrayList<>(candidates.size());
            List<Backend> again = new ArrayList<>(candidates.size());
            for (Backend b : candidates) {
                if (!failures.tried(b)) {
                    fresh.add(b);
                } else if (!failures.mayHaveRunOn(b)) {
                    again.add(b);
                }
            }
            candidates = fresh.isEmpty() ? again : fresh;
        }
        Snapshot.Settings settings = snap.settings;
        if (!candidates.isEmpty() && !info.tokens().ready(settings.prompts(), candidates, forwarder.scheduler(), this::attempt)) {
            return;   // tokenizing: attempt() runs again once the tokens came or their wait ran out
        }
        if (settings.maxInFlightFactor() > 0 && !candidates.isEmpty() && !resumeMode) {
            candidates = AdmissionWait.unsaturated(candidates, settings.maxInFlightFactor());
            if (candidates.isEmpty()) {
                admission.waitOrRefuse(snap);
                return;
            }
        }
        admission.leave();
        if (endedMeanwhile()) {
            return;     // while it was being woken: its queue timer refused, or its caller left
        }
        if (!Double.isNaN(ttftObjective) && !candidates.isEmpty() && !resumeMode) {
            try {
                candidates = SloGate.meeting(candidates, info.size(), ttftObjective, info.model(), snap);
            } catch (RouterException e) {
                fail(e);
                return;
            }
        }
        Attempt a = candidates.isEmpty() ? null
                : snap.pick(candidates, info, failures.attempts() + 1, forwarder.random(), forwarder.ticker());
        if (a != null && settings.maxInFlightFactor() > 0) {
            a.onRelease = forwarder::wakeOne;
        }
        if (a == null) {
            fail(failures.attempts() == 0 ? snap.unavailable(info.model()) : failures.exhausted(snap));
            return;
        }
        failures.attempted(a.backend);
        long remaining = deadlineNanos - forwarder.ticker().nanoTime();
        if (remaining <= 0) {
            a.end(Attempt.Result.CANCELLED, null);
            fail(failures.timedOut(a.backend, timeout, forwarder.snapshot()));
            return;
        }
        Duration left = Duration.ofNanos(remaining);
        UpstreamRequest upstream;
        try {
            upstream = upstreamRequest(a);
        } catch (IllegalArgumentException e) {
            a.end(Attempt.Result.CANCELLED, null);
            fail(new InvalidRequestException("Cannot forward the request: " + e.getMessage(), e));
            return;
        }
        CompletableFuture<UpstreamResponse> f;
        try {
            f = forwarder.transport().send(upstream);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);     // a transport that broke its contract
        }
        call = f;
        if (result.isCancelled() || (resumeMode && resumable.abandoned())) {
            f.cancel(true); // left while it was being sent, before there was a call to stop
        }
        // The one timer on the wait for the answer to start (transports keep none): a stream's first
        // token within first_token_timeout; anything else by the request's deadline.
        FirstTokenTimer timer;
        try {
            timer = f.isCompletedExceptionally() ? null : FirstTokenTimer.start(forwarder.scheduler(),
                    info.stream() ? snap.settings.firstByteTimeout() : null, left, f);
        } catch (RejectedExecutionException e) {
            if (!f.cancel(true)) {  // never left untimed; an answer that came meanwhile is discarded
                f.thenAccept(r -> r.body().subscribe(StreamingBody.DISCARD));
            }
            a.end(Attempt.Result.CANCELLED, null);
            throw e;
        }
        f.whenComplete((resp, err) -> {
            try {
                if (err != null) {
                    attemptFailed(a, timer, err);
                } else {
                    onResponse(a, timer, resp);
                }
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.ERROR, "request " + requestId + ": unexpected error", e);
                a.end(Attempt.Result.CANCELLED, null);
                fail(new UpstreamException(info.model(), failures.attempts(), a.backend.id(), e, 0, 0, 0));
            }
        });
    }

    /** The caller left: the call in flight is cancelled and a body held for its first token abandoned. */
    private void stopCall(Throwable why) {
        CompletableFuture<?> c = call;
        if (c != null) {
            c.cancel(true);
        }
        SseRelay h = holding;
        if (h != null) {
            h.abandon(why);
        }
    }

    /**
     * A slot was freed while this request waited: it tries again, on its own thread where the
     * request scheduler has one ({@link io.vllmrouter.api.time.Scheduler#callerExecutor}), not on the
     * thread that freed the slot. False when that thread refused it (stopping): the request failed,
     * and the slot is the next waiter's.
     */
    boolean wake() {
        try {
            home.execute(() -> {
                CompletableFuture<?> before = call;
                attempt();
                if (call == before && result.isDone() && !resumeMode) {
                    // Ended without taking the freed slot (its caller left before its turn, or it was
                    // refused past admission): the slot is the next waiter's.
                    forwarder.wakeOne();
                }
            });
        } catch (RejectedExecutionException e) {
            // Its thread is stopping: the request fails here, and the slot is the next waiter's.
            admission.leave();
            fail(failures.stopping(e, forwarder.snapshot()));
            return false;
        }
        return true;
    }

    /**
     * Attempt {@code a}'s request: URL, key, the caller's end-to-end headers, the listener's (a trace
     * context) and the request id.
     */
    private UpstreamRequest upstreamRequest(Attempt a) {
        HeaderMap.Builder headers = Headers.request(request.headers(), a.backend.apiKey());
        if (forwarder.hearsAttempts()) {
            a.traced(forwarder.listener(), requestId, failures.attempts());
            forwarder.listener().onAttemptStart(requestId, a.backend.id(), failures.attempts(), headers::set);
        }
        return new UpstreamRequest(a.backend.url(), request.path(), request.method(),
                RequestIdHeader.set(headers, requestId), body);
    }

    /**
     * The attempt failed before the answer started: the backend's failure (retried elsewhere), the
     * deadline (504), the caller's cancel, or the router's own error.
     */
    private void attemptFailed(Attempt a, FirstTokenTimer timer, Throwable err) {
        if (timer != null) {
            timer.cancel();
        }
        Throwable cause = Failures.unwrap(err);
        if (timer != null && timer.fired() && cause instanceof CancellationException && (!result.isDone() || resumeMode)) {
            // Given up after the first-token timeout: the call is cancelled (the slot is released
            // only now that it is), the backend is blamed, and another one is tried.
            cause = timer.timeout();
        } else if (result.isCancelled() || cause instanceof CancellationException) {
            a.end(Attempt.Result.CANCELLED, null);
            report.cancelled(a.backend);
            return;
        }
        if (!(cause instanceof TransportException te && te.nothingSent())) {
            failures.mayHaveRun(a.backend); // sent: it may have run there, so never there again
        }
        if (cause instanceof TransportException te && te.kind() == TransportException.Kind.TIMEOUT) {
            if (timer == null || !timer.fired() || timer.isDeadline()) {
                // Nothing by the request's deadline: no time is left for another backend.
                a.end(Attempt.Result.FAILURE, cause);
                fail(failures.timedOut(a.backend, timeout, forwarder.snapshot()));
                return;
            }
            backendFailed(a, cause, timer.describe(), timer.describe());
            return;
        }
        String kind = Failures.kind(cause);
        if (kind != null) {
            backendFailed(a, cause, kind, cause instanceof InBandError ? cause.getMessage() : TransportException.describe(cause));
            return;
        }
        // Not the backend's doing (an Error such as OutOfMemoryError, a rejected task, a bug): its
        // breaker hears nothing and no other backend is tried.
        a.end(Attempt.Result.CANCELLED, null);
        LOG.log(System.Logger.Level.WARNING, "request " + requestId + ": the router failed to forward it", cause);
        fail(failures.routerFailed(cause, forwarder.snapshot()));
    }

    /** The headers arrived: a retried status, a stream held until its first event, or the answer. */
    private void onResponse(Attempt a, FirstTokenTimer timer, UpstreamResponse resp) {
        int status = resp.status();
        a.status = status;
        if (!resumeMode && responses != null
                && responses.notHere(a, resp, forwarder.snapshot().candidates(info.model()), failures)) {
            if (timer != null) {
                timer.cancel();
            }
            attempt();          // a 404 while looking a stored response up: the next server is asked
            return;
        }
        boolean notAnAnswer = resumeMode ? status != 200 : forwarder.snapshot().settings.retryOnStatus().contains(status);
        boolean hold = timer != null && status == 200 && !notAnAnswer && Headers.isEventStream(resp.headers());
        if (notAnAnswer) {
            if (timer != null) {
                timer.cancel();
            }
            statusFailed(a, status, resp);
            return;
        }
        if (!hold) {
            started(a, resp, resp.body(), timer);
            return;
        }
        SseRelay relay = new SseRelay(resp.body(), resumable == null, r -> {
            holding = null;
            started(a, resp, r, timer);
        }, cause -> {
            holding = null;
            attemptFailed(a, timer, cause);
        });
        String path = request.path();
        if (path.startsWith("/v1/chat/completions") || path.startsWith("/v1/completions")) {
            relay.endsWithDone();
        }
        holding = relay;
        timer.holding(relay);
        relay.start();
    }

    /** A status that is not an answer: retried (a 429 as load), or a continuation's failure. */
    private void statusFailed(Attempt a, int status, UpstreamResponse resp) {
        resp.body().subscribe(StreamingBody.DISCARD);   // never passed on: the caller gets a retry or our 502
        IOException cause = new IOException("backend answered " + status);
        if (status != 429 && status != 503) {
            failures.mayHaveRun(a.backend); // refusals run nothing; any other error may have
        }
        if (resumeMode) {
            a.end(status == 429 || status < 500 ? Attempt.Result.CANCELLED : Attempt.Result.FAILURE, cause);
            failures.lastFailure("status " + status, a.backend);
            retryOrFail(a.backend, cause, "status " + status);
        } else if (status == 429) {
            // The backend is overloaded, not broken: load, not a breaker failure.
            failures.busy(a.backend);
            a.end(Attempt.Result.CANCELLED, null);
            retryOrFail(a.backend, cause, "status 429");
        } else {
            backendFailed(a, cause, "status " + status, "status " + status);
        }
    }

    /**
     * How long a timed stream's backend may send nothing before the deadline finds it stalled: as
     * long as the stream could wait for its first token.
     */
    private long stallNanos() {
        Duration firstToken = forwarder.snapshot().settings.firstByteTimeout(); // the config's, never null
        return (firstToken.compareTo(timeout) > 0 ? timeout : firstToken).toNanos();
    }

    /**
     * The answer starts (for a stream, its first event arrived): it goes to the caller, or, for a
     * continuation, on in the caller's stream.
     */
    private void started(Attempt a, UpstreamResponse resp, Flow.Publisher<BodyChunk> upstreamBody, FirstTokenTimer timer) {
        int status = resp.status();
        if (timer != null && resumeMode) {
            timer.cancel();
        }
        a.backend.counters.headersArrived(forwarder.ticker().nanoTime() - a.startNanos);
        if (resumeMode) {
            resumeMode = false;
            current = a;
            report.resumed();
            if (streamingBody.isEnded()) {
                a.end(Attempt.Result.CANCELLED, null);     // the caller left meanwhile
                upstreamBody.subscribe(StreamingBody.DISCARD);
                return;
            }
            resumable.resumed(upstreamBody);
            return;
        }
        retry.onComplete();
        if (responses != null) {
            upstreamBody = responses.answered(a.backend, resp, upstreamBody);
        }
        long headersAt = forwarder.ticker().nanoTime() - startNanos;
        Scheduler.Cancellable[] deadline = new Scheduler.Cancellable[1];
        current = a;
        ResumableStream resuming = status == 200 ? resumable : null;
        // A stream relayed whole from one backend also times that backend (its speed estimate).
        StreamTiming timing = resuming == null && status == 200 && info.stream()
                ? StreamTiming.of(a, info.size().promptTokens(), forwarder.ticker()) : null;
        StreamingBody body = new StreamingBody((outcome, cause, bytes) -> {
            Scheduler.Cancellable d = deadline[0];
            if (d != null) {
                d.cancel();
            }
            if (timing != null && outcome == StreamingBody.Outcome.COMPLETED) {
                timing.completed();
            }
            report.bodyEnded(current, status, outcome, cause, headersAt, bytes);
        }, timing, stallNanos());
        streamingBody = body;
        HeaderMap headers = HeaderMap.copyOf(resp.headers()); // a transport's other map is copied once, not per question
        ForwardedResponse response = new ForwardedResponse(status, Headers.response(headers, a.backend.url()),
                resuming == null ? Headers.contentLength(headers) : -1, body,
                a.backend.id(), failures.attempts(), requestId);
        Runnable expire = () -> body.expire("request timed out after " + timeout.toMillis() + " ms");
        if (timer != null && timer.handOver(expire, () -> body.stop("the router is shutting down"))) {
            deadline[0] = timer::cancel;    // the wait's timer goes on to the request's deadline: one task, not two
        } else {
            long remaining = Math.max(0, deadlineNanos - forwarder.ticker().nanoTime());
            try {
                deadline[0] = forwarder.scheduler().schedule(expire, Duration.ofNanos(remaining));
            } catch (RejectedExecutionException e) {
                upstreamBody.subscribe(StreamingBody.DISCARD);  // not passed on untimed: the connection goes back
                a.end(Attempt.Result.CANCELLED, null);
                fail(failures.stopping(e, forwarder.snapshot()));
                return;
            }
        }
        if (body.isEnded()) {
            deadline[0].cancel();
        }
        if (resuming != null) {
            resumesLeft = forwarder.snapshot().settings.streamFailoverMax();
            resuming.subscribe(body);
            resuming.start(upstreamBody);
        } else {
            upstreamBody.subscribe(body);
        }
        if (!result.complete(response)) {
            body.close();
        }
    }

    /**
     * A failure before the headers that is the backend's, unless the same request already failed
     * the same way elsewhere ({@link Failures#QUERY_OF_DEATH}): then it is the request's, and it stops here.
     */
    private void backendFailed(Attempt a, Throwable cause, String kind, String reason) {
        RouterException poisoned = failures.failed(a.backend, cause, kind, forwarder.snapshot());
        if (poisoned != null) {
            a.end(Attempt.Result.CANCELLED, null);
            fail(poisoned);
            return;
        }
        a.end(Attempt.Result.FAILURE, cause);
        retryOrFail(a.backend, cause, reason);
    }

    /**
     * The stream's backend failed mid-answer ({@link ResumableStream}): its attempt ends as a
     * failure, and {@code continuation} is tried on other backends, up to {@code stream_failover_max}.
     */
    private boolean resume(byte[] continuation, Throwable cause) {
        Attempt failed = current;
        if (resumesLeft <= 0 || streamingBody == null || streamingBody.isEnded()) {
            return false;
        }
        failed.end(Attempt.Result.FAILURE, cause);
        failures.mayHaveRun(failed.backend);
        resumesLeft--;
        resumeMode = true;
        streamCause = cause;
        body = continuation;
        forwarder.listener().onRetry(requestId, failed.backend.id(), "stream failover: " + TransportException.describe(cause));
        attempt();
        return true;
    }

    private void retryOrFail(Backend failed, Throwable cause, String reason) {
        if (resumeMode) {
            if (resumesLeft-- > 0 && streamingBody != null && !streamingBody.isEnded()) {
                forwarder.listener().onRetry(requestId, failed.id(), "stream failover: " + reason);
                attempt();
            } else {
                giveUpResuming();
            }
            return;
        }
        failures.lastCause(cause);
        long delayMillis = retry.onError(cause);
        if (delayMillis < 0 || result.isDone()) {
            fail(failures.exhausted(forwarder.snapshot()));
            return;
        }
        forwarder.listener().onRetry(requestId, failed.id(), reason);
        if (delayMillis == 0) {
            attempt();
        } else {
            try {
                forwarder.scheduler().schedule(this::attempt, Duration.ofMillis(delayMillis));
            } catch (RejectedExecutionException e) {
                fail(failures.stopping(e, forwarder.snapshot()));
            }
        }
    }

    /** Fails the request; the record is reported first so listeners see it before the caller does. */
    private void fail(RouterException e) {
        if (resumeMode) {
            giveUpResuming();
            return;
        }
        Backend last = failures.last();
        if (result.isDone()) {
            if (result.isCancelled()) {
                report.cancelled(last);
            }
            return;
        }
        report.failed(e, last);
        result.completeExceptionally(e);
    }

    private void giveUpResuming() {
        resumeMode = false;
        resumable.giveUp(streamCause);
    }

}
