package io.vllmrouter.api;

import java.util.Locale;

/**
 * How a routed request ended, as reported in {@link RouterListener.RequestRecord#outcome()}: one
 * closed set, the same in metrics ({@code vllm_router_requests_total{outcome=...}}), logs, traces and
 * dashboards. Exactly one outcome per request. {@link #isFailure()} tells the ones an error-ratio
 * alert counts: the router or a backend failed the caller.
 */
public enum RequestOutcome {
    /** The answer (status below 400) reached its end. */
    SUCCESS,
    /** The caller's fault: the backend answered 4xx (429 aside), or the router refused the request (400). */
    CLIENT_ERROR,
    /**
     * The backends failed before any answer began: 5xx, refused or reset connections, no headers in
     * time on every attempt; the caller got the last 5xx or the router's 502.
     */
    UPSTREAM_ERROR,
    /**
     * The answer began (status and perhaps part of the body reached the caller) and its backend then
     * failed: the body ends with an error, never like a complete answer. The status said 200.
     */
    CUT_SHORT,
    /**
     * A streamed answer whose backend failed mid-answer went on on another backend
     * ({@code stream_failover}) and reached its end: the caller got a whole answer.
     */
    RESUMED,
    /** The request ran past its timeout: 504 before any answer, or an answer cut at its deadline. */
    TIMEOUT,
    /** Refused for load: the router's queue was full or timed out, or every backend tried answered 429 (status 429). */
    REJECTED,
    /** No backend could take it: none serves the model (404), or none is eligible (503). */
    NO_BACKEND,
    /** The caller went away first (status 499); never held against a backend. */
    CANCELLED;

    /** Made once: every finished request asks for it, for its metric series and its log line. */
    private final String label = name().toLowerCase(Locale.ROOT);

    /** Lower-case name, e.g. {@code "cut_short"}, for metric labels and log fields. */
    public String label() {
        return label;
    }

    /** Whether the router or a backend failed the caller: upstream errors, cut answers, timeouts, rejections and no backend. */
    public boolean isFailure() {
        return this == UPSTREAM_ERROR || this == CUT_SHORT || this == TIMEOUT || this == REJECTED || this == NO_BACKEND;
    }
}
