package io.vllmrouter.examples.cli;

import io.vllmrouter.api.BackendState;
import io.vllmrouter.api.BackendStats;
import io.vllmrouter.core.DefaultVllmRouter;
import io.vllmrouter.examples.dashboard.ServerNames;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** What {@code run} says at start about servers that are not eligible after their first health check. */
final class FirstChecks {

    private FirstChecks() {
    }

    /**
     * Waits at most {@code timeout} for every server's first health check, then names each server
     * that is not eligible, with the reason, e.g. {@code "gpu-2 (http://10.0.0.2:8000) is not eligible:
     * not ready: health check failed: GET http://10.0.0.2:8000/health: connection refused"}.
     */
    static List<String> await(DefaultVllmRouter router, Duration timeout) throws InterruptedException {
        try {
            router.firstHealthChecks().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // checks still running: report what is known
        }
        Map<String, String> names = ServerNames.of(router.config());
        List<String> out = new ArrayList<>();
        for (BackendStats s : router.stats().servers()) {
            if (s.state() != BackendState.ELIGIBLE) {
                String name = names.get(s.url());
                out.add((name == null ? s.url() : name + " (" + s.url() + ")") + " is not eligible: " + s.stateReason());
            }
        }
        return out;
    }
}
