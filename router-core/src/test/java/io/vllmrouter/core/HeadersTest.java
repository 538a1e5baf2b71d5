package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which headers cross the router, and the body length a response declares. */
class HeadersTest {

    private static Map<String, List<String>> headers(String... nameValue) {
        Map<String, List<String>> m = new LinkedHashMap<>();
        for (int i = 0; i < nameValue.length; i += 2) {
            m.put(nameValue[i], List.of(nameValue[i + 1]));
        }
        return m;
    }

    @Test
    void hopByHopNamesAreDroppedWhateverTheirCase() {
        for (String name : List.of("Connection", "KEEP-ALIVE", "te", "Transfer-Encoding", "Upgrade", "Host",
                "Content-Length", "Expect", "Proxy-Authorization", "proxy-connection")) {
            assertThat(Headers.dropped(name, Set.of())).as(name).isTrue();
        }
        for (String name : List.of("Content-Type", "Authorization", "X-Request-Id", "Proxy", "Hosts", "TE-x")) {
            assertThat(Headers.dropped(name, Set.of())).as(name).isFalse();
        }
        assertThat(Headers.dropped("X-Hop", Headers.connectionTokens(headers("Connection", "keep-alive, x-HOP")))).isTrue();
        assertThat(Headers.connectionTokens(headers("Connection", "Keep-Alive", "connection", "close"))).isEmpty();
        assertThat(Headers.connectionTokens(headers("connection", " close ,, keep-ALIVE,X-a , x-b,,")))
                .containsExactlyInAnyOrder("X-a", "x-b");
        assertThat(Headers.connectionTokens(headers("Connection", "closed, keep-alive2"))).containsExactlyInAnyOrder("closed", "keep-alive2");
        // the usual spellings say the same as the rule for any case
        for (String name : List.of("Content-Type", "content-type", "Date", "Server", "Authorization", "accept",
                "User-Agent", "x-request-id", "Accept-Encoding")) {
            assertThat(Headers.dropped(name, Set.of())).as(name).isFalse();
            assertThat(Headers.dropped(name, Headers.connectionTokens(headers("Connection", name.toUpperCase())))).as(name).isTrue();
        }
        for (String name : List.of("Content-Length", "content-length", "connection", "Host", "transfer-encoding", "Keep-Alive")) {
            assertThat(Headers.dropped(name, Set.of())).as(name).isTrue();
        }
    }

    @Test
    void responseHeadersLoseTheHopByHopOnesAndThoseConnectionNames() {
        Map<String, List<String>> out = Headers.response(headers("Content-Type", "application/json",
                "Connection", "close, X-Hop", "X-Hop", "1", "Content-Length", "12", "X-Kept", "yes"), BACKEND);
        assertThat(out).containsOnlyKeys("Content-Type", "X-Kept");
        assertThat(Headers.response(headers("Connection", "keep-alive, x-hop", "X-HOP", "1", "X-Kept", "yes"), BACKEND))
                .containsOnlyKeys("X-Kept");
    }

    private static final java.net.URI BACKEND = java.net.URI.create("http://10.0.0.7:8000");

    @Test
    void aRedirectToTheBackendItselfBecomesRelativeSoItsAddressStaysPrivate() {
        assertThat(Headers.response(headers("location", "http://10.0.0.7:8000/v1/models"), BACKEND))
                .containsEntry("location", List.of("/v1/models"));
        assertThat(Headers.response(headers("Location", "HTTP://10.0.0.7:8000?x=1", "Content-Location",
                "http://10.0.0.7:8000/v1/a"), BACKEND))
                .containsEntry("Location", List.of("/?x=1")).containsEntry("Content-Location", List.of("/v1/a"));
        assertThat(Headers.response(headers("location", "http://10.0.0.7:80001/x"), BACKEND))
                .as("another port").containsEntry("location", List.of("http://10.0.0.7:80001/x"));
        assertThat(Headers.response(headers("location", "https://example.com/login"), BACKEND))
                .containsEntry("location", List.of("https://example.com/login"));
        assertThat(Headers.response(headers("location", "/v1/models"), BACKEND))
                .containsEntry("location", List.of("/v1/models"));
        assertThat(Headers.response(headers("location", "http://gpu:8000/vllm/v1/models"),
                java.net.URI.create("http://gpu:8000/vllm/")))
                .as("the backend's base path goes too").containsEntry("location", List.of("/v1/models"));
    }

    @Test
    void theDeclaredLengthIsOneDecimalContentLengthWithoutTransferEncoding() {
        assertThat(Headers.contentLength(headers("content-type", "a/b", "Content-Length", "343"))).isEqualTo(343);
        assertThat(Headers.contentLength(headers("CONTENT-LENGTH", "0"))).isZero();
        assertThat(Headers.contentLength(headers("Content-Type", "a/b"))).isEqualTo(-1);
        assertThat(Headers.contentLength(headers("Content-Length", "12", "Transfer-Encoding", "chunked"))).isEqualTo(-1);
        assertThat(Headers.contentLength(headers("Content-Length", "-1"))).isEqualTo(-1);
        assertThat(Headers.contentLength(headers("Content-Length", "12 "))).isEqualTo(-1);
        assertThat(Headers.contentLength(headers("Content-Length", "1e3"))).isEqualTo(-1);
        assertThat(Headers.contentLength(headers("Content-Length", "99999999999999999999"))).isEqualTo(-1);
        assertThat(Headers.contentLength(Map.of("Content-Length", List.of("5", "5")))).isEqualTo(-1);
        assertThat(Headers.contentLength(headers("Content-Length", "5", "content-length", "6"))).isEqualTo(-1);
    }
}
