package io.vllmrouter.api;

/**
 * Every backend that could serve the request is saturated, or answered 429 itself: 429 with a
 * {@code Retry-After} hint, rather than piling more requests onto busy servers.
 */
public final class BackendsBusyException extends RouterException {

    private static final long serialVersionUID = 1L;

    private final int retryAfterSeconds;

    public BackendsBusyException(String model, String why, int total, int healthy, int open, int retryAfterSeconds) {
        super("All backends for model " + (model == null ? "(any)" : "'" + model + "'") + " are busy: " + why + " "
                + fleet(total, healthy, open) + "; retry after " + retryAfterSeconds + "s",
                null, model, total, healthy, open);
        this.retryAfterSeconds = retryAfterSeconds;
    }

    @Override public int httpStatus() { return 429; }
    @Override public String errorType() { return "rate_limit_error"; }
    @Override public String errorCode() { return "backends_busy"; }
    @Override public int retryAfterSeconds() { return retryAfterSeconds; }
}
