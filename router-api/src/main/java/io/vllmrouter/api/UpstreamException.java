package io.vllmrouter.api;

/**
 * Every attempt failed before anything reached the caller (refused, reset, a retried status such as
 * 500/502/503/504, no headers in time), or the request failed the same way on several backends: 502.
 *
 * <p>The message names the attempts, the backends tried and the last failure, e.g. {@code "all 3
 * attempts failed (backends tried: 3; last: status 500 from http://gpu-2:8000) (total=3, healthy=3,
 * breaker open=0)"}; never a backend's own error page.
 */
public final class UpstreamException extends RouterException {

    private static final long serialVersionUID = 1L;

    private final int attempts;

    public UpstreamException(String model, int attempts, String lastBackend, Throwable cause,
                             int total, int healthy, int open) {
        super("Upstream failed after " + attempts + " attempt(s); last backend " + lastBackend + ": "
                + describe(cause) + " " + fleet(total, healthy, open), cause, model, total, healthy, open);
        this.attempts = attempts;
    }

    private UpstreamException(String what, String model, int attempts, Throwable cause, int total, int healthy,
                              int open) {
        super(what + " " + fleet(total, healthy, open), cause, model, total, healthy, open);
        this.attempts = attempts;
    }

    /**
     * @param what what happened, for people, e.g. {@code "all 3 attempts failed (backends tried: 3;
     *             last: status 500 from http://gpu-2:8000)"}; the fleet's state is appended
     */
    public static UpstreamException described(String model, int attempts, String what, Throwable cause,
                                              int total, int healthy, int open) {
        return new UpstreamException(what, model, attempts, cause, total, healthy, open);
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
        return m == null ? "no answer" : m;
    }

    @Override public int httpStatus() { return 502; }
    @Override public String errorType() { return "server_error"; }
    @Override public String errorCode() { return "upstream_error"; }
}
