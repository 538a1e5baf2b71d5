package io.vllmrouter.core.discovery;

import io.vllmrouter.core.DefaultVllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.URI;
import java.util.List;
import java.util.function.Consumer;

import static org.assertj.core.api.Assertions.assertThat;

/** Discovered servers reach a real router through reconfigure, next to the file's servers. */
@Timeout(60)
@ExtendWith(QuietDiscoveryLogs.class)
class FleetDiscoveryTest {

    /** A discovery the test drives by hand. */
    static final class ManualDiscovery implements Discovery {
        Consumer<List<ServerConfig>> onChange;
        boolean closed;

        @Override
        public void start(Consumer<List<ServerConfig>> listener) {
            onChange = listener;
        }

        @Override
        public void close() {
            closed = true;
        }
    }

    private static ServerConfig server(String url, int capacity) {
        return new ServerConfig(URI.create(url), capacity, List.of("llama"), null);
    }

    private static List<String> ids(DefaultVllmRouter router) {
        return router.config().servers().stream().map(s -> s.id() + " x" + s.maxConcurrentRequests()).toList();
    }

    @Test
    void podsJoinAndLeaveLikeAHotReload() {
        FakeClock clock = new FakeClock();   // nothing in the background runs unless the test advances it
        RouterConfig file = RouterConfig.builder().enableActiveHealthCheck(false)
                .server(server("http://127.0.0.1:9001", 2)).build();
        ManualDiscovery discovery = new ManualDiscovery();
        try (DefaultVllmRouter router = VllmRouters.builder().config(file).ticker(clock).scheduler(clock).buildRouter();
             FleetDiscovery fleet = new FleetDiscovery(router, discovery)) {
            fleet.start();
            assertThat(ids(router)).containsExactly("http://127.0.0.1:9001 x2");

            discovery.onChange.accept(List.of(server("http://127.0.0.1:9101", 8), server("http://127.0.0.1:9102", 4)));
            assertThat(ids(router)).containsExactly("http://127.0.0.1:9001 x2", "http://127.0.0.1:9101 x8",
                    "http://127.0.0.1:9102 x4");
            assertThat(router.stats().servers()).extracting(s -> s.url()).contains("http://127.0.0.1:9102");

            discovery.onChange.accept(List.of(server("http://127.0.0.1:9102", 4)));
            assertThat(ids(router)).containsExactly("http://127.0.0.1:9001 x2", "http://127.0.0.1:9102 x4");

            // A new file keeps the discovered servers; a server in both is kept once, as in the file.
            fleet.rebase(file.toBuilder().servers(List.of(server("http://127.0.0.1:9102", 16))).build());
            assertThat(ids(router)).containsExactly("http://127.0.0.1:9102 x16");
            assertThat(fleet.discovered()).hasSize(1);

            discovery.onChange.accept(List.of());
            assertThat(ids(router)).containsExactly("http://127.0.0.1:9102 x16");
            assertThat(fleet.reloadFileNow()).isFalse();
        }
        assertThat(discovery.closed).isTrue();
    }

    @Test
    void endpointSlicesFromTheApiServerBecomeTheRoutersServers() throws Exception {
        FakeClock clock = new FakeClock();
        try (FakeKubernetesApi api = new FakeKubernetesApi()
                .list(FakeKubernetesApi.sliceList("10", FakeKubernetesApi.slice("vllm-1", "10",
                        FakeKubernetesApi.endpoint("pod-a", "127.0.0.31", true),
                        FakeKubernetesApi.endpoint("pod-b", "127.0.0.32", false))))
                .watch(FakeKubernetesApi.Answer.stream(FakeKubernetesApi.event("MODIFIED", FakeKubernetesApi.slice("vllm-1", "11",
                        FakeKubernetesApi.endpoint("pod-b", "127.0.0.32", true)))));
             DefaultVllmRouter router = VllmRouters.builder().config(RouterConfig.builder().enableActiveHealthCheck(false).build())
                     .ticker(clock).scheduler(clock).buildRouter();
             FleetDiscovery fleet = new FleetDiscovery(router, new KubernetesDiscovery(
                     DiscoveryConfig.builder(DiscoveryConfig.Kind.KUBERNETES).namespace("llm").service("vllm").port("http")
                             .defaultCapacity(5).tokenFile(null).build(),
                     clock, java.net.http.HttpClient.newHttpClient(), api.uri()))) {
            fleet.start();
            clock.runDueTasks();   // list (pod-a), watch (pod-a leaves, pod-b ready), then a failed watch backs off
            assertThat(ids(router)).containsExactly("http://127.0.0.32:8000 x5");
            assertThat(router.stats().servers()).extracting(s -> s.url()).contains("http://127.0.0.32:8000");
            assertThat(fleet.discovered()).extracting(ServerConfig::id).containsExactly("http://127.0.0.32:8000");
        }
    }
}
