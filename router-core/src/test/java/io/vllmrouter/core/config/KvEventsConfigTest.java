package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.vllmrouter.core.VllmRouters;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** A server's {@code kv_events}, {@code kv_events_replay} and {@code kv_events_ranks}, and the index settings. */
class KvEventsConfigTest {

    static RouterConfig parse(String server) {
        return ConfigLoader.parse("[servers]\nservers = [\n  { url = \"http://a:8000\" },\n  " + server + "\n]\n",
                "servers.toml", Map.of());
    }

    @Test
    void aServerNamesItsEventStream() {
        RouterConfig c = parse("{ url = \"http://b:8000\", kv_events = \"tcp://b:5557\", kv_events_replay = \"tcp://b:5558\", "
                + "kv_events_ranks = 2 }");
        assertThat(c.servers().get(0).kvEvents()).isNull();
        assertThat(c.servers().get(1).kvEvents()).isEqualTo(new KvEventsConfig("tcp://b:5557", "tcp://b:5558", 2));
        assertThat(parse("{ url = \"http://b:8000\", kv_events = \" tcp://10.0.0.2:5557 \" }").servers().get(1).kvEvents())
                .isEqualTo(new KvEventsConfig("tcp://10.0.0.2:5557", null, 1));
    }

    static Stream<Arguments> badValues() {
        String endpoint = "tcp://host:port, where the server's --kv-events-config binds";
        return Stream.of(
                Arguments.of("kv_events = \"udp://b:5557\"", "kv_events", "\"udp://b:5557\"", endpoint),
                Arguments.of("kv_events = \"tcp://b\"", "kv_events", "\"tcp://b\"", endpoint),
                Arguments.of("kv_events = \"tcp://*:5557\"", "kv_events", "\"tcp://*:5557\"", endpoint),
                Arguments.of("kv_events = 5557", "kv_events", "5557", endpoint + ", in quotes"),
                Arguments.of("kv_events = \"tcp://b:5557\", kv_events_replay = \"b:5558\"", "kv_events_replay",
                        "\"b:5558\"", endpoint),
                Arguments.of("kv_events = \"tcp://b:5557\", kv_events_ranks = 0", "kv_events_ranks", "0", "integer 1..256"),
                Arguments.of("kv_events = \"tcp://b:5557\", kv_events_ranks = \"2\"", "kv_events_ranks", "\"2\"", "integer 1..256"),
                Arguments.of("kv_events = \"tcp://b:65535\", kv_events_ranks = 2", "kv_events_ranks", "2",
                        "ranks whose ports, one per rank after the configured one, stay <= 65535"),
                Arguments.of("kv_events_replay = \"tcp://b:5558\"", "kv_events_replay", "\"tcp://b:5558\"",
                        "no kv_events_replay without kv_events = \"tcp://host:port\" in the same server entry"));
    }

    @ParameterizedTest
    @MethodSource("badValues")
    void aBadValueIsNamedWithItsLine(String keys, String key, String shown, String expected) {
        ConfigException e = catchThrowableOfType(ConfigException.class,
                () -> parse("{ url = \"http://b:8000\", " + keys + " }"));
        assertThat(e.getMessage()).isEqualTo("servers.toml:4: servers[1]." + key + " = " + shown + " (expected: " + expected + ")");
    }

    @Test
    void anIndexSettingIsChecked() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(
                "[servers]\nservers = [ { url = \"http://a:8000\" } ]\n[config]\nstrategy = \"cache-aware\"\n"
                        + "[strategies.cache-aware]\nindex = \"exact\"\n", "servers.toml", Map.of()));
        assertThat(e.getMessage()).isEqualTo(
                "servers.toml:6: strategies.cache-aware.index = \"exact\" (expected: \"approximate\" or \"kv-events\")");
    }

    @Test
    void kvEventsWithoutTheModuleFailsAtStartNamingIt() {
        RouterConfig c = RouterConfig.builder().server(new ServerConfig("http://127.0.0.1:9", 1))
                .strategy("cache-aware").strategySettings("cache-aware", Map.of("index", "kv-events")).build();
        assertThatThrownBy(() -> VllmRouters.builder().config(c).build().close())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("index: \"kv-events\" (expected: the router-kv-events module on the class path, "
                        + "as in the standalone proxy; or index = \"approximate\")");
        assertThat(List.of(c.servers().get(0).kvEvents() == null)).containsExactly(true);
    }
}
