package io.vllmrouter.api;

/**
 * The router is stopping: its request timers no longer run, so a request it could not time (its
 * deadline, a retry's pause, a wait for a slot) is not sent on untimed. 503, as a front door
 * answers while it drains; the request ran nowhere after this, and the backend's slot was given back.
 */
public final class RouterStoppingException extends RouterException {

    private static final long serialVersionUID = 1L;

    public RouterStoppingException(String model, Throwable cause, int total, int healthy, int open) {
        super("The router is shutting down; the request was not forwarded further " + fleet(total, healthy, open),
                cause, model, total, healthy, open);
    }

    @Override public int httpStatus() { return 503; }
    @Override public String errorType() { return "server_error"; }
    @Override public String errorCode() { return "shutting_down"; }
}
