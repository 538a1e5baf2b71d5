package io.vllmrouter.core;

import io.vllmrouter.api.BackendsBusyException;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterStoppingException;
import io.vllmrouter.api.UpstreamException;
import io.vllmrouter.api.UpstreamTimeoutException;
import io.vllmrouter.api.transport.TransportException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * What one request's attempts have told so far: the backends tried, how many answered 429, the
 * last failure, and which failures may be the request's own fault. {@link Exchange} asks it how to
 * judge a failure before the headers and which error the caller gets when no attempt is left.
 *
 * <p>Judging failures (docs/resilience.md): only the backend's own failures count against it. A 429
 * is load ({@link #busy}: retried, not counted against the backend). A reset, an invalid answer, a
 * 500 or a stream's in-band error or early end (before its first event) is the backend's, unless
 * the same request already failed that same way on other backends:
 * after {@link #QUERY_OF_DEATH} of them the request is judged the cause, is not retried further, and
 * only the first of those failures counts, so one poisonous request cannot open every breaker.
 * When every attempt was refused with 429 the caller gets 429 (busy), otherwise a 502 naming the
 * attempts, never a backend's error page.
 *
 * <p>Threads: called from the exchange's attempt callbacks, which run one after another (each
 * attempt starts from the previous one's end), so no lock is needed.
 */
final class Failures {

    /** Backends on which one request may fail the same way before it is judged the cause. */
    static final int QUERY_OF_DEATH = 2;

    private final String model;
    private final List<Backend> tried = new ArrayList<>(2);
    private int attempts;
    private Throwable lastCause;
    /** "status 500 from http://...": the last failure, for the 502 message. */
    private String lastFailure;
    /** Attempts refused with 429. */
    private int busy;
    /** Backends the request may have run on; null until one. */
    private List<Backend> ran;
    /** Per kind of failure that may be the request's fault, the backends that failed that way. */
    private Map<String, List<Backend>> sameFailures;

    /** @param model the request's model, named in the errors */
    Failures(String model) {
        this.model = model;
    }

    /** An attempt goes to {@code b}. */
    void attempted(Backend b) {
        attempts++;
        tried.add(b);
    }

    /** Attempts made so far, including the current one. */
    int attempts() {
        return attempts;
    }

    boolean triedAny() {
        return !tried.isEmpty();
    }

    boolean tried(Backend b) {
        return tried.contains(b);
    }

    /**
     * The request may have run on {@code b} (it was sent, and {@code b} did not refuse it outright):
     * it is never sent to {@code b} again, so that it runs at most once per backend.
     */
    void mayHaveRun(Backend b) {
        if (ran == null) {
            ran = new ArrayList<>(2);
        }
        if (!ran.contains(b)) {
            ran.add(b);
        }
    }

    /** Whether {@link #mayHaveRun} was said of {@code b}. */
    boolean mayHaveRunOn(Backend b) {
        return ran != null && ran.contains(b);
    }

    /** The backend of the last attempt, or null before the first. */
    Backend last() {
        return tried.isEmpty() ? null : tried.get(tried.size() - 1);
    }

    /** {@code b} answered 429: load, not a failure of the backend. */
    void busy(Backend b) {
        busy++;
        lastFailure = "status 429 from " + b.id();
    }

    /** The failure the retry policy is asked about (and the 502 will carry). */
    void lastCause(Throwable cause) {
        lastCause = cause;
    }

    /** A failure that is not judged further (a continuation's status): only named in the 502. */
    void lastFailure(String kind, Backend b) {
        lastFailure = kind + " from " + b.id();
    }

    /**
     * A failure of {@code b} before the headers. Returns the error that ends the request when the
     * same kind of failure has now happened on {@link #QUERY_OF_DEATH} backends (the request is the
     * cause: its attempt must not count against {@code b}), or null when it is the backend's.
     */
    RouterException failed(Backend b, Throwable cause, String kind, Snapshot s) {
        lastFailure = kind + " from " + b.id();
        boolean mayBeTheRequest = kind.equals("status 500") || kind.equals("connection reset")
                || kind.equals("invalid HTTP answer") || kind.equals("in-band error")
                || kind.equals("stream ended early");
        if (!mayBeTheRequest) {
            return null;
        }
        if (sameFailures == null) {
            sameFailures = new HashMap<>(2);
        }
        List<Backend> where = sameFailures.computeIfAbsent(kind, k -> new ArrayList<>(2));
        if (!where.contains(b)) {
            where.add(b);
        }
        if (where.size() < QUERY_OF_DEATH) {
            return null;
        }
        lastCause = cause;
        return UpstreamException.described(model, attempts, "the request failed the same way ("
                + kind + ") on " + where.size() + " backends, so it is likely the cause and was not retried"
                + " further (backends tried: " + distinctTried() + "; last: " + lastFailure + ")",
                cause, s.total, s.healthy, s.open);
    }

    /** The caller's error when no attempt is left: 429 when every one was refused with 429, else 502. */
    RouterException exhausted(Snapshot s) {
        if (busy > 0 && busy == attempts) {
            return new BackendsBusyException(model, "each of the " + attempts + " tried answered 429",
                    s.total, s.healthy, s.open, s.settings.retryAfterSeconds());
        }
        String what = (attempts == 1 ? "the only attempt failed" : "all " + attempts + " attempts failed")
                + " (backends tried: " + distinctTried() + "; last: "
                + (lastFailure != null ? lastFailure : "no answer") + ")";
        return UpstreamException.described(model, attempts, what, lastCause, s.total, s.healthy, s.open);
    }

    /** No headers from {@code b} by the request's deadline: 504, nothing left for another backend. */
    RouterException timedOut(Backend b, Duration timeout, Snapshot s) {
        return new UpstreamTimeoutException(model, b.id(), timeout, s.total, s.healthy, s.open);
    }

    /** Not the backend's doing (an Error, a rejected task, a bug): 502, and no other backend is tried. */
    RouterException routerFailed(Throwable cause, Snapshot s) {
        return UpstreamException.described(model, attempts, "the router could not forward the request"
                + (cause.getMessage() == null ? "" : " (" + cause.getMessage() + ")"), cause,
                s.total, s.healthy, s.open);
    }

    /** The request scheduler refused a timer: the router is stopping. 503, and no other backend is tried. */
    RouterException stopping(Throwable cause, Snapshot s) {
        return new RouterStoppingException(model, cause, s.total, s.healthy, s.open);
    }

    /** The failure inside a future's wrapping ({@link CompletionException}, {@link ExecutionException}). */
    static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    /**
     * How a failure before the answer is named in messages and matched for the query of death, or
     * null when it is not the backend's (an {@link Error}, a rejected task, a bug). A timeout is
     * named by whoever timed it.
     */
    static String kind(Throwable cause) {
        if (cause instanceof TransportException te) {
            return switch (te.kind()) {
                case CONNECT -> "connection failed";
                case RESET -> "connection reset";
                case TIMEOUT -> "timed out";
                case PROTOCOL -> "invalid HTTP answer";
            };
        }
        if (cause instanceof InBandError) {
            return "in-band error";
        }
        if (cause instanceof java.io.EOFException) {
            return "stream ended early";
        }
        return cause instanceof java.io.IOException ? "connection failed" : null;
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
}
