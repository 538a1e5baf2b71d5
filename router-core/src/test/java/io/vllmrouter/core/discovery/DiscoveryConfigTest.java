package io.vllmrouter.core.discovery;

import io.vllmrouter.core.config.ConfigException;
import io.vllmrouter.core.config.ConfigLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

@Timeout(60)
class DiscoveryConfigTest {

    @Test
    void readsKubernetesWithDefaults() {
        DiscoveryConfig c = DiscoveryConfig.parse("""
                [discovery]
                kind = "kubernetes"
                namespace = "llm"
                service = "vllm"
                port = "http"
                max_concurrent_requests = 8
                models = ["llama"]
                """, "servers.toml");
        assertThat(c.kind()).isEqualTo(DiscoveryConfig.Kind.KUBERNETES);
        assertThat(c.selector()).isEqualTo("kubernetes.io/service-name=vllm");
        assertThat(c.portName()).isEqualTo("http");
        assertThat(c.defaultCapacity()).isEqualTo(8);
        assertThat(c.models()).containsExactly("llama");
        assertThat(c.capacityAnnotation()).isEqualTo(DiscoveryConfig.DEFAULT_CAPACITY_ANNOTATION);
        assertThat(c.watchTimeout()).isEqualTo(DiscoveryConfig.DEFAULT_WATCH_TIMEOUT);
        assertThat(c.tokenFile().toString()).isEqualTo("/var/run/secrets/kubernetes.io/serviceaccount/token");
    }

    @Test
    void readsDns() {
        DiscoveryConfig c = DiscoveryConfig.parse("[discovery]\nkind = \"dns\"\nhost = \"vllm.llm.svc\"\nport = 8000\ninterval = 2.5\n", "f");
        assertThat(c.host()).isEqualTo("vllm.llm.svc");
        assertThat(c.portNumber()).isEqualTo(8000);
        assertThat(c.interval()).isEqualTo(Duration.ofMillis(2500));
        assertThat(DiscoveryConfig.parse("[servers]\nservers = []\n", "f")).isNull();
    }

    @Test
    void errorsNameKeyValueAndExpectation() {
        assertError("[discovery]\nkind = \"consul\"\n", "discovery.kind", "\"consul\"", "\"kubernetes\" or \"dns\"");
        assertError("[discovery]\nkind = \"dns\"\nhost = \"x\"\nport = \"http\"\n", "discovery.port", "\"http\"",
                "a port number between 1 and 65535");
        assertError("[discovery]\nkind = \"kubernetes\"\nservice = \"a\"\nselector = \"b=c\"\n", "discovery.selector",
                "\"b=c\"", "exactly one of service");
        assertError("[discovery]\nkind = \"kubernetes\"\nservice = \"a\"\nmax_concurrent_requests = 0\n",
                "discovery.max_concurrent_requests", "0", "an integer between 1 and 1000000");
        assertError("[discovery]\nkind = \"kubernetes\"\nservice = \"a\"\nintervall = 3\n", "discovery.intervall", "3",
                "a key of [discovery]");
        assertError("[discovery]\nkind = \"dns\"\nhost = \"x\"\nport = 80\nnamespace = \"llm\"\n", "discovery.namespace",
                "\"llm\"", "no namespace for kind = \"dns\"");
    }

    @Test
    void theConfigLoaderAcceptsAndChecksTheTable() {
        String ok = "[servers]\nservers = []\n\n[discovery]\nkind = \"dns\"\nhost = \"vllm\"\nport = 8000\n";
        assertThat(ConfigLoader.parse(ok, "servers.toml", Map.of()).servers()).isEmpty();
        assertThatThrownBy(() -> ConfigLoader.parse("[discovery]\nkind = \"dns\"\nhost = \"vllm\"\n", "servers.toml", Map.of()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("servers.toml:1: discovery.port is missing (expected: a port number between 1 and 65535)");
    }

    private static void assertError(String toml, String key, String value, String expected) {
        assertThatThrownBy(() -> DiscoveryConfig.parse(toml, "servers.toml"))
                .isInstanceOfSatisfying(ConfigException.class, e -> {
                    assertThat(e.key()).isEqualTo(key);
                    assertThat(e.value()).isEqualTo(value);
                    assertThat(e.expected()).startsWith(expected);
                    assertThat(e.getMessage()).startsWith("servers.toml:");
                });
    }

}
