package io.vllmrouter.core;

import io.github.resilience4j.retry.Retry;
import io.vllmrouter.api.BackendsBusyException;
import io.vllmrouter.api.InvalidRequestException;
import io.vllmrouter.api.RequestOutcome;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterListener;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.UpstreamTimeoutException;
import io.vllmrouter.api.time.Scheduler;
import io.vllmrouter.core.transport.TransportException;
import io.vllmrouter.core.transport.UpstreamRequest;
import io.vllmrouter.core.transport.UpstreamResponse;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;

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
 * {@link Error} such as OutOfMemoryError, a rejected task) count for nothing; and when the same
 * request failed the same way ({@link #QUERY_OF_DEATH} times: a reset, an invalid answer or a 500)
 * on different backends, it is not retried further and only the first of those failures counts, so
 * one poisonous request cannot open every breaker.
 *
 * <p>Attempts run one after another (each starts from the previous one's callback), so the
 * mutable fields need no lock: each attempt's start happens-after the previous one's end.
 */
final class Exchange {

    private static final System.Logger LOG = System.getLogger(Exchange.class.getName());

    /** Backends on which one request may fail the same way before it is judged the cause. */
    static final int QUERY_OF_DEATH = 2;

    private final Forwarder forwarder;
    private final RouterRequest request;
    private final RequestInfo info;
    private final String requestId;
    private final long startNanos;
    private final Duration timeout;
    private final long deadlineNanos;
    private final Retry.AsyncContext<Object> retry;
    final CompletableFuture<RouterResponse> result = new CompletableFuture<>();

    private final List<Backend> tried = new ArrayList<>(2);
    private int attempts;
    private Throwable lastCause;
    /** "status 500 from http://...": the last failure, for the 502 message. */
    private String lastFailure;
    /** Attempts refused with 429, and attempts in all. */
    private int busy;
    /** Per kind of failure that may be the request's fault, the backends that failed that way. */
    private java.util.Map<String, List<Backend>> sameFailures;

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

    /** Admission queue state, guarded by this: waiting, its timer, and whether the wait ran out. */
    private boolean queued;
    private boolean queueExpired;
    private Scheduler.Cancellable queueTimer;
    private volatile CompletableFuture<?> call;

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
        attempt();
        return result;
    }

    private void attempt() {
        if (result.isDone() && !resumeMode) {
            if (result.isCancelled()) {
                report(499, RequestOutcome.CANCELLED, null, -1, 0);
            }
            return;
        }
        Snapshot snap = forwarder.snapshot();
        List<Backend> candidates = snap.candidates(info.model());
        if (!tried.isEmpty() && !candidates.isEmpty()) {
            List<Backend> fresh = new ArrayList<>(candidates.size());
            for (Backend b : candidates) {
                if (!tried.contains(b)) {
                    fresh.add(b);
                }
            }
            if (!fresh.isEmpty()) {
                candidates = fresh;
            }
        }
        Snapshot.Settings settings = snap.settings;
        if (settings.maxInFlightFactor() > 0 && !candidates.isEmpty() && !resumeMode) {
            candidates = unsaturated(candidates, settings.maxInFlightFactor());
            if (candidates.isEmpty()) {
                waitOrRefuse(snap);
                return;
            }
        }
        leaveQueue();
        Attempt a = candidates.isEmpty() ? null
                : snap.pick(candidates, info, attempts + 1, forwarder.random(), forwarder.ticker());
        if (a != null && settings.maxInFlightFactor() > 0) {
            a.onRelease = forwarder::wakeOne;
        }
        if (a == null) {
            fail(attempts == 0 ? snap.unavailable(info.model()) : exhausted(snap));
            return;
        }
        attempts++;
        tried.add(a.backend);
        long remaining = deadlineNanos - forwarder.ticker().nanoTime();
        if (remaining <= 0) {
            a.end(Attempt.Result.CANCELLED, null);
            fail(timedOut(a.backend));
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
                fail(new UpstreamException(info.model(), attempts, a.backend.id(), e, 0, 0, 0));
            }
        });
    }

    /** Candidates below {@code factor × max_concurrent_requests} in flight (at least one each). */
    private static List<Backend> unsaturated(List<Backend> candidates, double factor) {
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
     * Every candidate is saturated: wait in the router's FIFO queue (no thread held) for a slot,
     * at most {@code queue_timeout}, or answer 429 at once when {@code max_queue} are waiting.
     */
    private void waitOrRefuse(Snapshot snap) {
        Snapshot.Settings s = snap.settings;
        synchronized (this) {
            if (queued && !queueExpired) {
                forwarder.requeue(this);       // woken, but the slot went to another: keep the place
                return;
            }
            if (!queued && forwarder.enqueue(this, s.maxQueue())) {
                queued = true;
                queueTimer = forwarder.scheduler().schedule(this::queueTimedOut, s.queueTimeout());
                return;
            }
        }
        fail(busy(snap, queued ? "waited " + s.queueTimeout().toMillis() + " ms for a free slot"
                : "every backend has max_in_flight_factor x max_concurrent_requests requests in flight and "
                + s.maxQueue() + " requests are waiting"));
    }

    private void queueTimedOut() {
        synchronized (this) {
            queueExpired = true;
        }
        if (forwarder.dequeue(this)) {
            Snapshot s = forwarder.snapshot();
            fail(busy(s, "waited " + s.settings.queueTimeout().toMillis() + " ms for a free slot"));
        }
    }

    private synchronized void leaveQueue() {
        if (queueTimer != null) {
            queueTimer.cancel();
            queueTimer = null;
        }
    }

    /** A slot was freed while this request waited: it tries again (on the freeing thread). */
    void wake() {
        attempt();
    }

    private RouterException busy(Snapshot s, String why) {
        int retryAfter = (int) Math.max(1, (s.settings.queueTimeout().toMillis() + 999) / 1000);
        return new BackendsBusyException(info.model(), why, s.total, s.healthy, s.open, retryAfter);
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
            Throwable cause = unwrap(err);
            if (a.firstByteTimedOut && cause instanceof CancellationException && (!result.isDone() || resumeMode)) {
                // Given up after first_byte_timeout: the call is cancelled (the slot is released
                // only now that it is), the backend is blamed, and another one is tried.
                cause = new TransportException(TransportException.Kind.TIMEOUT,
                        "no response headers within " + wait.toMillis() + " ms", null);
            } else if (result.isCancelled() || cause instanceof CancellationException) {
                a.end(Attempt.Result.CANCELLED, null);
                report(499, RequestOutcome.CANCELLED, a.backend, -1, 0);
                return;
            }
            if (cause instanceof TransportException te) {
                if (te.kind() == TransportException.Kind.TIMEOUT && deadlineBound) {
                    // No headers by the request's deadline: no time is left for another backend.
                    a.end(Attempt.Result.FAILURE, cause);
                    fail(timedOut(a.backend));
                    return;
                }
                backendFailed(a, cause, failureKind(te, wait), describe(cause));
                return;
            }
            if (cause instanceof IOException) {
                backendFailed(a, cause, "connection failed", describe(cause));
                return;
            }
            // Not the backend's doing (an Error such as OutOfMemoryError, a rejected task, a bug):
            // its breaker hears nothing and no other backend is tried.
            a.end(Attempt.Result.CANCELLED, null);
            LOG.log(System.Logger.Level.WARNING, "request " + requestId + ": the router failed to forward it", cause);
            Snapshot s = forwarder.snapshot();
            fail(UpstreamException.described(info.model(), attempts, "the router could not forward the request"
                    + (cause.getMessage() == null ? "" : " (" + cause.getMessage() + ")"), cause,
                    s.total, s.healthy, s.open));
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
            resp.body().subscribe(CANCEL);      // never passed on: the caller gets a retry or our 502
            IOException cause = new IOException("backend answered " + status);
            if (status == 429) {
                // The backend is overloaded, not broken: load, not a breaker failure.
                busy++;
                a.end(Attempt.Result.CANCELLED, null);
                lastFailure = "status 429 from " + a.backend.id();
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
        ResumableStream resuming = status == 200 ? resumable() : null;
        StreamingBody body = new StreamingBody((outcome, cause, bytes) -> {
            Scheduler.Cancellable d = deadline[0];
            if (d != null) {
                d.cancel();
            }
            ended(current, status, outcome, cause, headersAt, bytes);
        });
        streamingBody = body;
        ForwardedResponse response = new ForwardedResponse(status, Headers.response(resp.headers()), body,
                a.backend.id(), attempts, requestId);
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

    private void ended(Attempt a, int status, StreamingBody.Outcome outcome, Throwable cause, long headersAt,
                       long bytes) {
        switch (outcome) {
            case COMPLETED -> {
                boolean serverError = status >= 500;
                a.end(serverError ? Attempt.Result.FAILURE : Attempt.Result.SUCCESS,
                        serverError ? new IOException("backend answered " + status) : null);
                report(status, status < 400 ? RequestOutcome.OK
                        : status < 500 ? RequestOutcome.CLIENT_ERROR : RequestOutcome.UPSTREAM_ERROR, a.backend,
                        headersAt, bytes);
            }
            case FAILED -> {
                a.end(Attempt.Result.FAILURE, cause);
                report(status, RequestOutcome.UPSTREAM_ERROR, a.backend, headersAt, bytes);
            }
            case TIMED_OUT -> {
                a.end(Attempt.Result.FAILURE, cause);
                report(status, RequestOutcome.TIMEOUT, a.backend, headersAt, bytes);
            }
            case CANCELLED -> {
                a.end(Attempt.Result.CANCELLED, null);
                report(499, RequestOutcome.CANCELLED, a.backend, headersAt, bytes);
            }
        }
    }

    /**
     * A failure before the headers that is the backend's, unless the same request already failed
     * the same way elsewhere ({@link #QUERY_OF_DEATH}): then it is the request's, and it stops here.
     */
    private void backendFailed(Attempt a, Throwable cause, String kind, String reason) {
        lastFailure = kind + " from " + a.backend.id();
        boolean mayBeTheRequest = kind.equals("status 500") || kind.equals("connection reset")
                || kind.equals("invalid HTTP answer");
        if (mayBeTheRequest) {
            if (sameFailures == null) {
                sameFailures = new java.util.HashMap<>(2);
            }
            List<Backend> where = sameFailures.computeIfAbsent(kind, k -> new ArrayList<>(2));
            if (!where.contains(a.backend)) {
                where.add(a.backend);
            }
            if (where.size() >= QUERY_OF_DEATH) {
                a.end(Attempt.Result.CANCELLED, null);
                lastCause = cause;
                Snapshot s = forwarder.snapshot();
                fail(UpstreamException.described(info.model(), attempts, "the request failed the same way ("
                        + kind + ") on " + where.size() + " backends, so it is likely the cause and was not retried"
                        + " further (backends tried: " + distinctTried() + "; last: " + lastFailure + ")",
                        cause, s.total, s.healthy, s.open));
                return;
            }
        }
        a.end(Attempt.Result.FAILURE, cause);
        retryOrFail(a.backend, cause, reason);
    }

    private static String failureKind(TransportException te, Duration wait) {
        return switch (te.kind()) {
            case CONNECT -> "connection failed";
            case RESET -> "connection reset";
            case TIMEOUT -> "no response headers within " + wait.toMillis() + " ms";
            case PROTOCOL -> "invalid HTTP answer";
        };
    }

    private int distinctTried() {
        int n = 0;
        for (int i = 0; i < tried.size(); i++) {
            if (tried.indexOf(tried.get(i)) == i) {
                n++;
            }
        }
        return n;
    }

    /** A stream that may resume elsewhere, or null when failover is off or the request cannot resume. */
    private ResumableStream resumable() {
        Snapshot.Settings settings = forwarder.snapshot().settings;
        String path = request.path();
        boolean chat = path.startsWith("/v1/chat/completions");
        if (!settings.streamFailover() || !info.stream() || !(chat || path.startsWith("/v1/completions"))) {
            return null;
        }
        try {
            com.fasterxml.jackson.databind.JsonNode node = RouterJson.mapper().readTree(request.body());
            if (!ResumableStream.eligible(node, chat)) {
                return null;
            }
            return new ResumableStream((com.fasterxml.jackson.databind.node.ObjectNode) node, chat, this::resume);
        } catch (IOException | RuntimeException e) {
            return null;
        }
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
        forwarder.listener().onRetry(requestId, failed.backend.id(), "stream failover: " + describe(cause));
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
                resp.body().subscribe(CANCEL);
                return;
            }
            resumable.resumed(resp.body());
            return;
        }
        resp.body().subscribe(CANCEL);
        IOException cause = new IOException("backend answered " + status);
        a.end(status == 429 || status < 500 ? Attempt.Result.CANCELLED : Attempt.Result.FAILURE, cause);
        lastFailure = "status " + status + " from " + a.backend.id();
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
        lastCause = cause;
        long delayMillis = retry.onError(cause);
        if (delayMillis < 0 || result.isDone()) {
            fail(exhausted(forwarder.snapshot()));
            return;
        }
        forwarder.listener().onRetry(requestId, failed.id(), reason);
        if (delayMillis == 0) {
            attempt();
        } else {
            forwarder.scheduler().schedule(this::attempt, Duration.ofMillis(delayMillis));
        }
    }

    private RouterException exhausted(Snapshot s) {
        if (busy > 0 && busy == attempts) {
            return new BackendsBusyException(info.model(), "each of the " + attempts + " tried answered 429",
                    s.total, s.healthy, s.open, s.settings.retryAfterSeconds());
        }
        String what = (attempts == 1 ? "the only attempt failed" : "all " + attempts + " attempts failed")
                + " (backends tried: " + distinctTried() + "; last: "
                + (lastFailure != null ? lastFailure : "no answer") + ")";
        return UpstreamException.described(info.model(), attempts, what, lastCause, s.total, s.healthy, s.open);
    }

    private RouterException timedOut(Backend b) {
        Snapshot s = forwarder.snapshot();
        return new UpstreamTimeoutException(info.model(), b.id(), timeout, s.total, s.healthy, s.open);
    }

    /** Fails the request; the record is reported first so listeners see it before the caller does. */
    private void fail(RouterException e) {
        if (resumeMode) {
            giveUpResuming();
            return;
        }
        Backend last = tried.isEmpty() ? null : tried.get(tried.size() - 1);
        if (result.isDone()) {
            if (result.isCancelled()) {
                report(499, RequestOutcome.CANCELLED, last, -1, 0);
            }
            return;
        }
        RequestOutcome outcome = switch (e.httpStatus()) {
            case 404, 503, 429 -> RequestOutcome.NO_BACKEND;
            case 504 -> RequestOutcome.TIMEOUT;
            case 400 -> RequestOutcome.CLIENT_ERROR;
            default -> RequestOutcome.UPSTREAM_ERROR;
        };
        report(e.httpStatus(), outcome, last, -1, 0);
        result.completeExceptionally(e);
    }

    private void giveUpResuming() {
        resumeMode = false;
        resumable.giveUp(streamCause);
    }

    private boolean reported;

    private synchronized void report(int status, RequestOutcome outcome, Backend backend, long ttfbNanos, long bytes) {
        if (reported) {
            return;
        }
        reported = true;
        long latency = forwarder.ticker().nanoTime() - startNanos;
        forwarder.listener().onRequestComplete(new RouterListener.RequestRecord(requestId, info.model(), info.stream(),
                backend == null ? null : backend.id(), status, outcome, latency, ttfbNanos, Math.max(0, attempts - 1),
                bytes));
    }

    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    private static String describe(Throwable t) {
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : ": " + m);
    }

    /** Discards a body we will not pass on (a 502/503/504 before a retry). */
    private static final Flow.Subscriber<List<ByteBuffer>> CANCEL = new Flow.Subscriber<>() {
        @Override public void onSubscribe(Flow.Subscription s) { s.cancel(); }
        @Override public void onNext(List<ByteBuffer> item) { }
        @Override public void onError(Throwable t) { }
        @Override public void onComplete() { }
    };
}
