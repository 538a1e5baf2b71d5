package io.vllmrouter.examples.server.config;

import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.RouterConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The configuration files people copy — servers.example.toml and the full example of
 * docs/configuration.md — parse as the proxy reads them (the router's keys and the front door's),
 * and show every key.
 */
@Timeout(30)
class ShippedConfigExamplesTest {

    @Test
    void shippedExampleFileStillParsesWithEveryCommentedKeyEnabled() throws IOException {
        // The example shows optional keys as "# key = value" lines; each must be a valid key and value.
        String text = Files.readString(Path.of("..", "..", "servers.example.toml"));
        Matcher m = Pattern.compile("(?m)^# ?([a-z_]+ = .*)$").matcher(text);
        StringBuilder enabled = new StringBuilder();
        Set<String> keys = new LinkedHashSet<>();
        while (m.find()) {
            enabled.append(m.group(1)).append('\n');
            keys.add(m.group(1).substring(0, m.group(1).indexOf(' ')));
        }
        String uncommented = text.replace("[config]\n", "[config]\n" + enabled);

        RouterConfig c = ConfigLoader.parse(uncommented, "servers.example.toml", Map.of());

        assertThat(keys).isNotEmpty();
        assertThat(c).isNotNull();
        Set<String> documentedAnywhere = new LinkedHashSet<>(keys);
        Matcher set = Pattern.compile("(?m)^([a-z_]+) = ").matcher(text);
        while (set.find()) {
            documentedAnywhere.add(set.group(1));
        }
        assertThat(documentedAnywhere).containsAll(ConfigLoader.configKeys()).containsAll(FrontDoorSettings.CONFIG_KEYS);
    }

    @Test
    void fullExampleInTheDocsParsesAndShowsTheDefaults() throws IOException {
        String doc = Files.readString(Path.of("..", "..", "docs", "configuration.md"));
        String section = doc.substring(doc.indexOf("## A full example"));
        String toml = section.substring(section.indexOf("```toml\n") + 8, section.indexOf("```\n", section.indexOf("```toml") + 7));

        RouterConfig c = ConfigLoader.parse(toml, "configuration.md", Map.of());

        assertThat(c.servers()).hasSize(3);
        assertThat(c.servers().get(1).models()).containsExactly("llama-3.1-8b");
        assertThat(c.servers().get(2).apiKey()).isEqualTo("sk-...");
        assertThat(c).isEqualTo(RouterConfig.builder().servers(c.servers()).build());
        Set<String> keys = new LinkedHashSet<>();
        Matcher m = Pattern.compile("(?m)^([a-z_]+) = ").matcher(toml);
        while (m.find()) {
            keys.add(m.group(1));
        }
        keys.remove("servers");
        keys.addAll(List.of("tls_cert_file", "tls_key_file")); // no default: shown commented
        Set<String> all = new LinkedHashSet<>(ConfigLoader.configKeys());
        all.addAll(FrontDoorSettings.CONFIG_KEYS);
        assertThat(keys).containsExactlyInAnyOrderElementsOf(all);
    }
}
