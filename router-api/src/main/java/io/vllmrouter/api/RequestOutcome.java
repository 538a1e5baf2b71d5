package io.vllmrouter.api;

import java.util.Locale;

/** How a routed request ended, as reported in {@link RouterListener.RequestRecord#outcome()}. */
public enum RequestOutcome {
    /** The backend answered below 400 and the body reached its end. */
    OK,
    /** The caller's fault: the backend answered 4xx, or the router refused the request (400). */
    CLIENT_ERROR,
    /** A backend failed: 5xx, a reset or refused connection, a body cut short; or every retry failed. */
    UPSTREAM_ERROR,
    /** The request ran past its timeout (504, or a stream cut at its deadline). */
    TIMEOUT,
    /** The caller went away first (status 499); never held against a backend. */
    CANCELLED,
    /** No backend could take it: no backend serves the model (404) or none is admitted (503). */
    NO_BACKEND;

    /** Lower-case name, e.g. {@code "upstream_error"}, for metric labels and log fields. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
