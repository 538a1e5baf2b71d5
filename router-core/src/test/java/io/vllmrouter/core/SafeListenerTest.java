package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.CircuitState;
import io.vllmrouter.api.RouterListener;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The host's listeners: each hears every event in the order added; one that throws stops no other. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class SafeListenerTest {

    /** Records what it hears, and throws on every event when asked to. */
    private static final class Heard implements RouterListener {
        private final String name;
        private final List<String> log;
        private final boolean throwing;

        Heard(String name, List<String> log, boolean throwing) {
            this.name = name;
            this.log = log;
            this.throwing = throwing;
        }

        private void heard(String event) {
            log.add(name + ":" + event);
            if (throwing) {
                throw new IllegalStateException("listener " + name + " broke");
            }
        }

        @Override
        public void onRetry(String requestId, String failedBackend, String reason) {
            heard("retry " + requestId);
        }

        @Override
        public void onCircuitStateChange(String backend, CircuitState from, CircuitState to) {
            heard("circuit " + to);
        }

        @Override
        public void onConfigReload(boolean applied, String error) {
            heard("reload " + applied);
        }
    }

    @Test
    void everyListenerHearsEveryEventInOrderEvenAfterOneThrows() {
        List<String> log = new ArrayList<>();
        RouterListener all = SafeListener.of(List.of(new Heard("a", log, false), new Heard("b", log, true),
                new Heard("c", log, false)));
        all.onRetry("r1", "http://gpu-a:8000", "reset");
        all.onCircuitStateChange("http://gpu-a:8000", CircuitState.CLOSED, CircuitState.OPEN);
        all.onConfigReload(true, null);
        assertThat(log).containsExactly("a:retry r1", "b:retry r1", "c:retry r1",
                "a:circuit OPEN", "b:circuit OPEN", "c:circuit OPEN",
                "a:reload true", "b:reload true", "c:reload true");
    }

    @Test
    void noListenerIsANoOp() {
        RouterListener none = SafeListener.of(List.of());
        none.onRetry("r1", "http://gpu-a:8000", "reset");
        none.onConfigReload(false, "bad");
        assertThat(none).isNotInstanceOf(SafeListener.class);
    }

    @Test
    void attemptsArePreparedOnlyWhenSomeListenerHearsThem() {
        List<String> log = new ArrayList<>();
        RouterListener requestsOnly = new RouterListener() {
            @Override
            public void onRequestComplete(RequestRecord r) {
                log.add("complete " + r.requestId());
            }
        };
        RouterListener attempts = new RouterListener() {
            @Override
            public void onAttemptEnd(String requestId, String backend, int attempt, int status, String failure) {
                log.add("attempt " + attempt + " of " + requestId + " " + status);
            }
        };
        assertThat(SafeListener.hearsAttempts(SafeListener.of(List.of()))).isFalse();
        assertThat(SafeListener.hearsAttempts(SafeListener.of(List.of(requestsOnly, new Heard("a", log, false))))).isFalse();
        assertThat(SafeListener.hearsAttempts(attempts)).isTrue();

        RouterListener both = SafeListener.of(List.of(requestsOnly, attempts));
        assertThat(SafeListener.hearsAttempts(both)).isTrue();
        both.onAttemptEnd("r1", "http://gpu-a:8000", 1, 200, null);
        both.onRequestComplete(new RouterListener.RequestRecord("r1", "m", false, "http://gpu-a:8000", 200,
                io.vllmrouter.api.RequestOutcome.SUCCESS, 1, 1, 0, 0));
        assertThat(log).containsExactly("attempt 1 of r1 200", "complete r1");
    }

}
