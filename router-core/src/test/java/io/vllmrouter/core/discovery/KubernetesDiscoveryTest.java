package io.vllmrouter.core.discovery;

import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;

import static io.vllmrouter.core.discovery.FakeKubernetesApi.endpoint;
import static io.vllmrouter.core.discovery.FakeKubernetesApi.event;
import static io.vllmrouter.core.discovery.FakeKubernetesApi.slice;
import static io.vllmrouter.core.discovery.FakeKubernetesApi.sliceList;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * EndpointSlice discovery against {@link FakeKubernetesApi}. Steps run on a {@link FakeClock}, on the
 * test thread: each {@code runDueTasks()} lists and watches until the fake's script ends in a failure,
 * whose back-off the clock then holds.
 */
@Timeout(60)
@org.junit.jupiter.api.extension.ExtendWith(QuietDiscoveryLogs.class)
class KubernetesDiscoveryTest {

    private final FakeClock clock = new FakeClock();
    private final List<List<String>> reported = new CopyOnWriteArrayList<>();
    private FakeKubernetesApi api;
    private KubernetesDiscovery discovery;

    @AfterEach
    void tearDown() {
        if (discovery != null) {
            discovery.close();
        }
        if (api != null) {
            api.close();
        }
    }

    private KubernetesDiscovery start(DiscoveryConfig config) {
        discovery = new KubernetesDiscovery(config, clock, HttpClient.newHttpClient(), api.uri());
        discovery.start(servers -> reported.add(servers.stream()
                .map(s -> s.id() + " x" + s.maxConcurrentRequests()).collect(Collectors.toList())));
        return discovery;
    }

    private static DiscoveryConfig.Builder config() {
        return DiscoveryConfig.builder(DiscoveryConfig.Kind.KUBERNETES).namespace("llm").service("vllm").port("http")
                .defaultCapacity(4).tokenFile(null);
    }

    @Test
    void listsThenWatchesAndFollowsPodsThatComeAndGo() throws Exception {
        api = new FakeKubernetesApi()
                .pod("pod-a", "{\"vllm-router.io/max-concurrent-requests\":\"8\"}")
                .pod("pod-c", "{}")
                .pod("pod-d", "{\"vllm-router.io/max-concurrent-requests\":\"zero\"}")
                .list(sliceList("100", slice("vllm-abc", "90",
                        endpoint("pod-a", "127.0.0.11", true),
                        endpoint("pod-b", "127.0.0.12", false),
                        endpoint("pod-c", "127.0.0.13", null))))
                .watch(FakeKubernetesApi.Answer.stream(
                        event("MODIFIED", slice("vllm-abc", "101",
                                endpoint("pod-a", "127.0.0.11", true),
                                endpoint("pod-b", "127.0.0.12", true),
                                endpoint("pod-c", "127.0.0.13", true))),
                        event("ADDED", slice("vllm-def", "102", endpoint("pod-d", "127.0.0.14", true))),
                        event("DELETED", slice("vllm-abc", "103")),
                        "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"EndpointSlice\",\"metadata\":{\"resourceVersion\":\"104\"}}}"))
                .watch(FakeKubernetesApi.Answer.status(410))                       // version too old: list again
                .list(sliceList("200", slice("vllm-def", "150",
                        endpoint("pod-d", "127.0.0.14", true),
                        endpoint("pod-e", "127.0.0.15", true))))
                .watch(FakeKubernetesApi.Answer.stream(
                        "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"message\":\"too old resource version\"}}"))
                .list(sliceList("300", slice("vllm-def", "250", endpoint("pod-e", "127.0.0.15", true))));
                // then the watch script is empty: 500, and the clock holds the back-off

        start(config().build());
        clock.runDueTasks();

        assertThat(reported).containsExactly(
                List.of("http://127.0.0.11:8000 x8", "http://127.0.0.13:8000 x4"),                 // list: ready ones only
                List.of("http://127.0.0.11:8000 x8", "http://127.0.0.12:8000 x4", "http://127.0.0.13:8000 x4"),
                List.of("http://127.0.0.11:8000 x8", "http://127.0.0.12:8000 x4", "http://127.0.0.13:8000 x4",
                        "http://127.0.0.14:8000 x4"),                                               // bad annotation: default
                List.of("http://127.0.0.14:8000 x4"),                                               // slice deleted
                List.of("http://127.0.0.14:8000 x4", "http://127.0.0.15:8000 x4"),                 // re-list after 410
                List.of("http://127.0.0.15:8000 x4"));                                              // re-list after ERROR 410

        List<String> slices = api.requests().stream().filter(r -> r.contains("endpointslices")).toList();
        assertThat(slices.get(0)).contains("/apis/discovery.k8s.io/v1/namespaces/llm/endpointslices")
                .contains("labelSelector=kubernetes.io/service-name=vllm").doesNotContain("watch=true");
        assertThat(slices.get(1)).contains("watch=true").contains("resourceVersion=100");
        assertThat(slices.get(2)).contains("watch=true").contains("resourceVersion=104");   // resumed after the bookmark
        assertThat(slices.get(3)).doesNotContain("watch=true");
        assertThat(slices.get(4)).contains("resourceVersion=200");
        assertThat(slices.get(5)).doesNotContain("watch=true");
        assertThat(slices.get(6)).contains("watch=true").contains("resourceVersion=300");
        assertThat(slices).hasSize(7);
        // Each pod's annotation is read once, not per event.
        assertThat(api.requests().stream().filter(r -> r.endsWith("/pods/pod-a")).count()).isEqualTo(1);

        // The failed watch waits 1 s, then 2 s, keeping the last list and the version.
        assertThat(clock.pendingTasks()).isEqualTo(1);
        clock.advance(Duration.ofMillis(999));
        assertThat(api.requests().stream().filter(r -> r.contains("endpointslices")).count()).isEqualTo(7);
        clock.advance(Duration.ofMillis(1));
        List<String> after = api.requests().stream().filter(r -> r.contains("endpointslices")).toList();
        assertThat(after).hasSize(8);
        assertThat(after.get(7)).contains("watch=true").contains("resourceVersion=300");
        clock.advance(Duration.ofMillis(1999));
        assertThat(api.requests().stream().filter(r -> r.contains("endpointslices")).count()).isEqualTo(8);
        clock.advance(Duration.ofMillis(1));
        assertThat(api.requests().stream().filter(r -> r.contains("endpointslices")).count()).isEqualTo(9);
        assertThat(reported).hasSize(6);
    }

    @Test
    void anySelectorAPortNumberAndTheServiceAccountToken(@TempDir Path dir) throws Exception {
        Path token = dir.resolve("token");
        Files.writeString(token, "secret-token\n");
        Files.writeString(dir.resolve("namespace"), "team-a\n");
        api = new FakeKubernetesApi()
                .list(sliceList("7", slice("s1", "7", endpoint("p1", "127.0.0.21", true))));
        DiscoveryConfig c = DiscoveryConfig.builder(DiscoveryConfig.Kind.KUBERNETES).selector("app=vllm,tier!=canary")
                .port(8001).tokenFile(token).capacityAnnotation(null).defaultCapacity(2).build();
        start(c);
        clock.runDueTasks();

        assertThat(discovery.namespace()).isEqualTo("team-a");
        assertThat(reported).containsExactly(List.of("http://127.0.0.21:8001 x2"));
        assertThat(api.requests().get(0)).contains("/namespaces/team-a/").contains("labelSelector=app=vllm,tier!=canary");
        assertThat(api.authorizations()).allMatch(a -> a.equals("Bearer secret-token"));
        assertThat(api.requests()).noneMatch(r -> r.contains("/pods/"));
    }

    @Test
    void backoffDoublesUpToTheMaximum() throws Exception {
        api = new FakeKubernetesApi();
        KubernetesDiscovery d = new KubernetesDiscovery(config().backoffMax(Duration.ofSeconds(5)).build(), clock,
                HttpClient.newHttpClient(), api.uri());
        assertThat(List.of(d.backoff(1), d.backoff(2), d.backoff(3), d.backoff(4), d.backoff(40)))
                .containsExactly(Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(4),
                        Duration.ofSeconds(5), Duration.ofSeconds(5));
    }

    @Test
    void closeStopsTheSchedule() throws Exception {
        api = new FakeKubernetesApi();   // every answer is 500
        start(config().build());
        clock.runDueTasks();
        assertThat(clock.pendingTasks()).isEqualTo(1);
        discovery.close();
        clock.advance(Duration.ofMinutes(5));
        assertThat(api.requests()).hasSize(1);
        assertThat(reported).isEmpty();
    }

    static ServerConfig server(String url, int capacity) {
        return new ServerConfig(java.net.URI.create(url), capacity, List.of(), null);
    }
}
