package io.vllmrouter.api;

import java.util.Locale;

/**
 * Where one backend stands for new requests, in the words the router uses everywhere: {@code /health},
 * {@code /load-stats}, error messages, logs and both dashboards. {@link BackendStats#state()} derives it.
 *
 * <ul>
 *   <li><b>healthy</b>: the active health checks admit the backend — its first check passed and it
 *       has not been ejected since. A backend nobody has checked yet is not healthy.
 *   <li><b>ejected</b>: the active health checks took a backend that was healthy out of traffic
 *       (consecutive failed checks, or a low success rate); good checks in a row re-admit it.
 *   <li><b>breaker open</b>: the passive circuit breaker, fed by real requests, stopped traffic to
 *       the backend after too many failures; after a wait it lets a few trial requests through
 *       (half-open) and closes again when they succeed.
 *   <li><b>asleep</b>: the server's engine sleeps ({@code vllm:engine_sleep_state}, vLLM's sleep
 *       mode): it gets no requests until it is woken.
 *   <li><b>eligible</b>: gets new requests (for the models it serves) — healthy, breaker not open,
 *       awake, and still in the configuration.
 * </ul>
 */
public enum BackendState {
    /** Healthy, breaker not open, awake, configured: gets new requests. */
    ELIGIBLE,
    /** No health check has passed yet (not checked, or unreachable since the start): gets no requests. */
    NOT_READY,
    /** Was healthy and was ejected by the active health checks: gets no requests until re-admitted. */
    EJECTED,
    /** Healthy, but its circuit breaker is open: gets no requests until the breaker lets trials through. */
    BREAKER_OPEN,
    /** Its engine sleeps (vLLM's sleep mode): gets no requests until it is woken. */
    ASLEEP,
    /** Removed from the configuration: gets no new requests and finishes the ones in flight. */
    DRAINING;

    /** Lower-case name with spaces, e.g. {@code "breaker open"}, as people read it. */
    public String words() {
        return name().toLowerCase(Locale.ROOT).replace('_', ' ');
    }

    /** Lower-case name, e.g. {@code "breaker_open"}, for JSON fields and metric labels. */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }
}
