package io.vllmrouter.examples.server;

import io.vllmrouter.core.transport.TransportException;
import io.vllmrouter.core.transport.UpstreamRequest;
import io.vllmrouter.core.transport.UpstreamResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.ByteArrayOutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link NettyTransport} against the {@link io.vllmrouter.core.transport.Transport} contract. */
@Timeout(60)
class NettyTransportTest {

    private final EventLoops loops = EventLoops.create(1);
    private final NettyTransport transport = NettyTransport.create(loops, Duration.ofSeconds(5));
    private RawBackend backend;

    @AfterEach
    void tearDown() throws Exception {
        transport.close();
        loops.close();
        if (backend != null) {
            backend.close();
        }
    }

    private UpstreamRequest post(String base, Duration timeout) {
        return new UpstreamRequest(URI.create(base + "/v1/completions"), "POST",
                Map.of("Content-Type", List.of("application/json")),
                "{\"model\":\"llama\"}".getBytes(StandardCharsets.UTF_8), timeout);
    }

    /** Reads a whole body, one chunk of demand at a time. */
    private static String read(UpstreamResponse r) throws Exception {
        CompletableFuture<String> done = new CompletableFuture<>();
        r.body().subscribe(new Flow.Subscriber<>() {
            final ByteArrayOutputStream out = new ByteArrayOutputStream();
            Flow.Subscription s;

            @Override public void onSubscribe(Flow.Subscription s) {
                this.s = s;
                s.request(1);
            }

            @Override public void onNext(List<ByteBuffer> item) {
                for (ByteBuffer b : item) {
                    byte[] a = new byte[b.remaining()];
                    b.get(a);
                    out.writeBytes(a);
                }
                s.request(1);
            }

            @Override public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override public void onComplete() {
                s.cancel(); // hands the last buffers back
                done.complete(out.toString(StandardCharsets.UTF_8));
            }
        });
        return done.get(20, TimeUnit.SECONDS);
    }

    @Test
    void keepAliveConnectionsAreReused() throws Exception {
        backend = new RawBackend();
        for (int i = 0; i < 3; i++) {
            UpstreamResponse r = transport.send(post(backend.url(), Duration.ofSeconds(10))).get(20, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers().get("Content-Type")).containsExactly("application/json");
            assertThat(read(r)).contains("\"id\":\"x\"");
        }
        assertThat(backend.posts.get()).isEqualTo(3);
        assertThat(backend.connections.get()).isEqualTo(1);
    }

    @Test
    void aRefusedConnectionIsConnect() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        CompletableFuture<UpstreamResponse> f = transport.send(post("http://127.0.0.1:" + port, Duration.ofSeconds(10)));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(TransportException.class,
                        e -> assertThat(e.kind()).isEqualTo(TransportException.Kind.CONNECT));
    }

    @Test
    void noHeadersInTimeIsTimeoutAndClosesTheConnection() throws Exception {
        backend = new RawBackend();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        backend.script = conn -> {
            conn.awaitPeerClose();
            closed.complete(null);
        };
        CompletableFuture<UpstreamResponse> f = transport.send(post(backend.url(), Duration.ofMillis(200)));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(TransportException.class,
                        e -> assertThat(e.kind()).isEqualTo(TransportException.Kind.TIMEOUT));
        closed.get(20, TimeUnit.SECONDS);
    }

    @Test
    void httpsGoesThroughTheJdkClient() throws Exception {
        backend = new RawBackend();
        // A plain-HTTP server behind an https URL: plain HTTP/1.1 would get its 200; the JDK client
        // tries a TLS handshake, which fails before any answer.
        String url = backend.url().replace("http://", "https://");
        CompletableFuture<UpstreamResponse> f = transport.send(post(url, Duration.ofSeconds(10)));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(TransportException.class);
        assertThat(backend.posts.get()).isZero();
    }

    @Test
    void aConnectionClosedBeforeTheHeadersIsReset() throws Exception {
        backend = new RawBackend();
        backend.script = RawBackend.Conn::cut;
        CompletableFuture<UpstreamResponse> f = transport.send(post(backend.url(), Duration.ofSeconds(10)));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(TransportException.class,
                        e -> assertThat(e.kind()).isEqualTo(TransportException.Kind.RESET));
    }
}
