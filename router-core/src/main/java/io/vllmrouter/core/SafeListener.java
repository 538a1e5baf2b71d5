package io.vllmrouter.core;

import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterListener;
import java.lang.System.Logger.Level;
import java.util.List;

/** Calls the host's listener, logging and swallowing what it throws, so a bad listener cannot break routing. */
final class SafeListener implements RouterListener {

    private static final System.Logger LOG = System.getLogger(SafeListener.class.getName());

    private final RouterListener d;

    private SafeListener(RouterListener d) {
        this.d = d;
    }

    /** {@code listener} guarded; a no-op listener for null. */
    static RouterListener of(RouterListener listener) {
        return listener == null ? new RouterListener() { } : new SafeListener(listener);
    }

    private static void failed(String method, RuntimeException e) {
        LOG.log(Level.WARNING, "listener failed in " + method, e);
    }

    @Override
    public void onRequestComplete(RequestRecord r) {
        try {
            d.onRequestComplete(r);
        } catch (RuntimeException e) {
            failed("onRequestComplete", e);
        }
    }

    @Override
    public void onRequestStart(String requestId, String model, io.vllmrouter.api.RouterRequest request) {
        try {
            d.onRequestStart(requestId, model, request);
        } catch (RuntimeException e) {
            failed("onRequestStart", e);
        }
    }

    @Override
    public void onAttemptStart(String requestId, String backend, int attempt,
                               java.util.function.BiConsumer<String, String> header) {
        try {
            d.onAttemptStart(requestId, backend, attempt, header);
        } catch (RuntimeException e) {
            failed("onAttemptStart", e);
        }
    }

    @Override
    public void onAttemptEnd(String requestId, String backend, int attempt, int status, String failure) {
        try {
            d.onAttemptEnd(requestId, backend, attempt, status, failure);
        } catch (RuntimeException e) {
            failed("onAttemptEnd", e);
        }
    }

    @Override
    public void onRetry(String requestId, String failedBackend, String reason) {
        try {
            d.onRetry(requestId, failedBackend, reason);
        } catch (RuntimeException e) {
            failed("onRetry", e);
        }
    }

    @Override
    public void onHealthCheck(String backend, boolean passed, String reason) {
        try {
            d.onHealthCheck(backend, passed, reason);
        } catch (RuntimeException e) {
            failed("onHealthCheck", e);
        }
    }

    @Override
    public void onHealthChange(String backend, boolean healthy, String reason) {
        try {
            d.onHealthChange(backend, healthy, reason);
        } catch (RuntimeException e) {
            failed("onHealthChange", e);
        }
    }

    @Override
    public void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
        try {
            d.onCircuitStateChange(backend, from, to);
        } catch (RuntimeException e) {
            failed("onCircuitStateChange", e);
        }
    }

    @Override
    public void onConfigReload(boolean applied, String error) {
        try {
            d.onConfigReload(applied, error);
        } catch (RuntimeException e) {
            failed("onConfigReload", e);
        }
    }

    @Override
    public void onMetricsScraped(String backend, boolean ok) {
        try {
            d.onMetricsScraped(backend, ok);
        } catch (RuntimeException e) {
            failed("onMetricsScraped", e);
        }
    }

    @Override
    public void onModelsRefreshed(String backend, List<String> models) {
        try {
            d.onModelsRefreshed(backend, models);
        } catch (RuntimeException e) {
            failed("onModelsRefreshed", e);
        }
    }
}
