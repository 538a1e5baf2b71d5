package io.vllmrouter.core;

import io.github.resilience4j.retry.Retry;
import io.vllmrouter.api.InvalidRequestException;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.core.transport.TransportException;
import io.vllmrouter.core.transport.UpstreamRequest;
import io.vllmrouter.core.transport.UpstreamResponse;
import java.io.IOException;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;

/**
 * One routed request: picks a backend from the published {@link Snapshot}, sends through the
 * {@link io.vllmrouter.core.transport.Transport}, retries failures that happened before anything
 * reached the caller, and reports the request's end once. It knows the router only through its
 * {@link Forwarder} (snapshot, clock, scheduler, listener, transport).
 *
 * <p>Retry rules, for any transport (docs/resilience.md): before anything reached the caller, a
 * connect failure, a reset, no headers within {@code first_byte_timeout} (the upstream call is
 * cancelled) and a status in {@code retry_on_status} are retried on another backend while the retry
 * policy and the request's deadline allow; when every attempt failed the caller gets a 502 naming
 * them, never a backend's error page. No headers by the request's deadline is 504. After the
 * headers nothing is retried here.
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

    /** The body sent: the caller's, or a stream continuation's. */
    private byte[] body;
    /** The attempt whose body the caller is reading (changes when a stream resumes). */
    private volatile Attempt current;
    /** Set when the answer may resume on another backend ({@code stream_failover}). */
    private ResumableStream resumable;
    private StreamingBody streamingBody;
    /** A continuation is being sought: successes feed the stream, failures end it. */
    private boolean resumeMode;
    private int resumesLeft;
    private Throwable streamCause;

    private volatile CompletableFuture<?> call;
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
        this.body = request.body();
        this.failures = new Failures(info.model());
        this.report = new RequestReport(forwarder, info, requestId, startNanos, failures);
        this.admission = new AdmissionWait(forwarder, this, info.model(), this::fail);
        result.whenComplete((r, t) -> {
            if (t instanceof CancellationException) {
                forwarder.dequeue(this);
                CompletableFuture<?> c = call;
                if (c != null) {
                    c.cancel(true);
                }
            }
        });
    }

    CompletableFuture<RouterResponse> start() {
        try {
            ttftObjective = SloGate.objective(request, info.model(), forwarder.snapshot().settings.ttftSlo());
        } catch (RouterException e) {
            fail(e);
            return result;
        }
        attempt();
        return result;
    }

    private void attempt() {
        if (result.isDone() && !resumeMode) {
            if (result.isCancelled()) {
                report.cancelled(null);
            }
            return;
        }
        Snapshot snap = forwarder.snapshot();
        List<Backend> candidates = snap.candidates(info.model());
        if (failures.triedAny() && !candidates.isEmpty()) {
            List<Backend> fresh = new ArrayList<>(candidates.size());
            for (Backend b : candidates) {
                if (!failures.tried(b)) {
                    fresh.add(b);
                }
            }
            if (!fresh.isEmpty()) {
                candidates = fresh;
            }
        }
        Snapshot.Settings settings = snap.settings;
        if (settings.maxInFlightFactor() > 0 && !candidates.isEmpty() && !resumeMode) {
            candidates = AdmissionWait.unsaturated(candidates, settings.maxInFlightFactor());
            if (candidates.isEmpty()) {
                admission.waitOrRefuse(snap);
                return;
            }
        }
        admission.leave();
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
        Duration firstByte = snap.settings.firstByteTimeout();
        boolean deadlineBound = firstByte == null || firstByte.toNanos() >= remaining;
        Duration wait = deadlineBound ? Duration.ofNanos(remaining) : firstByte;
        UpstreamRequest upstream;
        try {
            upstream = upstreamRequest(a.backend, wait);
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
        if (result.isCancelled()) {
            f.cancel(true);
        }
        if (!deadlineBound && !f.isDone()) {
            CompletableFuture<UpstreamResponse> pending = f;
            a.firstByteTimer = forwarder.scheduler().schedule(() -> {
                // Flag first: the cancel completes the call, whose callback must see why.
                a.firstByteTimedOut = true;
                pending.cancel(true);
            }, wait);
        }
        f.whenComplete((resp, err) -> {
            try {
                onResponse(a, resp, err, deadlineBound, wait);
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.ERROR, "request " + requestId + ": unexpected error", e);
                a.end(Attempt.Result.CANCELLED, null);
                fail(new UpstreamException(info.model(), failures.attempts(), a.backend.id(), e, 0, 0, 0));
            }
        });
    }

    /** A slot was freed while this request waited: it tries again (on the freeing thread). */
    void wake() {
        attempt();
    }

    /** The request for {@code b}: its URL and key, the caller's headers without hop-by-hop ones. */
    private UpstreamRequest upstreamRequest(Backend b, Duration remaining) {
        URI uri = URI.create(b.url().toString() + request.path());
        return new UpstreamRequest(uri, request.method(), Headers.request(request.headers(), b.apiKey()),
                body, remaining);
    }

    private void onResponse(Attempt a, UpstreamResponse resp, Throwable err, boolean deadlineBound, Duration wait) {
        Scheduler.Cancellable timer = a.firstByteTimer;
        if (timer != null) {
            timer.cancel();
        }
        if (err != null) {
            Throwable cause = Failures.unwrap(err);
            if (a.firstByteTimedOut && cause instanceof CancellationException && (!result.isDone() || resumeMode)) {
                // Given up after first_byte_timeout: the call is cancelled (the slot is released
                // only now that it is), the backend is blamed, and another one is tried.
                cause = new TransportException(TransportException.Kind.TIMEOUT,
                        "no response headers within " + wait.toMillis() + " ms", null);
            } else if (result.isCancelled() || cause instanceof CancellationException) {
                a.end(Attempt.Result.CANCELLED, null);
                report.cancelled(a.backend);
                return;
            }
            if (cause instanceof TransportException te) {
                if (te.kind() == TransportException.Kind.TIMEOUT && deadlineBound) {
                    // No headers by the request's deadline: no time is left for another backend.
                    a.end(Attempt.Result.FAILURE, cause);
                    fail(failures.timedOut(a.backend, timeout, forwarder.snapshot()));
                    return;
                }
                backendFailed(a, cause, Failures.kind(te, wait), TransportException.describe(cause));
                return;
            }
            if (cause instanceof IOException) {
                backendFailed(a, cause, "connection failed", TransportException.describe(cause));
                return;
            }
            // Not the backend's doing (an Error such as OutOfMemoryError, a rejected task, a bug):
            // its breaker hears nothing and no other backend is tried.
            a.end(Attempt.Result.CANCELLED, null);
            LOG.log(System.Logger.Level.WARNING, "request " + requestId + ": the router failed to forward it", cause);
            fail(failures.routerFailed(cause, forwarder.snapshot()));
            return;
        }
        int status = resp.status();
        long ttfb = forwarder.ticker().nanoTime() - a.startNanos;
        a.backend.counters.headersArrived(ttfb);
        if (resumeMode) {
            continuationAnswered(a, resp, status);
            return;
        }
        if (forwarder.snapshot().settings.retryOnStatus().contains(status)) {
            resp.body().subscribe(StreamingBody.DISCARD);   // never passed on: the caller gets a retry or our 502
            IOException cause = new IOException("backend answered " + status);
            if (status == 429) {
                // The backend is overloaded, not broken: load, not a breaker failure.
                failures.busy(a.backend);
                a.end(Attempt.Result.CANCELLED, null);
                retryOrFail(a.backend, cause, "status 429");
                return;
            }
            backendFailed(a, cause, "status " + status, "status " + status);
            return;
        }
        retry.onComplete();
        long headersAt = forwarder.ticker().nanoTime() - startNanos;
        Scheduler.Cancellable[] deadline = new Scheduler.Cancellable[1];
        current = a;
        ResumableStream resuming = status == 200
                ? ResumableStream.forRequest(forwarder.snapshot().settings, request, info, this::resume) : null;
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
        }, timing);
        streamingBody = body;
        ForwardedResponse response = new ForwardedResponse(status, Headers.response(resp.headers()),
                resuming == null ? Headers.contentLength(resp.headers()) : -1, body,
                a.backend.id(), failures.attempts(), requestId);
        long remaining = Math.max(0, deadlineNanos - forwarder.ticker().nanoTime());
        deadline[0] = forwarder.scheduler().schedule(
                () -> body.expire("request timed out after " + timeout.toMillis() + " ms"), Duration.ofNanos(remaining));
        if (body.isEnded()) {
            deadline[0].cancel();
        }
        if (resuming != null) {
            resumable = resuming;
            resumesLeft = forwarder.snapshot().settings.streamFailoverMax();
            resuming.subscribe(body);
            resuming.start(resp.body());
        } else {
            resp.body().subscribe(body);
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
        resumesLeft--;
        resumeMode = true;
        streamCause = cause;
        body = continuation;
        forwarder.listener().onRetry(requestId, failed.backend.id(), "stream failover: " + TransportException.describe(cause));
        attempt();
        return true;
    }

    /** A continuation's headers: a 200 goes on in the caller's stream, anything else is a failure. */
    private void continuationAnswered(Attempt a, UpstreamResponse resp, int status) {
        if (status == 200) {
            resumeMode = false;
            current = a;
            if (streamingBody.isEnded()) {
                a.end(Attempt.Result.CANCELLED, null);     // the caller left meanwhile
                resp.body().subscribe(StreamingBody.DISCARD);
                return;
            }
            resumable.resumed(resp.body());
            return;
        }
        resp.body().subscribe(StreamingBody.DISCARD);
        IOException cause = new IOException("backend answered " + status);
        a.end(status == 429 || status < 500 ? Attempt.Result.CANCELLED : Attempt.Result.FAILURE, cause);
        failures.lastFailure("status " + status, a.backend);
        retryOrFail(a.backend, cause, "status " + status);
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
            forwarder.scheduler().schedule(this::attempt, Duration.ofMillis(delayMillis));
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
