package io.vllmrouter.examples.server.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ConfigLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The proxy's part of the configuration file: the front-door keys of [config] and the [auth] table. */
@Timeout(30)
class FrontDoorSettingsTest {

    @Test
    void authTableReadsKeysHashesAndAFile(@TempDir Path dir) throws Exception {
        Path keys = dir.resolve("keys.txt");
        Files.writeString(keys, "# team b\nsk-b\n\n  sk-c  \n");
        String hashOfD = HexFormat.of().formatHex(FrontDoorConfig.sha256("sk-d"));
        Path config = dir.resolve("servers.toml");
        Files.writeString(config, """
                [auth]
                api_keys = ["sk-a", "sha256:%s"]
                api_keys_file = "keys.txt"
                requests_per_minute = 60
                max_concurrent = 2
                protect_stats = false
                """.formatted(hashOfD.toUpperCase()));

        FrontDoorConfig a = FrontDoorSettings.of(ConfigLoader.load(config, Map.of()));

        assertThat(a.authEnabled()).isTrue();
        assertThat(a.keyDigests()).hasSize(4);
        assertThat(a.match("sk-a")).isNotNull();
        assertThat(a.match("sk-b")).isNotNull();
        assertThat(a.match("sk-c")).isNotNull();
        assertThat(a.match("sk-d")).isEqualTo(hashOfD);
        assertThat(a.match("sk-e")).isNull();
        assertThat(a.match(null)).isNull();
        assertThat(a.requestsPerMinute()).isEqualTo(60);
        assertThat(a.maxConcurrent()).isEqualTo(2);
        assertThat(a.protectStats()).isFalse();
        assertThat(a.toString()).doesNotContain("sk-a").doesNotContain(hashOfD);
    }

    @Test
    void noAuthTableMeansNoAuthentication() {
        FrontDoorConfig a = FrontDoorSettings.of(ConfigLoader.parse("", "empty.toml", Map.of()));

        assertThat(a).isEqualTo(FrontDoorConfig.DEFAULT);
        assertThat(a.authEnabled()).isFalse();
        assertThat(a.protectStats()).isTrue();
        assertThat(a.clientHeaderTimeout()).isEqualTo(FrontDoorConfig.DEFAULT_CLIENT_HEADER_TIMEOUT);
    }

    @Test
    void badAuthValuesAreNamed() {
        ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(
                "[auth]\napi_keys = [\"sha256:abc\"]\n", "servers.toml", Map.of()), ConfigException.class);
        assertThat(e.getMessage()).isEqualTo(
                "servers.toml:2: auth.api_keys = [...] (expected: \"sha256:\" followed by 64 hex digits)");

        e = catchThrowableOfType(() -> ConfigLoader.parse(
                "[auth]\n\nmax_concurrent = -1\n", "servers.toml", Map.of()), ConfigException.class);
        assertThat(e.getMessage()).isEqualTo("servers.toml:3: auth.max_concurrent = -1 (expected: integer >= 0, 0 = unlimited)");

        e = catchThrowableOfType(() -> ConfigLoader.parse(
                "[auth]\napi_key = \"x\"\n", "servers.toml", Map.of()), ConfigException.class);
        assertThat(e.key()).isEqualTo("auth.api_key");

        e = catchThrowableOfType(() -> ConfigLoader.parse(
                "[auth]\napi_keys_file = \"/nonexistent/keys.txt\"\n", "servers.toml", Map.of()), ConfigException.class);
        assertThat(e.key()).isEqualTo("auth.api_keys_file");
        assertThat(e.line()).isEqualTo(2);
    }

    @Test
    void aKeysFileWithNoKeyIsRefusedNotReadAsNoAuthentication(@TempDir Path dir) throws Exception {
        Path keys = dir.resolve("keys.txt");
        Path config = dir.resolve("servers.toml");
        Files.writeString(config, "[auth]\napi_keys_file = \"keys.txt\"\n");
        for (String emptied : new String[] {"", "# keys\n", "\n  \n"}) {
            Files.writeString(keys, emptied);
            ConfigException e = catchThrowableOfType(() -> ConfigLoader.load(config, Map.of()), ConfigException.class);
            assertThat(e).as("keys file %s", emptied.replace("\n", "\\n")).isNotNull();
            assertThat(e.key()).isEqualTo("auth.api_keys_file");
            assertThat(e.expected()).startsWith("a file with at least one key (").contains("has none")
                    .endsWith("to turn API keys off, remove api_keys_file)");
        }
        Files.writeString(keys, "# keys\nsk-a\n");
        assertThat(FrontDoorSettings.of(ConfigLoader.load(config, Map.of())).authEnabled()).isTrue();
    }

    @Test
    void aReloadNeverTurnsApiKeysOffEvenFromAWholeFile(@TempDir Path dir) throws Exception {
        Path config = dir.resolve("servers.toml");
        String servers = "[[servers.servers]]\nurl = \"http://127.0.0.1:9\"\n\n";
        Files.writeString(config, servers + "[auth]\napi_keys = [\"sk-a\"]\n");
        io.vllmrouter.testing.FakeClock clock = new io.vllmrouter.testing.FakeClock();
        java.util.List<io.vllmrouter.core.config.RouterConfig> changes = new java.util.ArrayList<>();
        java.util.List<ConfigException> errors = new java.util.ArrayList<>();
        try (io.vllmrouter.core.config.ConfigWatcher watcher = new io.vllmrouter.core.config.ConfigWatcher(config, Map.of(),
                clock, java.time.Duration.ofSeconds(5), ConfigLoader.load(config, Map.of()), changes::add, errors::add)) {
            watcher.start();
            // What a rewrite stalled just before [auth] for longer than the reload waits leaves: a whole-looking file.
            Files.writeString(config, servers);
            watcher.checkNow();
            clock.advance(io.vllmrouter.core.config.ConfigWatcher.SETTLE);

            assertThat(changes).isEmpty();
            assertThat(errors).singleElement().satisfies(e -> assertThat(e.getMessage())
                    .contains("turn API keys off, which a reload never does").contains("the running configuration stays"));

            Files.writeString(config, servers + "[auth]\napi_keys = [\"sk-b\"]\n");
            watcher.checkNow();
            clock.advance(io.vllmrouter.core.config.ConfigWatcher.SETTLE);
            assertThat(changes).as("new keys are applied").singleElement()
                    .satisfies(c -> assertThat(FrontDoorSettings.of(c).match("sk-b")).isNotNull());
        }
    }

    @Test
    void tlsNeedsBothFiles() {
        ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(
                "[config]\ntls_cert_file = \"cert.pem\"\n", "servers.toml", Map.of()), ConfigException.class);

        assertThat(e.key()).isEqualTo("config.tls_key_file");
        assertThat(e.expected()).isEqualTo("tls_cert_file and tls_key_file together");
    }

    @Test
    void everyFrontDoorKeyIsRead(@TempDir Path dir) throws Exception {
        FrontDoorConfig a = FrontDoorSettings.of(ConfigLoader.parse("""
                [config]
                client_header_timeout = 5
                client_body_timeout = 20
                client_idle_timeout = 90
                max_header_bytes = 16384
                max_header_count = 50
                max_buffered_body_bytes = 1000000
                max_body_bytes = 1048576
                allow_admin_paths = true
                tls_cert_file = "cert.pem"
                tls_key_file = "key.pem"
                [auth]
                admin_keys = ["sk-ops"]
                """, "all.toml", Map.of()));

        assertThat(a).isEqualTo(FrontDoorConfig.builder().clientHeaderTimeout(java.time.Duration.ofSeconds(5))
                .clientBodyTimeout(java.time.Duration.ofSeconds(20)).clientIdleTimeout(java.time.Duration.ofSeconds(90))
                .maxHeaderBytes(16384).maxHeaderCount(50).maxBufferedBodyBytes(1000000).maxBodyBytes(1048576)
                .allowAdminPaths(true).tlsCertFile(Path.of("cert.pem")).tlsKeyFile(Path.of("key.pem"))
                .adminKey("sk-ops").build());
        assertThat(FrontDoorSettings.CONFIG_KEYS).hasSize(10);
        assertThat(a.authEnabled()).as("admin keys alone do not ask clients for keys").isFalse();
        assertThat(a.matchAdmin("sk-ops")).isNotNull();
        assertThat(a.match("sk-ops")).as("an admin key is not a client key").isNull();
    }

    @Test
    void everyMistakeOfTheFrontDoorIsReportedWithTheRest() {
        ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse("""
                [config]
                max_retries = -1
                client_body_timeout = 0
                max_body_bytes = "big"
                [auth]
                api_key = "x"
                """, "servers.toml", Map.of()), ConfigException.class);

        assertThat(e.mistakes()).extracting(ConfigException::key)
                .containsExactlyInAnyOrder("config.max_retries", "config.client_body_timeout", "config.max_body_bytes",
                        "auth.api_key");
    }

    @Test
    void aTypoOfAFrontDoorKeyIsSuggested() {
        ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(
                "[config]\nclient_body_timout = 5\n", "servers.toml", Map.of()), ConfigException.class);
        assertThat(e.getMessage()).contains("did you mean client_body_timeout?");
    }

    private static final String SECONDS = "number of seconds > 0";

    static java.util.stream.Stream<org.junit.jupiter.params.provider.Arguments> badFrontDoorValues() {
        return java.util.stream.Stream.of(
                bad("max_body_bytes", "0", "integer >= 1"),
                bad("max_body_bytes", "\"32MB\"", "integer >= 1"),
                bad("max_body_bytes", "1.5e6", "integer >= 1", "1500000.0"),
                bad("client_header_timeout", "0", "seconds > 0"),
                bad("client_body_timeout", "\"30s\"", SECONDS),
                bad("client_idle_timeout", "-1", "seconds > 0"),
                bad("max_header_bytes", "100", "integer from 1024 to 16777216"),
                bad("max_header_count", "0", "integer >= 1"),
                bad("max_buffered_body_bytes", "0", "integer >= 1"),
                bad("allow_admin_paths", "\"yes\"", "true or false"),
                bad("tls_cert_file", "1", "path of a PEM certificate file"),
                bad("tls_key_file", "true", "path of a PEM PKCS#8 private key file"));
    }

    private static org.junit.jupiter.params.provider.Arguments bad(String key, String toml, String expected) {
        return bad(key, toml, expected, toml);
    }

    private static org.junit.jupiter.params.provider.Arguments bad(String key, String toml, String expected, String shown) {
        return org.junit.jupiter.params.provider.Arguments.of(key, toml, shown, expected);
    }

    @org.junit.jupiter.params.ParameterizedTest(name = "{0} = {1}")
    @org.junit.jupiter.params.provider.MethodSource("badFrontDoorValues")
    void aBadFrontDoorValueIsNamedLikeTheRoutersOwn(String key, String toml, String shown, String expected) {
        ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse("[config]\n" + key + " = " + toml + "\n",
                "servers.toml", Map.of()), ConfigException.class);

        assertThat(e).as("no exception for %s = %s", key, toml).isNotNull();
        assertThat(e.getMessage()).isEqualTo("servers.toml:2: config." + key + " = " + shown + " (expected: " + expected + ")");
    }

    @Test
    void theTableCoversEveryFrontDoorKey() {
        java.util.Set<String> covered = new java.util.HashSet<>();
        badFrontDoorValues().forEach(a -> covered.add((String) a.get()[0]));
        assertThat(covered).containsExactlyInAnyOrderElementsOf(FrontDoorSettings.CONFIG_KEYS);
    }
}
