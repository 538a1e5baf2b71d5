package io.vllmrouter.api;

import java.time.Duration;

/**
 * The request ran past its timeout: 504. When the backend had already accepted it, it is cancelled
 * and not retried, since the backend may still be generating.
 */
public final class UpstreamTimeoutException extends RouterException {

    private static final long serialVersionUID = 1L;

    public UpstreamTimeoutException(String model, String backend, Duration timeout,
                                    int total, int healthy, int open) {
        super("Backend " + backend + " did not answer within " + timeout.toMillis() + " ms "
                + fleet(total, healthy, open), null, model, total, healthy, open);
    }

    @Override public int httpStatus() { return 504; }
    @Override public String errorType() { return "server_error"; }
    @Override public String errorCode() { return "timeout"; }
}
