package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigLoaderTest {

    private static final Map<String, String> NO_ENV = Map.of();

    /** The seed README's "Server Configuration" example, verbatim. */
    static final String SEED_EXAMPLE = """
            [servers]
            servers = [
                # Each server can have different capacities
                { url = "http://server1:8081", max_concurrent_requests = 3 },
                { url = "http://server2:8088", max_concurrent_requests = 8 },
                { url = "http://server3:8089", max_concurrent_requests = 5 },
            ]

            [config]
            # Health check settings
            health_check_interval = 10          # Check every 10 seconds
            health_check_timeout = 5             # 5 second timeout
            health_check_min_success_rate = 0.8 # 80% success rate required
            health_check_max_response_time = 2.0 # Max 2 second response time

            # Configuration management
            config_reload_interval = 30          # Check for config changes every 30 seconds
            enable_active_health_check = true    # Enable active health monitoring

            # Request handling
            request_timeout = 120                # 2 minute timeout
            max_retries = 3                     # Retry failed requests up to 3 times
            retry_delay = 0.1                   # 100ms delay between retries
            """;

    @TempDir
    Path dir;

    @Test
    void seedExampleParsesToItsValues() {
        RouterConfig c = ConfigLoader.parse(SEED_EXAMPLE, "servers.toml", NO_ENV);

        assertThat(c.servers()).containsExactly(
                new ServerConfig("http://server1:8081", 3),
                new ServerConfig("http://server2:8088", 8),
                new ServerConfig("http://server3:8089", 5));
        assertThat(c.healthCheckInterval()).isEqualTo(Duration.ofSeconds(10));
        assertThat(c.healthCheckTimeout()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.healthCheckMinSuccessRate()).isEqualTo(0.8);
        assertThat(c.healthCheckMaxResponseTime()).isEqualTo(Duration.ofSeconds(2));
        assertThat(c.configReloadInterval()).isEqualTo(Duration.ofSeconds(30));
        assertThat(c.enableActiveHealthCheck()).isTrue();
        assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(120));
        assertThat(c.maxRetries()).isEqualTo(3);
        assertThat(c.retryDelay()).isEqualTo(Duration.ofMillis(100));
    }

    @Test
    void seedQuickStartExampleParses() {
        RouterConfig c = ConfigLoader.parse("""
                [servers]
                servers = [
                    { url = "http://gpu-server-1:8081", max_concurrent_requests = 3 },
                    { url = "http://gpu-server-2:8088", max_concurrent_requests = 5 },
                    { url = "http://gpu-server-3:8089", max_concurrent_requests = 4 },
                ]

                [config]
                health_check_interval = 10
                config_reload_interval = 30
                request_timeout = 120
                health_check_timeout = 5
                max_retries = 3
                """, "servers.toml", NO_ENV);

        assertThat(c.servers()).extracting(ServerConfig::id, ServerConfig::maxConcurrentRequests)
                .containsExactly(
                        org.assertj.core.groups.Tuple.tuple("http://gpu-server-1:8081", 3),
                        org.assertj.core.groups.Tuple.tuple("http://gpu-server-2:8088", 5),
                        org.assertj.core.groups.Tuple.tuple("http://gpu-server-3:8089", 4));
    }

    @Test
    void shippedExampleFileParsesToTheSeedServers() {
        Path example = Path.of("..", "servers.example.toml");
        RouterConfig c = ConfigLoader.load(example, NO_ENV);

        assertThat(c.servers()).extracting(ServerConfig::id).containsExactly(
                "http://gpu-server-1:8081", "http://gpu-server-2:8088", "http://gpu-server-3:8089");
        assertThat(c.servers()).extracting(ServerConfig::maxConcurrentRequests).containsExactly(3, 5, 4);
    }

    @Test
    void everyKeyRoundTrips() {
        String toml = """
                [servers]
                servers = [
                    { url = "http://a:8000", max_concurrent_requests = 4, models = ["llama", "qwen"], api_key = "sk-a" },
                    { url = "https://b.example.com/prefix", max_concurrent_requests = 16 },
                ]

                [config]
                health_check_interval = 7
                health_check_timeout = 1.5
                health_check_min_success_rate = 0.6
                health_check_max_response_time = 3
                health_check_failure_threshold = 4
                health_check_success_threshold = 5
                health_check_window = 12
                config_reload_interval = 45
                enable_active_health_check = false
                request_timeout = 300
                connect_timeout = 0.75
                max_retries = 0
                retry_delay = 0
                strategy = "least-loaded"
                metrics_interval = 0.5
                metrics_timeout = 0.25
                metrics_stale_after = 6
                models_refresh_interval = 120
                circuit_breaker_failure_rate = 75
                circuit_breaker_minimum_calls = 8
                circuit_breaker_window = 40
                circuit_breaker_wait = 2.5
                circuit_breaker_half_open_calls = 3
                session_header = "X-Conversation"
                responses_affinity_max = 500
                responses_affinity_ttl = 600
                retry_on_status = [503, 429]
                first_token_timeout = 12.5
                stream_failover = true
                stream_failover_max = 5
                max_in_flight_factor = 1.5
                max_queue = 64
                queue_timeout = 2
                speed_half_life = 30
                """;
        RouterConfig expected = RouterConfig.builder()
                .server(new ServerConfig(URI.create("http://a:8000"), 4, List.of("llama", "qwen"), "sk-a"))
                .server(new ServerConfig("https://b.example.com/prefix", 16))
                .healthCheckInterval(Duration.ofSeconds(7))
                .healthCheckTimeout(Duration.ofMillis(1500))
                .healthCheckMinSuccessRate(0.6)
                .healthCheckMaxResponseTime(Duration.ofSeconds(3))
                .healthCheckFailureThreshold(4)
                .healthCheckSuccessThreshold(5)
                .healthCheckWindow(12)
                .configReloadInterval(Duration.ofSeconds(45))
                .enableActiveHealthCheck(false)
                .requestTimeout(Duration.ofSeconds(300))
                .connectTimeout(Duration.ofMillis(750))
                .maxRetries(0)
                .retryDelay(Duration.ZERO)
                .strategy("least-loaded")
                .metricsInterval(Duration.ofMillis(500))
                .metricsTimeout(Duration.ofMillis(250))
                .metricsStaleAfter(6)
                .modelsRefreshInterval(Duration.ofSeconds(120))
                .circuitBreakerFailureRate(75)
                .circuitBreakerMinimumCalls(8)
                .circuitBreakerWindow(40)
                .circuitBreakerWait(Duration.ofMillis(2500))
                .circuitBreakerHalfOpenCalls(3)
                .sessionHeader("X-Conversation")
                .responsesAffinityMax(500)
                .responsesAffinityTtl(Duration.ofMinutes(10))
                .retryOnStatus(List.of(503, 429))
                .firstTokenTimeout(Duration.ofMillis(12500))
                .streamFailover(true)
                .streamFailoverMax(5)
                .maxInFlightFactor(1.5)
                .maxQueue(64)
                .queueTimeout(Duration.ofSeconds(2))
                .speedHalfLife(Duration.ofSeconds(30))
                .build();

        RouterConfig c = ConfigLoader.parse(toml, "all.toml", NO_ENV);

        assertThat(c).isEqualTo(expected);
        assertThat(c.servers().get(0).apiKey()).isEqualTo("sk-a");
        assertThat(c.servers().get(0).models()).containsExactly("llama", "qwen");
        // Every key the loader knows is set above to a value other than its default.
        Set<String> inToml = new LinkedHashSet<>();
        Matcher m = Pattern.compile("(?m)^([a-z_]+) = ").matcher(toml);
        while (m.find()) {
            inToml.add(m.group(1));
        }
        inToml.remove("servers");
        assertThat(inToml).containsExactlyInAnyOrderElementsOf(ConfigLoader.configKeys());
        assertThat(c).isNotEqualTo(RouterConfig.builder().servers(c.servers()).build());
    }

    @Test
    void everyBuilderSetterHasAKey() {
        Set<String> setters = new LinkedHashSet<>();
        for (var method : RouterConfigBuilder.class.getDeclaredMethods()) {
            if (java.lang.reflect.Modifier.isPublic(method.getModifiers())
                    && method.getReturnType() == RouterConfigBuilder.class
                    && !method.isAnnotationPresent(Deprecated.class)   // a former name, read as an alias
                    && !method.getName().startsWith("server")
                    && !method.getName().equals("strategySettings")
                    && !method.getName().equals("extension")
                    && !method.getName().equals("ttftSlo")) {  // the [slo] table
                setters.add(method.getName().replaceAll("([A-Z])", "_$1").toLowerCase(java.util.Locale.ROOT));
            }
        }
        assertThat(ConfigLoader.configKeys()).containsExactlyInAnyOrderElementsOf(setters);
    }

    @Test
    void absentKeysTakeTheDefaults() {
        RouterConfig c = ConfigLoader.parse("", "empty.toml", NO_ENV);

        assertThat(c).isEqualTo(RouterConfig.builder().build());
        assertThat(c.servers()).isEmpty();
        assertThat(c.healthCheckInterval()).isEqualTo(RouterConfig.DEFAULT_HEALTH_CHECK_INTERVAL);
        assertThat(c.requestTimeout()).isEqualTo(RouterConfig.DEFAULT_REQUEST_TIMEOUT);
        assertThat(c.strategy()).isEqualTo("weighted-score");
    }

    @Test
    void firstByteTimeoutIsReadAsTheFirstTokenTimeoutUnderItsFormerName() {
        RouterConfig c = ConfigLoader.parse("[config]\nfirst_byte_timeout = 7\n", "old.toml", NO_ENV);
        assertThat(c.firstTokenTimeout()).isEqualTo(Duration.ofSeconds(7));
        assertThat(c).isEqualTo(RouterConfig.builder().firstTokenTimeout(Duration.ofSeconds(7)).build());

        ConfigException tooLong = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(
                "[config]\nrequest_timeout = 10\nfirst_byte_timeout = 20\n", "old.toml", NO_ENV));
        assertThat(tooLong.getMessage()).isEqualTo(
                "old.toml:3: config.first_byte_timeout = 20 (expected: seconds > 0 and <= request_timeout, 10.0)");

        ConfigException both = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse(
                "[config]\nfirst_token_timeout = 5\nfirst_byte_timeout = 6\n", "both.toml", NO_ENV));
        assertThat(both).isNotNull();
        assertThat(both.getMessage()).contains("only one of first_token_timeout and first_byte_timeout");
    }

    @Test
    void emptyServersSectionMeansNoServers() {
        assertThat(ConfigLoader.parse("[servers]\n", "s.toml", NO_ENV).servers()).isEmpty();
        assertThat(ConfigLoader.parse("[servers]\nservers = []\n", "s.toml", NO_ENV).servers()).isEmpty();
    }

    @Test
    void serverDefaultsAndNormalization() {
        RouterConfig c = ConfigLoader.parse("""
                [servers]
                servers = [ { url = "http://a:8000/" }, { url = "http://b:8000", api_key = "" } ]
                """, "s.toml", NO_ENV);

        assertThat(c.servers().get(0).maxConcurrentRequests()).isEqualTo(ServerConfig.DEFAULT_MAX_CONCURRENT_REQUESTS);
        assertThat(c.servers().get(0).id()).isEqualTo("http://a:8000");
        assertThat(c.servers().get(0).models()).isEmpty();
        assertThat(c.servers().get(0).apiKey()).isNull();
        assertThat(c.servers().get(1).apiKey()).isNull();
    }

    @Test
    void aServerMayHaveANameForPeople() {
        RouterConfig c = ConfigLoader.parse("""
                [servers]
                servers = [ { url = "http://a:8000", name = " gpu-a " }, { url = "http://b:8000" } ]
                """, "s.toml", NO_ENV);
        assertThat(c.servers().get(0).name()).isEqualTo("gpu-a");
        assertThat(c.servers().get(0).id()).isEqualTo("http://a:8000");
        assertThat(c.servers().get(1).name()).isNull();
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [servers]
                servers = [ { url = "http://a:8000", name = 7 } ]
                """, "s.toml", NO_ENV));
        assertThat(e).isNotNull();
        assertThat(e.getMessage()).contains("name").contains("7").contains("a short name");
    }

    @Test
    void arrayOfTablesFormIsTheSameSchema() {
        RouterConfig c = ConfigLoader.parse("""
                [[servers.servers]]
                url = "http://a:8000"
                max_concurrent_requests = 2

                [[servers.servers]]
                url = "http://b:8000"
                max_concurrent_requests = 0
                """.replace("= 0", "= 6"), "s.toml", NO_ENV);

        assertThat(c.servers()).extracting(ServerConfig::maxConcurrentRequests).containsExactly(2, 6);

        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [[servers.servers]]
                url = "http://a:8000"

                [[servers.servers]]
                url = "http://b:8000"
                max_concurrent_requests = 0
                """, "s.toml", NO_ENV));
        assertThat(e.key()).isEqualTo("servers[1].max_concurrent_requests");
        assertThat(e.line()).isEqualTo(6);
    }

    @Test
    void fractionalSecondsAreExact() {
        RouterConfig c = ConfigLoader.parse("[config]\nretry_delay = 0.1\nrequest_timeout = 1.000000001\n", "s.toml", NO_ENV);

        assertThat(c.retryDelay()).isEqualTo(Duration.ofMillis(100));
        assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(1, 1));
    }

    @Test
    void integerValuedRateIsAccepted() {
        RouterConfig c = ConfigLoader.parse("[config]\nhealth_check_min_success_rate = 1\n", "s.toml", NO_ENV);

        assertThat(c.healthCheckMinSuccessRate()).isEqualTo(1.0);
    }

    @Test
    void byteOrderMarkIsIgnored() throws IOException {
        Path f = dir.resolve("bom.toml");
        Files.write(f, ("\uFEFF[config]\nmax_retries = 1\n").getBytes(StandardCharsets.UTF_8));

        assertThat(ConfigLoader.load(f, NO_ENV).maxRetries()).isEqualTo(1);
    }

    @Test
    void syntaxErrorNamesLineAndColumn() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [servers]
                servers = []

                [config]
                request_timeout = fast
                """, "servers.toml", NO_ENV));

        assertThat(e.line()).isEqualTo(5);
        assertThat(e.column()).isEqualTo(19);
        assertThat(e.file()).isEqualTo("servers.toml");
        assertThat(e.getMessage()).startsWith("servers.toml:5:19: TOML syntax error at line 5, column 19: ")
                .contains("Unexpected 'f'");
    }

    @Test
    void duplicateKeyIsASyntaxErrorOnTheSecondLine() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.parse("[config]\nmax_retries = 1\nmax_retries = 2\n", "servers.toml", NO_ENV));

        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).contains("max_retries previously defined at line 2");
    }

    @Test
    void multiLineInlineTableIsASyntaxErrorWithItsLine() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [servers]
                servers = [
                  { url = "http://a:1",
                    max_concurrent_requests = 3 },
                ]
                """, "servers.toml", NO_ENV));

        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).startsWith("servers.toml:3:");
    }

    @Test
    void unknownConfigKeySuggestsTheCloseOne() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [config]
                request_timeout = 60
                health_check_intervall = 10
                """, "servers.toml", NO_ENV));

        assertThat(e.key()).isEqualTo("config.health_check_intervall");
        assertThat(e.value()).isEqualTo("10");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.getMessage()).isEqualTo("servers.toml:3: config.health_check_intervall = 10 "
                + "(expected: a key of [config]; did you mean health_check_interval?)");
    }

    @Test
    void unknownKeyFarFromAnyListsTheKnownOnes() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.parse("[config]\nzzz = 1\n", "servers.toml", NO_ENV));

        assertThat(e.expected()).startsWith("a key of [config]: health_check_interval, health_check_timeout,")
                .doesNotContain("did you mean");
    }

    @Test
    void pythonRouterKeyNamesPointToOurs() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.parse("[config]\nhealth_check_window_size = 10\n", "servers.toml", NO_ENV));

        assertThat(e.expected()).contains("here it is health_check_window");
    }

    @Test
    void unknownServerKeySuggestsTheCloseOne() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [servers]
                servers = [
                    { url = "http://a:1", max_concurent_requests = 3 },
                ]
                """, "servers.toml", NO_ENV));

        assertThat(e.key()).isEqualTo("servers[0].max_concurent_requests");
        assertThat(e.line()).isEqualTo(3);
        assertThat(e.expected()).contains("did you mean max_concurrent_requests?");
    }

    @Test
    void configKeyAtTopLevelIsPointedToConfigTable() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.parse("request_timeout = 60\n[config]\n", "servers.toml", NO_ENV));

        assertThat(e.key()).isEqualTo("request_timeout");
        assertThat(e.line()).isEqualTo(1);
        assertThat(e.expected()).contains("under [config]");
    }

    @Test
    void unknownSectionIsRefused() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.parse("[confg]\nmax_retries = 1\n", "servers.toml", NO_ENV));

        assertThat(e.key()).isEqualTo("confg");
        assertThat(e.expected()).contains("did you mean config?");
    }

    @Test
    void serversAsTopLevelArrayIsExplained() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.parse("servers = [ { url = \"http://a:1\" } ]\n", "servers.toml", NO_ENV));

        assertThat(e.key()).isEqualTo("servers");
        assertThat(e.expected()).contains("[servers] table holding servers = [");
    }

    @Test
    void missingUrlIsNamed() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [servers]
                servers = [
                    { url = "http://a:1", max_concurrent_requests = 3 },
                    { max_concurrent_requests = 3 },
                ]
                """, "servers.toml", NO_ENV));

        assertThat(e.key()).isEqualTo("servers[1].url");
        assertThat(e.value()).isNull();
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.getMessage()).isEqualTo(
                "servers.toml:4: servers[1].url is missing (expected: http:// or https:// URL with a host)");
    }

    @Test
    void duplicateUrlNamesBothEntries() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [servers]
                servers = [
                    { url = "http://a:1", max_concurrent_requests = 3 },
                    { url = "http://b:1", max_concurrent_requests = 3 },
                    { url = "http://a:1/", max_concurrent_requests = 5 },
                ]
                """, "servers.toml", NO_ENV));

        assertThat(e.key()).isEqualTo("servers[2].url");
        assertThat(e.value()).isEqualTo("\"http://a:1/\"");
        assertThat(e.line()).isEqualTo(5);
        assertThat(e.expected()).isEqualTo("each url once; servers[0] has it already");
    }

    @Test
    void serverEntryThatIsNotATable() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.parse("""
                [servers]
                servers = ["http://a:1"]
                """, "servers.toml", NO_ENV));

        assertThat(e.key()).isEqualTo("servers[0]");
        assertThat(e.value()).isEqualTo("\"http://a:1\"");
        assertThat(e.line()).isEqualTo(2);
        assertThat(e.expected()).contains("{ url = ");
    }

    @Test
    void missingFileNamesThePath() {
        Path missing = dir.resolve("nope").resolve("servers.toml");

        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(missing, NO_ENV));

        assertThat(e.file()).isEqualTo(missing.toString());
        assertThat(e.line()).isEqualTo(-1);
        assertThat(e.getMessage()).isEqualTo(missing + ": file not found (absolute path: " + missing.toAbsolutePath() + ")");
    }

    @Test
    void directoryIsNotAConfigFile() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(dir, NO_ENV));

        assertThat(e.getMessage()).isEqualTo(dir + ": is a directory (expected: a TOML file)");
    }

    @Test
    void invalidUtf8IsRefused() throws IOException {
        Path f = dir.resolve("latin1.toml");
        Files.write(f, "[config]\nstrategy = \"caf\u00e9\"\n".getBytes(StandardCharsets.ISO_8859_1));

        ConfigException e = catchThrowableOfType(ConfigException.class, () -> ConfigLoader.load(f, NO_ENV));

        assertThat(e.getMessage()).isEqualTo(f + ": not valid UTF-8 (expected: TOML text in UTF-8)");
    }

    @Test
    void loadNamesTheFileInErrors() throws IOException {
        Path f = dir.resolve("prod.toml");
        Files.writeString(f, "[servers]\nservers = [ { url = \"http://a:1\", max_concurrent_requests = 0 } ]\n");

        assertThatThrownBy(() -> ConfigLoader.load(f, NO_ENV))
                .isInstanceOf(ConfigException.class)
                .hasMessage(f + ":2: servers[0].max_concurrent_requests = 0 (expected: integer >= 1)");
    }

    @Test
    void environmentOverridesTheFile() {
        Map<String, String> env = Map.of(
                "HEALTH_CHECK_INTERVAL", "3",
                "CONFIG_RELOAD_INTERVAL", "2.5",
                "REQUEST_TIMEOUT", " 60 ");

        RouterConfig c = ConfigLoader.parse(SEED_EXAMPLE, "servers.toml", env);

        assertThat(c.healthCheckInterval()).isEqualTo(Duration.ofSeconds(3));
        assertThat(c.configReloadInterval()).isEqualTo(Duration.ofMillis(2500));
        assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(60));
        assertThat(c.healthCheckTimeout()).isEqualTo(Duration.ofSeconds(5));
    }

    @Test
    void environmentOverridesTheDefault() {
        RouterConfig c = ConfigLoader.parse("", "servers.toml", Map.of("REQUEST_TIMEOUT", "30"));

        assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void blankEnvironmentValueIsUnset() {
        RouterConfig c = ConfigLoader.parse(SEED_EXAMPLE, "servers.toml", Map.of("REQUEST_TIMEOUT", ""));

        assertThat(c.requestTimeout()).isEqualTo(Duration.ofSeconds(120));
    }

    @Test
    void otherEnvironmentVariablesAreIgnored() {
        RouterConfig c = ConfigLoader.parse(SEED_EXAMPLE, "servers.toml",
                Map.of("MAX_RETRIES", "9", "PORT", "x", "LOG_LEVEL", "loud"));

        assertThat(c.maxRetries()).isEqualTo(3);
    }

    @Test
    void environmentWithWrongTypeNamesTheVariable() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.parse(SEED_EXAMPLE, "servers.toml", Map.of("REQUEST_TIMEOUT", "fast")));

        assertThat(e.file()).isEqualTo(ConfigException.ENVIRONMENT);
        assertThat(e.key()).isEqualTo("REQUEST_TIMEOUT");
        assertThat(e.value()).isEqualTo("\"fast\"");
        assertThat(e.getMessage()).isEqualTo("environment: REQUEST_TIMEOUT = \"fast\" (expected: number of seconds > 0)");
    }

    @Test
    void environmentOutOfRangeNamesTheVariable() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.parse(SEED_EXAMPLE, "servers.toml", Map.of("HEALTH_CHECK_INTERVAL", "0")));

        assertThat(e.getMessage()).isEqualTo("environment: HEALTH_CHECK_INTERVAL = \"0\" (expected: seconds > 0)");
    }

    @Test
    void fileErrorsComeBeforeEnvironmentErrors() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.parse("[config]\nmax_retries = -1\n", "servers.toml", Map.of("REQUEST_TIMEOUT", "x")));

        assertThat(e.key()).isEqualTo("config.max_retries");
    }

    @Test
    void configPathFlagWins() {
        Path p = ConfigLoader.resolveConfigPath("flag.toml", Map.of("CONFIG_PATH", "/env/servers.toml"));

        assertThat(p).isEqualTo(Path.of("flag.toml"));
    }

    @Test
    void configPathFromEnvironmentWithoutFlag() {
        assertThat(ConfigLoader.resolveConfigPath(null, Map.of("CONFIG_PATH", "/env/servers.toml")))
                .isEqualTo(Path.of("/env/servers.toml"));
        assertThat(ConfigLoader.resolveConfigPath(" ", Map.of("CONFIG_PATH", "/env/servers.toml")))
                .isEqualTo(Path.of("/env/servers.toml"));
    }

    @Test
    void configPathDefaultsToServersTomlInWorkingDirectory() {
        assertThat(ConfigLoader.resolveConfigPath(null, Map.of())).isEqualTo(Path.of("servers.toml"));
        assertThat(ConfigLoader.resolveConfigPath(null, Map.of("CONFIG_PATH", ""))).isEqualTo(Path.of("servers.toml"));
    }

    @Test
    void invalidConfigPathNamesItsSource() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () ->
                ConfigLoader.resolveConfigPath(null, Map.of("CONFIG_PATH", "a\0b")));

        assertThat(e.key()).isEqualTo("CONFIG_PATH");
        assertThat(e.file()).isEqualTo(ConfigException.ENVIRONMENT);
    }

    @Test
    void suggestionNeedsACloseKey() {
        List<String> known = List.of("request_timeout", "connect_timeout", "max_retries");

        assertThat(ConfigLoader.suggest("request_timout", known)).isEqualTo("did you mean request_timeout?");
        assertThat(ConfigLoader.suggest("retries", known)).isEqualTo("did you mean max_retries?");
        assertThat(ConfigLoader.suggest("timeout", known)).isNull();
        assertThat(ConfigLoader.suggest("colour", known)).isNull();
    }
}
