package io.vllmrouter.examples.server;

import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterListener;

import java.util.List;

/**
 * Passes every event to several listeners in order; one that throws does not stop the others.
 *
 * <pre>{@code
 * RouterListener listener = CompositeListener.of(metrics, new StructuredRequestLog());
 * }</pre>
 */
public final class CompositeListener implements RouterListener {

    private static final System.Logger LOG = System.getLogger(CompositeListener.class.getName());

    private final List<RouterListener> listeners;

    private CompositeListener(List<RouterListener> listeners) {
        this.listeners = List.copyOf(listeners);
    }

    public static RouterListener of(RouterListener... listeners) {
        return new CompositeListener(List.of(listeners));
    }

    @Override
    public void onRequestComplete(RequestRecord record) {
        for (RouterListener l : listeners) {
            try {
                l.onRequestComplete(record);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onRequestStart(String requestId, String model, io.vllmrouter.api.RouterRequest request) {
        for (RouterListener l : listeners) {
            try {
                l.onRequestStart(requestId, model, request);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onAttemptStart(String requestId, String backend, int attempt,
                               java.util.function.BiConsumer<String, String> header) {
        for (RouterListener l : listeners) {
            try {
                l.onAttemptStart(requestId, backend, attempt, header);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onAttemptEnd(String requestId, String backend, int attempt, int status, String failure) {
        for (RouterListener l : listeners) {
            try {
                l.onAttemptEnd(requestId, backend, attempt, status, failure);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onRetry(String requestId, String failedBackend, String reason) {
        for (RouterListener l : listeners) {
            try {
                l.onRetry(requestId, failedBackend, reason);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onHealthChange(String backend, boolean healthy, String reason) {
        for (RouterListener l : listeners) {
            try {
                l.onHealthChange(backend, healthy, reason);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
        for (RouterListener l : listeners) {
            try {
                l.onCircuitStateChange(backend, from, to);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onConfigReload(boolean applied, String error) {
        for (RouterListener l : listeners) {
            try {
                l.onConfigReload(applied, error);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onHealthCheck(String backend, boolean passed, String reason) {
        for (RouterListener l : listeners) {
            try {
                l.onHealthCheck(backend, passed, reason);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onMetricsScraped(String backend, boolean ok) {
        for (RouterListener l : listeners) {
            try {
                l.onMetricsScraped(backend, ok);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    @Override
    public void onModelsRefreshed(String backend, List<String> models) {
        for (RouterListener l : listeners) {
            try {
                l.onModelsRefreshed(backend, models);
            } catch (RuntimeException e) {
                failed(l, e);
            }
        }
    }

    private static void failed(RouterListener l, RuntimeException e) {
        LOG.log(System.Logger.Level.WARNING, "listener " + l.getClass().getName() + " failed", e);
    }
}
