package io.vllmrouter.api.transport;

import org.junit.jupiter.api.Test;

import java.net.URI;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class UpstreamRequestTest {

    private static final URI BACKEND = URI.create("http://gpu-a:8000/base/");

    private static UpstreamRequest request(String method, String target) {
        return new UpstreamRequest(BACKEND, target, method, Map.of(), new byte[0]);
    }

    @Test
    void aRequestLineIsMadeOfATokenAndATargetWithNothingThatWouldSplitIt() {
        assertThat(request("POST", "/v1/completions?q=caf\u00e9").requestTarget()).isEqualTo("/base/v1/completions?q=caf\u00e9");
        assertThat(request("M-SEARCH", "/%20").method()).isEqualTo("M-SEARCH");

        assertThatThrownBy(() -> request("POST", "/v1/completions HTTP/1.1\r\nX-Injected: 1"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("target")
                .hasMessageContaining("HTTP/1.1\\r\\nX-Injected") // named, on one line
                .hasMessageContaining("expected: no space, control or character past U+00FF");
        for (String target : new String[] {"/a b", "/a\tb", "/a\u0000", "/a\u007f", "/\u20ac"}) {
            assertThatThrownBy(() -> request("GET", target)).as(target).isInstanceOf(IllegalArgumentException.class);
        }
        for (String method : new String[] {"", "PO ST", "GET\r\n", "P\u00d6ST", "GET/"}) {
            assertThatThrownBy(() -> request(method, "/")).as(method).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("expected: an HTTP token");
        }
        assertThatThrownBy(() -> request("GET", "v1/models")).hasMessageContaining("expected: starts with /");
    }
}
