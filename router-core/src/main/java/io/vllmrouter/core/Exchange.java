package io.vllmrouter.core;

import io.github.resilience4j.retry.Retry;
import io.vllmrouter.api.InvalidRequestException;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.UpstreamTimeoutException;
import io.vllmrouter.core.time.Scheduler;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;

/**
 * One routed request: picks a backend, forwards, retries failures that happened before anything
 * reached the caller, and reports the request's end once.
 *
 * <p>Attempts run one after another (each starts from the previous one's callback), so the
 * mutable fields need no lock: each attempt's start happens-after the previous one's end.
 */
final class Exchange {

    private static final System.Logger LOG = System.getLogger(Exchange.class.getName());

    private final DefaultVllmRouter router;
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
    private volatile CompletableFuture<?> call;

    Exchange(DefaultVllmRouter router, RouterRequest request, RequestInfo info, String requestId,
             Duration timeout, Retry retry) {
        this.router = router;
        this.request = request;
        this.info = info;
        this.requestId = requestId;
        this.startNanos = router.ticker().nanoTime();
        this.timeout = timeout;
        this.deadlineNanos = startNanos + timeout.toNanos();
        this.retry = retry.asyncContext();
        result.whenComplete((r, t) -> {
            if (t instanceof CancellationException) {
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
        if (result.isDone()) {
            if (result.isCancelled()) {
                report(499, "cancelled", null, -1, 0);
            }
            return;
        }
        Snapshot snap = router.snapshot();
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
        Attempt a = candidates.isEmpty() ? null : router.pick(candidates, info, attempts + 1);
        if (a == null) {
            fail(attempts == 0 ? router.unavailable(snap, info.model()) : exhausted(snap));
            return;
        }
        attempts++;
        tried.add(a.backend);
        long remaining = deadlineNanos - router.ticker().nanoTime();
        if (remaining <= 0) {
            a.end(Attempt.Result.CANCELLED, null);
            fail(timedOut(a.backend));
            return;
        }
        HttpRequest httpRequest;
        try {
            httpRequest = buildRequest(a.backend, Duration.ofNanos(remaining));
        } catch (IllegalArgumentException e) {
            a.end(Attempt.Result.CANCELLED, null);
            fail(new InvalidRequestException("Cannot forward the request: " + e.getMessage(), e));
            return;
        }
        CompletableFuture<HttpResponse<Flow.Publisher<List<ByteBuffer>>>> f =
                router.http().sendAsync(httpRequest, HttpResponse.BodyHandlers.ofPublisher());
        call = f;
        if (result.isCancelled()) {
            f.cancel(true);
        }
        f.whenComplete((resp, err) -> {
            try {
                onResponse(a, resp, err);
            } catch (RuntimeException | Error e) {
                LOG.log(System.Logger.Level.ERROR, "request " + requestId + ": unexpected error", e);
                a.end(Attempt.Result.CANCELLED, null);
                fail(new UpstreamException(info.model(), attempts, a.backend.id(), e, 0, 0, 0));
            }
        });
    }

    private HttpRequest buildRequest(Backend b, Duration remaining) {
        URI uri = URI.create(b.url().toString() + request.path());
        HttpRequest.Builder rb = HttpRequest.newBuilder(uri).timeout(remaining);
        byte[] body = request.body();
        rb.method(request.method(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(body));
        String key = b.apiKey();
        Map<String, List<String>> headers = request.headers();
        Set<String> listed = Headers.connectionTokens(headers);
        for (Map.Entry<String, List<String>> e : headers.entrySet()) {
            String name = e.getKey();
            if (Headers.dropped(name, listed) || (key != null && name.equalsIgnoreCase("authorization"))) {
                continue;
            }
            for (String v : e.getValue()) {
                try {
                    rb.header(name, v);
                } catch (IllegalArgumentException restricted) {
                    // a header the JDK client sets itself (e.g. Date on some versions): it sends its own
                }
            }
        }
        if (key != null) {
            rb.header("Authorization", "Bearer " + key);
        }
        return rb.build();
    }

    private void onResponse(Attempt a, HttpResponse<Flow.Publisher<List<ByteBuffer>>> resp, Throwable err) {
        if (err != null) {
            Throwable cause = unwrap(err);
            if (result.isCancelled() || cause instanceof CancellationException) {
                a.end(Attempt.Result.CANCELLED, null);
                report(499, "cancelled", a.backend, -1, 0);
                return;
            }
            if (cause instanceof HttpTimeoutException && !(cause instanceof HttpConnectTimeoutException)) {
                // The backend accepted the request and may still be generating: never retried.
                a.end(Attempt.Result.FAILURE, cause);
                fail(timedOut(a.backend));
                return;
            }
            a.end(Attempt.Result.FAILURE, cause);
            retryOrFail(a.backend, cause, describe(cause));
            return;
        }
        int status = resp.statusCode();
        long ttfb = router.ticker().nanoTime() - a.startNanos;
        a.backend.headersArrived(ttfb);
        if (status == 502 || status == 503 || status == 504) {
            resp.body().subscribe(CANCEL);
            IOException cause = new IOException("backend answered " + status);
            a.end(Attempt.Result.FAILURE, cause);
            retryOrFail(a.backend, cause, "status " + status);
            return;
        }
        retry.onComplete();
        long headersAt = router.ticker().nanoTime() - startNanos;
        Scheduler.Cancellable[] deadline = new Scheduler.Cancellable[1];
        StreamingBody body = new StreamingBody((outcome, cause, bytes) -> {
            Scheduler.Cancellable d = deadline[0];
            if (d != null) {
                d.cancel();
            }
            ended(a, status, outcome, cause, headersAt, bytes);
        });
        ForwardedResponse response = new ForwardedResponse(status, Headers.response(resp.headers()), body,
                a.backend.id(), attempts, requestId);
        long remaining = Math.max(0, deadlineNanos - router.ticker().nanoTime());
        deadline[0] = router.scheduler().schedule(
                () -> body.expire("request timed out after " + timeout.toMillis() + " ms"), Duration.ofNanos(remaining));
        if (body.isEnded()) {
            deadline[0].cancel();
        }
        resp.body().subscribe(body);
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
                report(status, status < 400 ? "ok" : status < 500 ? "client_error" : "upstream_error", a.backend,
                        headersAt, bytes);
            }
            case FAILED -> {
                a.end(Attempt.Result.FAILURE, cause);
                report(status, "upstream_error", a.backend, headersAt, bytes);
            }
            case TIMED_OUT -> {
                a.end(Attempt.Result.FAILURE, cause);
                report(status, "timeout", a.backend, headersAt, bytes);
            }
            case CANCELLED -> {
                a.end(Attempt.Result.CANCELLED, null);
                report(499, "cancelled", a.backend, headersAt, bytes);
            }
        }
    }

    private void retryOrFail(Backend failed, Throwable cause, String reason) {
        lastCause = cause;
        long delayMillis = retry.onError(cause);
        if (delayMillis < 0 || result.isDone()) {
            fail(exhausted(router.snapshot()));
            return;
        }
        router.listener().onRetry(requestId, failed.id(), reason);
        if (delayMillis == 0) {
            attempt();
        } else {
            router.scheduler().schedule(this::attempt, Duration.ofMillis(delayMillis));
        }
    }

    private RouterException exhausted(Snapshot s) {
        String last = tried.isEmpty() ? null : tried.get(tried.size() - 1).id();
        return new UpstreamException(info.model(), attempts, last, lastCause, s.total, s.healthy, s.open);
    }

    private RouterException timedOut(Backend b) {
        Snapshot s = router.snapshot();
        return new UpstreamTimeoutException(info.model(), b.id(), timeout, s.total, s.healthy, s.open);
    }

    /** Fails the request; the record is reported first so listeners see it before the caller does. */
    private void fail(RouterException e) {
        Backend last = tried.isEmpty() ? null : tried.get(tried.size() - 1);
        if (result.isDone()) {
            if (result.isCancelled()) {
                report(499, "cancelled", last, -1, 0);
            }
            return;
        }
        String outcome = switch (e.httpStatus()) {
            case 404, 503 -> "no_backend";
            case 504 -> "timeout";
            case 400 -> "client_error";
            default -> "upstream_error";
        };
        report(e.httpStatus(), outcome, last, -1, 0);
        result.completeExceptionally(e);
    }

    private boolean reported;

    private synchronized void report(int status, String outcome, Backend backend, long ttfbNanos, long bytes) {
        if (reported) {
            return;
        }
        reported = true;
        long latency = router.ticker().nanoTime() - startNanos;
        router.listener().onRequestComplete(new RouterListener.RequestRecord(requestId, info.model(), info.stream(),
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
