package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.RouterConfigBuilder;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which backends each configuration makes, on its own: no fleet, no probes, no requests. */
class FleetMembersTest {

    private static final String A = "http://gpu-a:8000";
    private static final String B = "http://gpu-b:8000";
    private static final String C = "http://gpu-c:8000";

    private final FleetMembers members = new FleetMembers(new FakeClock());
    /** The backends a breaker was made for, in order. */
    private final List<String> breakersMade = new ArrayList<>();
    private List<Backend> current = List.of();

    private static RouterConfigBuilder config() {
        return RouterConfig.builder().enableActiveHealthCheck(false);
    }

    private FleetMembers.Change apply(RouterConfig c, boolean newBreakers) {
        FleetMembers.Change change = members.reconcile(current, c, newBreakers, b -> {
            breakersMade.add(b.id());
            return new Breaker(CircuitBreaker.ofDefaults(b.id()), (from, to) -> { });
        });
        current = change.backends();
        return change;
    }

    private static List<String> ids(List<Backend> backends) {
        return backends.stream().map(Backend::id).toList();
    }

    @Test
    void newServersGetBackendsWithBreakersAndAreProbedAtOnce() {
        FleetMembers.Change first = apply(config().server(new ServerConfig(A, 4)).server(new ServerConfig(B, 8)).build(), true);
        assertThat(ids(first.backends())).containsExactly(A, B);
        assertThat(ids(first.probeNow())).containsExactly(A, B);
        assertThat(breakersMade).containsExactly(A, B);
        assertThat(first.backends().get(1).index()).isEqualTo(1);
        assertThat(members.draining()).isEmpty();
    }

    @Test
    void aKeptServerKeepsItsBackendAndTakesItsNewSettings() {
        apply(config().server(new ServerConfig(A, 4)).server(new ServerConfig(B, 8)).build(), true);
        Backend b = current.get(1);
        Breaker breaker = b.admission.breaker();

        FleetMembers.Change change = apply(config().server(new ServerConfig(B, 16)).server(new ServerConfig(C, 2)).build(), false);
        assertThat(change.backends().get(0)).isSameAs(b);
        assertThat(b.capacity()).isEqualTo(16);
        assertThat(b.index()).isEqualTo(0);
        assertThat(b.admission.breaker()).as("same breaker settings: same breaker").isSameAs(breaker);
        assertThat(ids(change.probeNow())).containsExactly(C);

        apply(config().server(new ServerConfig(B, 16)).server(new ServerConfig(C, 2)).build(), true);
        assertThat(b.admission.breaker()).as("new breaker settings: a new breaker for every backend").isNotSameAs(breaker);
        assertThat(breakersMade).containsExactly(A, B, C, B, C);
    }

    @Test
    void aRemovedServerDrainsUntilIdleAndComesBackAsItWas() {
        apply(config().server(new ServerConfig(A, 4)).server(new ServerConfig(B, 4)).build(), true);
        Backend a = current.get(0);
        Backend b = current.get(1);
        a.load.inFlight.incrementAndGet();

        apply(config().server(new ServerConfig(C, 4)).build(), false);
        assertThat(a.admission.draining()).isTrue();
        assertThat(b.admission.draining()).isTrue();
        assertThat(members.draining()).as("only a backend with requests in flight is kept").containsExactly(a);

        FleetMembers.Change back = apply(config().server(new ServerConfig(A, 4)).server(new ServerConfig(C, 4)).build(), false);
        assertThat(back.backends().get(0)).as("revived, counters and all").isSameAs(a);
        assertThat(a.admission.draining()).isFalse();
        assertThat(members.draining()).isEmpty();
        assertThat(back.probeNow()).isEmpty();

        apply(config().server(new ServerConfig(C, 4)).build(), false);
        assertThat(members.draining()).containsExactly(a);
        members.releaseIdle();
        assertThat(members.draining()).as("still one in flight").containsExactly(a);
        a.load.inFlight.decrementAndGet();
        members.releaseIdle();
        assertThat(members.draining()).isEmpty();
    }

    @Test
    void configuredModelsApplyAndDroppingThemAsksTheServer() {
        apply(config().server(new ServerConfig(URI.create(A), 4, List.of("llama"), null)).build(), true);
        Backend a = current.get(0);
        assertThat(a.models()).containsExactly("llama");

        FleetMembers.Change other = apply(config().server(new ServerConfig(URI.create(A), 4, List.of("qwen"), null)).build(), false);
        assertThat(a.models()).containsExactly("qwen");
        assertThat(other.probeNow()).isEmpty();

        FleetMembers.Change none = apply(config().server(new ServerConfig(A, 4)).build(), false);
        assertThat(none.probeNow()).as("its models are the server's to say now").containsExactly(a);
    }
}
