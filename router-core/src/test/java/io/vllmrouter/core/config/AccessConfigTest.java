package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The [auth] table, the front-door keys and the refusal of credentials in server URLs. */
@Timeout(30)
class AccessConfigTest {

    @Test
    void authTableReadsKeysHashesAndAFile(@TempDir Path dir) throws Exception {
        Path keys = dir.resolve("keys.txt");
        Files.writeString(keys, "# team b\nsk-b\n\n  sk-c  \n");
        String hashOfD = HexFormat.of().formatHex(AccessConfig.sha256("sk-d"));
        Path config = dir.resolve("servers.toml");
        Files.writeString(config, """
                [auth]
                api_keys = ["sk-a", "sha256:%s"]
                api_keys_file = "keys.txt"
                requests_per_minute = 60
                max_concurrent = 2
                protect_stats = false
                """.formatted(hashOfD.toUpperCase()));

        AccessConfig a = ConfigLoader.load(config, Map.of()).access();

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
        AccessConfig a = ConfigLoader.parse("", "empty.toml", Map.of()).access();

        assertThat(a).isEqualTo(AccessConfig.DEFAULT);
        assertThat(a.authEnabled()).isFalse();
        assertThat(a.protectStats()).isTrue();
        assertThat(a.clientHeaderTimeout()).isEqualTo(AccessConfig.DEFAULT_CLIENT_HEADER_TIMEOUT);
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
    void tlsNeedsBothFiles() {
        ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse(
                "[config]\ntls_cert_file = \"cert.pem\"\n", "servers.toml", Map.of()), ConfigException.class);

        assertThat(e.key()).isEqualTo("config.tls_key_file");
        assertThat(e.expected()).isEqualTo("tls_cert_file and tls_key_file together");
    }

    @Test
    void credentialsInAServerUrlAreRefusedWithoutShowingThem() {
        ConfigException e = catchThrowableOfType(() -> ConfigLoader.parse("""
                [servers]
                servers = [
                    { url = "http://a:8000" },
                    { url = "http://admin:hunter2@b:8000" },
                ]
                """, "servers.toml", Map.of()), ConfigException.class);

        assertThat(e.key()).isEqualTo("servers[1].url");
        assertThat(e.line()).isEqualTo(4);
        assertThat(e.getMessage()).contains("credentials in the URL are not allowed; use api_key")
                .doesNotContain("hunter2").doesNotContain("admin");
        ConfigException malformed = catchThrowableOfType(() -> ConfigLoader.parse(
                "[servers]\nservers = [ { url = \"http://u:pw@bad_host:8000\" } ]\n", "servers.toml", Map.of()),
                ConfigException.class);
        assertThat(malformed.getMessage()).contains("http://***@bad_host:8000").doesNotContain("pw");
                IllegalArgumentException direct = catchThrowableOfType(
                () -> new ServerConfig("http://u:secret@c:8000", 1), IllegalArgumentException.class);
        assertThat(direct.getMessage()).doesNotContain("secret").contains("use api_key");
    }
}
