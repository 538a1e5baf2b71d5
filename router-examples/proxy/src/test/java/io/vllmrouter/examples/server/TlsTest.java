package io.vllmrouter.examples.server;

import io.vllmrouter.examples.server.config.FrontDoorConfig;
import io.vllmrouter.examples.server.config.FrontDoorSettings;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import javax.net.ssl.SSLContext;
import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.ssl.SslCloseCompletionEvent;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.util.ReferenceCountUtil;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import javax.net.ssl.TrustManagerFactory;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.KeyStore;
import java.security.cert.CertificateFactory;
import java.time.Duration;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
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

    /**
     * An idle TLS connection is ended with {@code close_notify} and the proxy's end: a client that
     * reads finds the end of the stream and closes, and is not reset; one that reads nothing is.
     */
    @Test
    void anIdleTlsConnectionEndsCleanlyForAReaderAndIsResetForOneThatReadsNothing() throws Exception {
        Path dir = Path.of("src", "test", "resources", "tls");
        byte[] health = "GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1);
        try (ResetLog resets = new ResetLog();
             FakeVllm backend = new FakeVllm(List.of(FakeVllm.model("llama", 8192)));
             ProxyStack stack = ProxyStack.start(RouterConfig.builder()
                     .server(new ServerConfig(backend.url(), 4))
                     .extension(FrontDoorSettings.INSTANCE, FrontDoorConfig.builder().tlsCertFile(dir.resolve("cert.pem"))
                             .tlsKeyFile(dir.resolve("key.pem")).clientIdleTimeout(Duration.ofSeconds(1)).build())
                     .build(), r -> { }, o -> o.closeGrace(Duration.ofSeconds(2)))) {
            SSLSocketFactory tls = trusting(dir.resolve("cert.pem")).getSocketFactory();
            assertThat(closeNotifyOnceIdle(stack.port(), dir.resolve("cert.pem"), health))
                    .as("answered, then TLS's close_notify once idle").isTrue();
            try (SSLSocket deaf = (SSLSocket) tls.createSocket("127.0.0.1", stack.port())) {
                deaf.startHandshake();
                deaf.getOutputStream().write(health);
                assertThat(resets.await(deaf.getLocalPort(), "idle for client_idle_timeout")).isTrue();
            }
            assertThat(resets.count()).as("the reader closed its end itself").isEqualTo(1);
        }
    }

    /**
     * Sends {@code request} over a Netty TLS client that reads everything and closes its end when
     * the server's ends (before returning); true when the server's TLS {@code close_notify} came first.
     */
    private static boolean closeNotifyOnceIdle(int port, Path certFile, byte[] request) throws Exception {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        try {
            SslContext ssl = SslContextBuilder.forClient().trustManager(certFile.toFile()).build();
            CompletableFuture<Boolean> closeNotify = new CompletableFuture<>();
            Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel c) {
                            c.pipeline().addLast(ssl.newHandler(c.alloc(), "localhost", port));
                            c.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                @Override
                                public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                    ReferenceCountUtil.release(msg);
                                }

                                @Override
                                public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
                                    if (evt instanceof SslCloseCompletionEvent e) {
                                        closeNotify.complete(e.isSuccess());
                                    }
                                    ctx.fireUserEventTriggered(evt);
                                }

                                @Override
                                public void channelInactive(ChannelHandlerContext ctx) {
                                    closeNotify.complete(false);
                                }
                            });
                        }
                    })
                    .connect(new InetSocketAddress("127.0.0.1", port)).syncUninterruptibly().channel();
            ch.writeAndFlush(Unpooled.wrappedBuffer(request));
            boolean first = closeNotify.get(20, TimeUnit.SECONDS);
            // A reader closes its end once the server's has ended, and here before this returns: left
            // to the event loop's shutdown, the close could come after the proxy's grace on a busy
            // machine, and the proxy would rightly reset the connection.
            ch.close().syncUninterruptibly();
            return first;
        } finally {
            group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
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
