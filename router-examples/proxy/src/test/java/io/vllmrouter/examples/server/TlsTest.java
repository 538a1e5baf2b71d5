package io.vllmrouter.examples.server;

import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.config.FrontDoorSettings;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * TLS termination from PEM files. The pair under src/test/resources/tls was made once with
 * {@code openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 36500
 * -subj "/CN=localhost" -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"}; it protects nothing.
 */
@Timeout(60)
class TlsTest {

    private static final String CHAT = "{\"model\":\"llama\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";

    @Test
    void chatCompletionIsServedOverTls() throws Exception {
        Path dir = Path.of("src", "test", "resources", "tls");
        try (FakeVllm backend = new FakeVllm(List.of(FakeVllm.model("llama", 8192)));
             ProxyStack stack = ProxyStack.start(RouterConfig.builder()
                     .server(new ServerConfig(backend.url(), 4))
                     .extension(FrontDoorSettings.INSTANCE, FrontDoorConfig.builder().tlsCertFile(dir.resolve("cert.pem"))
                             .tlsKeyFile(dir.resolve("key.pem")).build())
                     .build())) {
            ProxyServer proxy = stack.proxy;
            HttpClient client = HttpClient.newBuilder().sslContext(trusting(dir.resolve("cert.pem")))
                    .version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();
            HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                            URI.create("https://127.0.0.1:" + proxy.port() + "/v1/chat/completions"))
                    .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                    HttpResponse.BodyHandlers.ofString());

            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.body()).contains("Hello from " + backend.url());
            assertThat(backend.chatRequests.get()).isEqualTo(1);
        }
    }

    @Test
    void http2IsChosenByAlpnAndHttp11StaysAvailable() throws Exception {
        Path dir = Path.of("src", "test", "resources", "tls");
        try (FakeVllm backend = new FakeVllm(List.of(FakeVllm.model("llama", 8192)));
             ProxyStack stack = ProxyStack.start(RouterConfig.builder()
                     .server(new ServerConfig(backend.url(), 4))
                     .extension(FrontDoorSettings.INSTANCE, FrontDoorConfig.builder().tlsCertFile(dir.resolve("cert.pem"))
                             .tlsKeyFile(dir.resolve("key.pem")).build())
                     .build())) {
            ProxyServer proxy = stack.proxy;
            for (HttpClient.Version version : List.of(HttpClient.Version.HTTP_2, HttpClient.Version.HTTP_1_1)) {
                HttpClient client = HttpClient.newBuilder().sslContext(trusting(dir.resolve("cert.pem")))
                        .version(version).connectTimeout(Duration.ofSeconds(5)).build();
                for (int i = 0; i < 2; i++) {
                    HttpResponse<String> r = client.send(HttpRequest.newBuilder(
                                    URI.create("https://127.0.0.1:" + proxy.port() + "/v1/chat/completions"))
                            .timeout(Duration.ofSeconds(20)).POST(HttpRequest.BodyPublishers.ofString(CHAT)).build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertThat(r.statusCode()).isEqualTo(200);
                    assertThat(r.version()).isEqualTo(version);
                    assertThat(r.body()).contains("Hello from " + backend.url());
                }
            }
        }
    }

    private static SSLContext trusting(Path certFile) throws Exception {
        KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
        trust.load(null, null);
        try (InputStream in = java.nio.file.Files.newInputStream(certFile)) {
            trust.setCertificateEntry("proxy", CertificateFactory.getInstance("X.509").generateCertificate(in));
        }
        TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
        tmf.init(trust);
        SSLContext ctx = SSLContext.getInstance("TLS");
        ctx.init(null, tmf.getTrustManagers(), null);
        return ctx;
    }
}
