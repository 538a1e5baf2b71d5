package io.vllmrouter.api;

/** A backend's passive circuit breaker state. */
public enum CircuitState {
    /** Traffic flows; failures are counted. */
    CLOSED,
    /** Too many failures: the backend gets no traffic until the wait ends. */
    OPEN,
    /** After the wait: a few trial requests decide between CLOSED and OPEN. */
    HALF_OPEN,
    /** Breakers are turned off. */
    DISABLED
}
