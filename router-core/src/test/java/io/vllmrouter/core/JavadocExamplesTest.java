package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ConfigWatcher;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.testing.FakeClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The class javadocs' {@code {@code}} examples, compiled and run as written there. */
class JavadocExamplesTest {

    @TempDir
    Path dir;

    @Test
    void healthTrackerExample() {
        FakeClock clock = new FakeClock();
        HealthTracker.Rules rules = new HealthTracker.Rules(3, 2, 10, 0.8);
        // as in HealthTracker's javadoc:
        HealthTracker t = new HealthTracker();
        HealthTracker.Change first = t.record(true, 8.0, null, clock.currentTimeMillis(), rules);
        assertThat(first).as("the first pass admits").isEqualTo(HealthTracker.Change.ADMITTED);
        HealthTracker.Change c = t.record(false, 12.0, "status 503", clock.currentTimeMillis(), rules);
        assertThat(c).as("one failure of three").isNull();
        assertThat(t.record(false, 12.0, "status 503", clock.currentTimeMillis(), rules)).isNull();
        assertThat(t.record(false, 12.0, "status 503", clock.currentTimeMillis(), rules))
                .isEqualTo(HealthTracker.Change.EJECTED);
    }

    @Test
    void configWatcherExample() throws Exception {
        FakeClock scheduler = new FakeClock();
        Path file = dir.resolve("servers.toml");
        Files.writeString(file, "[servers]\nservers = [ { url = \"http://gpu-1:8000\", max_concurrent_requests = 4 } ]\n");
        RouterConfig config = RouterConfig.builder().server(new ServerConfig("http://gpu-1:8000", 4)).build();
        List<RouterConfig> applied = new CopyOnWriteArrayList<>();
        List<ConfigException> refused = new CopyOnWriteArrayList<>();
        Reconfigurable router = applied::add;
        // as in ConfigWatcher's javadoc (the error goes to a list here instead of System.err):
        ConfigWatcher watcher = new ConfigWatcher(file, System.getenv(), scheduler,
                config.configReloadInterval(), router::reconfigure, e -> refused.add(e));
        watcher.start();
        Files.writeString(file, "[servers]\nservers = [ { url = \"http://gpu-2:8000\", max_concurrent_requests = 4 } ]\n");
        scheduler.advance(config.configReloadInterval().plus(ConfigWatcher.SETTLE)); // seen, then settled
        watcher.close();
        assertThat(applied).singleElement().satisfies(c -> assertThat(c.servers().get(0).id()).isEqualTo("http://gpu-2:8000"));
        assertThat(refused).isEmpty();
    }

    /** What the example needs of a router: {@link DefaultVllmRouter#reconfigure(RouterConfig)}. */
    private interface Reconfigurable {
        void reconfigure(RouterConfig config);
    }
}
