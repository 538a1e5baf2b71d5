package io.vllmrouter.api;

/**
 * A request the router could not serve, with the HTTP status a proxy should answer, an OpenAI error
 * type and code, and the state of the fleet when it happened.
 *
 * <p>The message names what to look at, e.g. {@code "No eligible server for model 'llama' (total=3,
 * healthy=0, breaker open=2)"}.
 */
public abstract class RouterException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final String model;
    private final int totalBackends;
    private final int healthyBackends;
    private final int openBackends;

    protected RouterException(String message, Throwable cause, String model,
                              int totalBackends, int healthyBackends, int openBackends) {
        super(message, cause);
        this.model = model;
        this.totalBackends = totalBackends;
        this.healthyBackends = healthyBackends;
        this.openBackends = openBackends;
    }

    /** The HTTP status a proxy should answer with. */
    public abstract int httpStatus();

    /** OpenAI error {@code type}, such as {@code invalid_request_error} or {@code server_error}. */
    public abstract String errorType();

    /** OpenAI error {@code code}, such as {@code model_not_found}. */
    public abstract String errorCode();

    /** Seconds after which a client may retry, or -1 when no hint applies. */
    public int retryAfterSeconds() {
        return -1;
    }

    /** The request's model, or null when it named none. */
    public String model() {
        return model;
    }

    /** Backends configured. */
    public int totalBackends() {
        return totalBackends;
    }

    /** Backends admitted by health checks. */
    public int healthyBackends() {
        return healthyBackends;
    }

    /** Backends whose circuit breaker was OPEN. */
    public int openBackends() {
        return openBackends;
    }

    /**
     * {@code (total=3, healthy=1, breaker open=2)}, for messages: servers configured, servers the health
     * checks admit, and servers whose circuit breaker is open (the words of {@link BackendState}).
     */
    protected static String fleet(int total, int healthy, int open) {
        return "(total=" + total + ", healthy=" + healthy + ", breaker open=" + open + ")";
    }
}
