package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Credentials in a server URL are refused, and never shown. */
@Timeout(30)
class ServerUrlCredentialsTest {

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
