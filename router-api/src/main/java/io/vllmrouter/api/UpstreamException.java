package io.vllmrouter.api;

/** Every attempt failed before the backend answered (refused, reset, 502/503/504): 502. */
public final class UpstreamException extends RouterException {

    private static final long serialVersionUID = 1L;

    private final int attempts;

    public UpstreamException(String model, int attempts, String lastBackend, Throwable cause,
                             int total, int healthy, int open) {
        super("Upstream failed after " + attempts + " attempt(s); last backend " + lastBackend + ": "
                + describe(cause) + " " + fleet(total, healthy, open), cause, model, total, healthy, open);
        this.attempts = attempts;
    }

    /** Backends tried. */
    public int attempts() {
        return attempts;
    }

    private static String describe(Throwable t) {
        if (t == null) {
            return "no answer";
        }
        String m = t.getMessage();
        return t.getClass().getSimpleName() + (m == null ? "" : " (" + m + ")");
    }

    @Override public int httpStatus() { return 502; }
    @Override public String errorType() { return "server_error"; }
    @Override public String errorCode() { return "upstream_error"; }
}
