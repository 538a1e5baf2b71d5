package io.vllmrouter.core;

import io.vllmrouter.core.config.ConfigWatcher;
import io.vllmrouter.api.RouterListener;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.BackendStats;
import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A router built from a TOML file picks up edits at config_reload_interval and refuses broken ones. */
class ConfigFileReloadTest {

    @TempDir
    Path dir;

    private final FakeClock clock = new FakeClock();
    private final TestSupport.FakeProbe probe = new TestSupport.FakeProbe();
    private final List<String> reloads = new CopyOnWriteArrayList<>();
    private DefaultVllmRouter router;

    @AfterEach
    void stop() {
        if (router != null) {
            router.close();
        }
    }

    private static String toml(String... urls) {
        StringBuilder sb = new StringBuilder("[servers]\nservers = [\n");
        for (String u : urls) {
            sb.append("  { url = \"").append(u).append("\", max_concurrent_requests = 4 },\n");
        }
        return sb.append("]\n\n[config]\nconfig_reload_interval = 5\nenable_active_health_check = false\n").toString();
    }

    private DefaultVllmRouter build(Path file) {
        router = VllmRouters.builder().configFile(file).env(Map.of()).ticker(clock).scheduler(clock).probe(probe)
                .listener(new RouterListener() {
                    @Override
                    public void onConfigReload(boolean applied, String error) {
                        reloads.add(applied ? "applied" : "refused: " + error);
                    }
                })
                .buildRouter();
        return router;
    }

    private List<String> urls() {
        return router.stats().servers().stream().filter(s -> !s.draining()).map(BackendStats::url).toList();
    }

    @Test
    void editsAreAppliedAtTheReloadIntervalAndABrokenFileChangesNothing() throws Exception {
        Path file = dir.resolve("servers.toml");
        Files.writeString(file, toml("http://gpu-1:8000"));
        build(file);
        assertThat(urls()).containsExactly("http://gpu-1:8000");
        var firstLoad = router.stats().configLoadedAt();

        Files.writeString(file, toml("http://gpu-1:8000", "http://gpu-2:8000"));
        clock.advance(Duration.ofSeconds(4));
        assertThat(urls()).as("not before config_reload_interval").containsExactly("http://gpu-1:8000");
        clock.advance(Duration.ofSeconds(1));
        assertThat(urls()).as("seen, and applied once it has stayed the same a moment").containsExactly("http://gpu-1:8000");
        clock.advance(ConfigWatcher.SETTLE);
        assertThat(urls()).containsExactly("http://gpu-1:8000", "http://gpu-2:8000");
        assertThat(router.stats().configLoadedAt()).isAfter(firstLoad);
        assertThat(reloads).containsExactly("applied");

        Files.writeString(file, toml("http://gpu-2:8000").replace("max_concurrent_requests = 4", "max_concurrent_requests = 0"));
        clock.advance(Duration.ofSeconds(5).plus(ConfigWatcher.SETTLE));
        assertThat(urls()).as("a broken file changes nothing").containsExactly("http://gpu-1:8000", "http://gpu-2:8000");
        assertThat(reloads).hasSize(2);
        assertThat(reloads.get(1)).startsWith("refused: ").contains("max_concurrent_requests").contains("0");

        Files.writeString(file, toml("http://gpu-2:8000"));
        assertThat(router.reloadConfig()).isTrue();
        clock.advance(ConfigWatcher.SETTLE);
        assertThat(urls()).as("fewer servers: not at the first settle").containsExactly("http://gpu-1:8000", "http://gpu-2:8000");
        clock.advance(ConfigWatcher.REMOVAL_SETTLE);
        assertThat(urls()).as("removed on an explicit reload, once the file has settled longer").containsExactly("http://gpu-2:8000");
    }

    @Test
    void aMissingOrInvalidFileFailsTheBuildNamingTheProblem() throws Exception {
        Path missing = dir.resolve("nope.toml");
        assertThatThrownBy(() -> build(missing)).isInstanceOf(ConfigException.class).hasMessageContaining("nope.toml");
        Path bad = dir.resolve("bad.toml");
        Files.writeString(bad, "[config]\nstrategy = \"fastest\"\n");
        assertThatThrownBy(() -> build(bad)).hasMessageContaining("fastest");
    }
}
