package io.vllmrouter.api;

/**
 * Servers serve the model but none is {@linkplain BackendState eligible} now (none healthy, or their
 * breakers open, or no health check passed yet): 503 with a {@code Retry-After} hint.
 */
public final class NoHealthyBackendException extends RouterException {

    private static final long serialVersionUID = 1L;

    private final int retryAfterSeconds;

    public NoHealthyBackendException(String model, int total, int healthy, int open, int retryAfterSeconds) {
        super("No eligible server for model " + (model == null ? "(any)" : "'" + model + "'") + " "
                + fleet(total, healthy, open) + "; retry after " + retryAfterSeconds + "s",
                null, model, total, healthy, open);
        this.retryAfterSeconds = retryAfterSeconds;
    }

    @Override public int httpStatus() { return 503; }
    @Override public String errorType() { return "server_error"; }
    @Override public String errorCode() { return "no_healthy_backend"; }
    @Override public int retryAfterSeconds() { return retryAfterSeconds; }
}
