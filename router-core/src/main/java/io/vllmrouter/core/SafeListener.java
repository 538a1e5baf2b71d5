package io.vllmrouter.core;

import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterListener;
import java.lang.System.Logger.Level;
import java.util.List;

/**
 * The host's listeners ({@link VllmRouters.Builder#listener}), each told every event in the order
 * they were added; what one throws is logged and swallowed, so a bad listener neither breaks
 * routing nor keeps the others from hearing the event. The one place the router guards a listener.
 */
final class SafeListener implements RouterListener {

    private static final System.Logger LOG = System.getLogger(SafeListener.class.getName());

    private final RouterListener[] listeners;
    /**
     * Those that hear each event of every request (a request's start and end, its attempts and
     * retries), which many listeners leave to the interface's empty default: the others are not
     * called for them.
     */
    private final RouterListener[] requestComplete;
    private final RouterListener[] retry;
    private final RouterListener[] requestStart;
    private final RouterListener[] attemptStart;
    private final RouterListener[] attemptEnd;

    /** The parameters of the attempt events, to find which listeners override them. */
    private static final Class<?>[] ATTEMPT_START = {String.class, String.class, int.class, java.util.function.BiConsumer.class};
    private static final Class<?>[] ATTEMPT_END = {String.class, String.class, int.class, int.class, String.class};

    private SafeListener(List<RouterListener> listeners) {
        this.listeners = listeners.toArray(new RouterListener[0]);
        this.requestComplete = hearing(listeners, "onRequestComplete", RequestRecord.class);
        this.retry = hearing(listeners, "onRetry", String.class, String.class, String.class);
        this.requestStart = hearing(listeners, "onRequestStart", String.class, String.class,
                io.vllmrouter.api.RouterRequest.class);
        this.attemptStart = hearing(listeners, "onAttemptStart", ATTEMPT_START);
        this.attemptEnd = hearing(listeners, "onAttemptEnd", ATTEMPT_END);
    }

    private static RouterListener[] hearing(List<RouterListener> listeners, String method, Class<?>... params) {
        return listeners.stream().filter(l -> overrides(l, method, params)).toArray(RouterListener[]::new);
    }

    /** Whether {@code l}'s class has its own {@code method}, not the interface's empty default. */
    static boolean overrides(RouterListener l, String method, Class<?>... params) {
        try {
            return l.getClass().getMethod(method, params).getDeclaringClass() != RouterListener.class;
        } catch (NoSuchMethodException e) {
            return true; // cannot tell: call it
        }
    }

    /**
     * Whether {@code l} hears attempts ({@code onAttemptStart}, {@code onAttemptEnd}): when it does
     * not, the router skips preparing them.
     */
    static boolean hearsAttempts(RouterListener l) {
        if (l instanceof SafeListener s) {
            return s.attemptStart.length > 0 || s.attemptEnd.length > 0;
        }
        return overrides(l, "onAttemptStart", ATTEMPT_START) || overrides(l, "onAttemptEnd", ATTEMPT_END);
    }

    /** {@code listeners} guarded, in order; a no-op listener when there are none. */
    static RouterListener of(List<RouterListener> listeners) {
        return listeners.isEmpty() ? new RouterListener() { } : new SafeListener(listeners);
    }

    /** One line for the operator; the trace, for the listener's author, at DEBUG. */
    private static void failed(RouterListener l, String method, RuntimeException e) {
        String what = "listener " + l.getClass().getName() + " failed in " + method;
        LOG.log(Level.WARNING, what + ": " + e);
        LOG.log(Level.DEBUG, what, e);
    }

    @Override
    public void onRequestComplete(RequestRecord r) {
        for (RouterListener l : requestComplete) {
            try {
                l.onRequestComplete(r);
            } catch (RuntimeException e) {
                failed(l, "onRequestComplete", e);
            }
        }
    }

    @Override
    public void onRequestStart(String requestId, String model, io.vllmrouter.api.RouterRequest request) {
        for (RouterListener l : requestStart) {
            try {
                l.onRequestStart(requestId, model, request);
            } catch (RuntimeException e) {
                failed(l, "onRequestStart", e);
            }
        }
    }

    @Override
    public void onAttemptStart(String requestId, String backend, int attempt,
                               java.util.function.BiConsumer<String, String> header) {
        for (RouterListener l : attemptStart) {
            try {
                l.onAttemptStart(requestId, backend, attempt, header);
            } catch (RuntimeException e) {
                failed(l, "onAttemptStart", e);
            }
        }
    }

    @Override
    public void onAttemptEnd(String requestId, String backend, int attempt, int status, String failure) {
        for (RouterListener l : attemptEnd) {
            try {
                l.onAttemptEnd(requestId, backend, attempt, status, failure);
            } catch (RuntimeException e) {
                failed(l, "onAttemptEnd", e);
            }
        }
    }

    @Override
    public void onRetry(String requestId, String failedBackend, String reason) {
        for (RouterListener l : retry) {
            try {
                l.onRetry(requestId, failedBackend, reason);
            } catch (RuntimeException e) {
                failed(l, "onRetry", e);
            }
        }
    }

    @Override
    public void onHealthCheck(String backend, boolean passed, String reason) {
        for (RouterListener l : listeners) {
            try {
                l.onHealthCheck(backend, passed, reason);
            } catch (RuntimeException e) {
                failed(l, "onHealthCheck", e);
            }
        }
    }

    @Override
    public void onHealthChange(String backend, boolean healthy, String reason) {
        for (RouterListener l : listeners) {
            try {
                l.onHealthChange(backend, healthy, reason);
            } catch (RuntimeException e) {
                failed(l, "onHealthChange", e);
            }
        }
    }

    @Override
    public void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
        for (RouterListener l : listeners) {
            try {
                l.onCircuitStateChange(backend, from, to);
            } catch (RuntimeException e) {
                failed(l, "onCircuitStateChange", e);
            }
        }
    }

    @Override
    public void onConfigReload(boolean applied, String error) {
        for (RouterListener l : listeners) {
            try {
                l.onConfigReload(applied, error);
            } catch (RuntimeException e) {
                failed(l, "onConfigReload", e);
            }
        }
    }

    @Override
    public void onMetricsScraped(String backend, boolean ok) {
        for (RouterListener l : listeners) {
            try {
                l.onMetricsScraped(backend, ok);
            } catch (RuntimeException e) {
                failed(l, "onMetricsScraped", e);
            }
        }
    }

    @Override
    public void onModelsRefreshed(String backend, List<String> models) {
        for (RouterListener l : listeners) {
            try {
                l.onModelsRefreshed(backend, models);
            } catch (RuntimeException e) {
                failed(l, "onModelsRefreshed", e);
            }
        }
    }
}
