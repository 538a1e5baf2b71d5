package io.vllmrouter.core;

import io.vllmrouter.core.config.ConfigWatcher;
import io.vllmrouter.api.RouterListener;
import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.equalTo;
import static com.github.tomakehurst.wiremock.client.WireMock.post;
import static com.github.tomakehurst.wiremock.client.WireMock.postRequestedFor;
import static com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.wireMockConfig;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.testing.FakeClock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Rotating a server's {@code api_key} in the file reaches the backend at the next reload. */
class ApiKeyRotationTest {

    @TempDir
    Path dir;

    private final FakeClock clock = new FakeClock();
    private final List<String> reloads = new CopyOnWriteArrayList<>();
    private WireMockServer backend;
    private DefaultVllmRouter router;

    @BeforeEach
    void start() {
        backend = new WireMockServer(wireMockConfig().dynamicPort().bindAddress("127.0.0.1"));
        backend.start();
        backend.stubFor(post("/v1/completions").willReturn(aResponse().withStatus(200).withBody("ok")));
    }

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
        backend.stop();
    }

    private String toml(String key) {
        return "[servers]\nservers = [\n  { url = \"" + backend.baseUrl() + "\", max_concurrent_requests = 4, api_key = \""
                + key + "\" },\n]\n\n[config]\nconfig_reload_interval = 5\nenable_active_health_check = false\n";
    }

    private void send() throws Exception {
        RouterRequest r = RouterRequest.post("/v1/completions", "{}".getBytes(StandardCharsets.UTF_8))
                .header("Authorization", "Bearer caller-key").build();
        try (RouterResponse response = router.route(r)) {
            assertThat(response.body().readAllBytes()).asString(StandardCharsets.UTF_8).isEqualTo("ok");
        }
    }

    @Test
    void aReloadThatChangesOnlyTheApiKeySendsTheNewKey() throws Exception {
        Path file = dir.resolve("servers.toml");
        Files.writeString(file, toml("old-key"));
        router = VllmRouters.builder().configFile(file).env(Map.of()).ticker(clock).scheduler(clock)
                .probe(new TestSupport.FakeProbe())
                .listener(new RouterListener() {
                    @Override
                    public void onConfigReload(boolean applied, String error) {
                        reloads.add(applied ? "applied" : "refused: " + error);
                    }
                })
                .buildRouter();
        send();
        backend.verify(1, postRequestedFor(urlEqualTo("/v1/completions"))
                .withHeader("Authorization", equalTo("Bearer old-key")));

        Files.writeString(file, toml("new-key"));
        clock.advance(Duration.ofSeconds(5).plus(ConfigWatcher.SETTLE));
        assertThat(reloads).as("the key is the only change, and it is one").containsExactly("applied");
        send();
        backend.verify(1, postRequestedFor(urlEqualTo("/v1/completions"))
                .withHeader("Authorization", equalTo("Bearer new-key")));
        backend.verify(2, postRequestedFor(urlEqualTo("/v1/completions")));
    }
}
