package io.vllmrouter.examples.server;

import io.vllmrouter.examples.server.upstream.NettyTransport;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** {@link NettyTransport} against the {@link io.vllmrouter.api.transport.Transport} contract. */
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

    private UpstreamRequest post(String base) {
        return new UpstreamRequest(URI.create(base), "/v1/completions", "POST",
                Map.of("Content-Type", List.of("application/json")),
                "{\"model\":\"llama\"}".getBytes(StandardCharsets.UTF_8));
    }

    private static String read(UpstreamResponse r) throws Exception {
        return RawHttp.readBody(r);
    }

    @Test
    void keepAliveConnectionsAreReused() throws Exception {
        backend = new RawBackend();
        for (int i = 0; i < 3; i++) {
            UpstreamResponse r = transport.send(post(backend.url())).get(20, TimeUnit.SECONDS);
            assertThat(r.status()).isEqualTo(200);
            assertThat(r.headers().get("Content-Type")).containsExactly("application/json");
            assertThat(read(r)).contains("\"id\":\"x\"");
        }
        assertThat(backend.posts.get()).isEqualTo(3);
        assertThat(backend.connections.get()).isEqualTo(1);
    }

    @Test
    void aSmallChunkHeldCostsItsOwnSizeNotTheReadBuffer() throws Exception {
        backend = new RawBackend();
        backend.script = conn -> {
            conn.chunkedHead("text/event-stream");
            conn.event("{\"id\":\"held\"}");
            conn.endChunks();
        };
        UpstreamResponse r = transport.send(post(backend.url())).get(20, TimeUnit.SECONDS);
        CompletableFuture<BodyChunk> first = new CompletableFuture<>();
        r.body().subscribe(new Flow.Subscriber<>() {
            @Override public void onSubscribe(Flow.Subscription s) {
                s.request(1);
            }

            @Override public void onNext(BodyChunk item) {
                first.complete(item); // held, as for a client that does not read
            }

            @Override public void onError(Throwable t) {
                first.completeExceptionally(t);
            }

            @Override public void onComplete() {
            }
        });
        BodyChunk chunk = first.get(20, TimeUnit.SECONDS);
        try {
            assertThat(chunk).isInstanceOf(io.vllmrouter.examples.server.upstream.NettyChunk.class);
            io.netty.buffer.ByteBuf buf = ((io.vllmrouter.examples.server.upstream.NettyChunk) chunk).buf();
            io.netty.buffer.ByteBuf memory = buf.unwrap() == null ? buf : buf.unwrap();
            assertThat(buf.toString(StandardCharsets.UTF_8)).isEqualTo("data: {\"id\":\"held\"}\n\n");
            assertThat(memory.capacity()).as("the memory the held chunk keeps from the pool")
                    .isLessThanOrEqualTo(64);
        } finally {
            chunk.release();
        }
    }

    @Test
    void aRefusedConnectionIsConnect() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        CompletableFuture<UpstreamResponse> f = transport.send(post("http://127.0.0.1:" + port));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(TransportException.class,
                        e -> assertThat(e.kind()).isEqualTo(TransportException.Kind.CONNECT));
    }

    @Test
    void cancellingBeforeTheHeadersClosesTheConnection() throws Exception {
        backend = new RawBackend();
        CompletableFuture<Void> closed = new CompletableFuture<>();
        CountDownLatch received = new CountDownLatch(1);
        backend.script = conn -> {
            received.countDown();
            conn.awaitPeerClose();
            closed.complete(null);
        };
        CompletableFuture<UpstreamResponse> f = transport.send(post(backend.url()));
        assertThat(received.await(20, TimeUnit.SECONDS)).isTrue();
        f.cancel(true); // the router's timer gives up: the transport keeps none of its own
        closed.get(20, TimeUnit.SECONDS);
    }

    @Test
    void aPooledConnectionClosedAfterTheRequestWasWrittenIsResetAndNotSentAgain() throws Exception {
        backend = new RawBackend();
        UpstreamResponse first = transport.send(post(backend.url())).get(20, TimeUnit.SECONDS);
        assertThat(read(first)).contains("\"id\":\"x\"");
        backend.script = RawBackend.Conn::cut; // reads the next request on the kept connection, then drops it

        CompletableFuture<UpstreamResponse> f = transport.send(post(backend.url()));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(TransportException.class,
                        e -> assertThat(e.kind()).isEqualTo(TransportException.Kind.RESET));
        assertThat(backend.posts.get()).as("the dropped request reached the backend once").isEqualTo(2);
        assertThat(backend.connections.get()).isEqualTo(1);
    }

    @Test
    void httpsGoesThroughTheJdkClient() throws Exception {
        backend = new RawBackend();
        // A plain-HTTP server behind an https URL: plain HTTP/1.1 would get its 200; the JDK client
        // tries a TLS handshake, which fails before any answer.
        String url = backend.url().replace("http://", "https://");
        CompletableFuture<UpstreamResponse> f = transport.send(post(url));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOf(TransportException.class);
        assertThat(backend.posts.get()).isZero();
    }

    @Test
    void aBodyEndedByItsConnectionIsCompleteOnACloseAndCutShortOnAReset() throws Exception {
        backend = new RawBackend();
        String head = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\n"; // neither length nor chunks
        backend.script = conn -> {
            conn.write(head + "hello");
            conn.cut();
        };
        assertThat(read(transport.send(post(backend.url())).get(20, TimeUnit.SECONDS))).isEqualTo("hello");

        CountDownLatch headersSeen = new CountDownLatch(1);
        backend.script = conn -> {
            conn.write(head + "hel");
            RawBackend.await(headersSeen);
            conn.reset();
        };
        UpstreamResponse r = transport.send(post(backend.url())).get(20, TimeUnit.SECONDS);
        headersSeen.countDown();
        assertThatThrownBy(() -> read(r)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(TransportException.class,
                        e -> assertThat(e.kind()).isEqualTo(TransportException.Kind.RESET));
    }

    @Test
    void bytesPastAnAnswerInTheSameReadNeverBecomeTheAnswerOfARequestSentAtItsEnd() throws Exception {
        backend = new RawBackend();
        CountDownLatch subscribed = new CountDownLatch(1);
        // The answer's end comes once its body has a reader, and overruns the answer's length with
        // a whole second answer in the same write (so in the same read).
        backend.script = conn -> {
            conn.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{");
            RawBackend.await(subscribed);
            conn.write("}HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"not\":\"you\"}");
        };
        String url = backend.url();
        UpstreamResponse first = transport.send(post(url)).get(20, TimeUnit.SECONDS);
        // The next request goes out the moment the first body ends, on the loop, as a proxy sends a
        // pipelining client's next one: it must not get the connection whose read is still decoded.
        CompletableFuture<CompletableFuture<UpstreamResponse>> next = new CompletableFuture<>();
        first.body().subscribe(new Flow.Subscriber<>() {
            @Override public void onSubscribe(Flow.Subscription s) {
                s.request(Long.MAX_VALUE);
                subscribed.countDown();
            }

            @Override public void onNext(BodyChunk item) {
                item.release();
            }

            @Override public void onError(Throwable t) {
                next.completeExceptionally(t);
            }

            @Override public void onComplete() {
                backend.script = conn -> conn.json("{\"id\":\"x\",\"choices\":[]}");
                next.complete(transport.send(post(url)));
            }
        });
        UpstreamResponse second = next.get(20, TimeUnit.SECONDS).get(20, TimeUnit.SECONDS);
        assertThat(read(second)).contains("\"id\":\"x\"");
        assertThat(backend.posts.get()).as("the second request reached the backend").isEqualTo(2);
    }

    @Test
    void aConnectionAnsweredBeforeItsRequestWasAllWrittenCarriesNoOther() throws Exception {
        // A backend that answers at once after a request's head, keeps the connection and never
        // reads the body (an early error): the rest of the body would be read as the next request.
        java.util.concurrent.atomic.AtomicInteger connections = new java.util.concurrent.atomic.AtomicInteger();
        java.util.List<java.net.Socket> open = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (ServerSocket server = new ServerSocket()) {
            server.setReceiveBufferSize(64 * 1024);
            server.bind(new java.net.InetSocketAddress("127.0.0.1", 0));
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        java.net.Socket s = server.accept();
                        open.add(s);
                        int n = connections.incrementAndGet();
                        java.io.InputStream in = s.getInputStream();
                        String head = RawHttp.readHead(in);
                        if (head == null) {
                            continue; // closed before a request
                        }
                        String answer = n == 1 ? "HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n"
                                : "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 8\r\n\r\n{\"ok\":1}";
                        if (n > 1) {
                            in.readNBytes(RawHttp.contentLength(head));
                        }
                        s.getOutputStream().write(answer.getBytes(StandardCharsets.US_ASCII));
                    }
                } catch (java.io.IOException closed) {
                    // the test is over
                }
            }, "early-answer-backend");
            acceptor.setDaemon(true);
            acceptor.start();
            String url = "http://127.0.0.1:" + server.getLocalPort();

            byte[] big = new byte[8 << 20]; // more than the sockets between them hold
            java.util.Arrays.fill(big, (byte) ' ');
            UpstreamResponse early = transport.send(new UpstreamRequest(URI.create(url), "/v1/completions", "POST",
                    Map.of("Content-Type", List.of("application/json")), big)).get(20, TimeUnit.SECONDS);
            assertThat(early.status()).isEqualTo(413);
            assertThat(read(early)).isEmpty();

            UpstreamResponse next = transport.send(post(url)).get(20, TimeUnit.SECONDS);
            assertThat(next.status()).isEqualTo(200);
            assertThat(read(next)).isEqualTo("{\"ok\":1}");
            assertThat(connections.get()).as("the next request went on a new connection").isEqualTo(2);
        } finally {
            for (java.net.Socket s : open) {
                s.close();
            }
        }
    }

    @Test
    void aRequestGoesOutAsItsHeadersSaidWithTheTransportsOwnHostAndLengthAndNothingThatWouldSplitIt() throws Exception {
        backend = new RawBackend();
        CompletableFuture<String> head = new CompletableFuture<>();
        CompletableFuture<byte[]> body = new CompletableFuture<>();
        backend.script = conn -> {
            head.complete(conn.head);
            body.complete(conn.body);
            conn.json("{\"id\":\"x\"}");
        };
        io.vllmrouter.api.HeaderMap headers = io.vllmrouter.api.HeaderMap.builder()
                .add("Content-Type", "application/json")
                .add("X-Two", List.of("a", "b"))
                .add("Host", "elsewhere.example")
                .add("content-length", "999")
                .add("Transfer-Encoding", "chunked")
                .add("X-Split", "a\r\nInjected: 1")
                .add("X-Nul", "a\u0000b")
                .add("Bad Name", "x")
                .add("X-Latin", "caf\u00e9\tbar")
                .add("X-Wide", "\u20ac")
                .build();
        byte[] sent = "{\"model\":\"llama\",\"prompt\":\"caf\u00e9\"}".getBytes(StandardCharsets.UTF_8);
        String base = backend.url() + "/base/";
        UpstreamResponse r = transport.send(new UpstreamRequest(URI.create(base), "/v1/completions?x=1", "POST",
                headers, sent)).get(20, TimeUnit.SECONDS);
        assertThat(read(r)).isEqualTo("{\"id\":\"x\"}");
        String authority = URI.create(base).getRawAuthority();
        assertThat(head.get(20, TimeUnit.SECONDS)).isEqualTo("POST /base/v1/completions?x=1 HTTP/1.1\r\n"
                + "Host: " + authority + "\r\n"
                + "Content-Type: application/json\r\n"
                + "X-Two: a\r\n"
                + "X-Two: b\r\n"
                + "X-Latin: caf\u00e9\tbar\r\n" // one byte each, as HTTP reads them
                + "Content-Length: " + sent.length + "\r\n\r\n");
        assertThat(body.get(20, TimeUnit.SECONDS)).isEqualTo(sent);
    }

    @Test
    void anEmptyPostAnnouncesItsLengthAndABodilessHeadNone() throws Exception {
        backend = new RawBackend();
        List<String> heads = new java.util.concurrent.CopyOnWriteArrayList<>();
        backend.script = conn -> {
            heads.add(conn.head);
            conn.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
        };
        URI url = URI.create(backend.url());
        read(transport.send(new UpstreamRequest(url, "/v1/x", "POST", Map.of(), new byte[0])).get(20, TimeUnit.SECONDS));
        read(transport.send(new UpstreamRequest(url, "/v1/x", "HEAD", Map.of(), new byte[0])).get(20, TimeUnit.SECONDS));
        assertThat(heads).hasSize(2);
        assertThat(heads.get(0)).startsWith("POST /v1/x HTTP/1.1\r\n").endsWith("\r\nContent-Length: 0\r\n\r\n");
        assertThat(heads.get(1)).startsWith("HEAD /v1/x HTTP/1.1\r\n").doesNotContainIgnoringCase("content-length");
    }

    @Test
    void theAnswerToAHeadHasNoBodyWhateverLengthItAnnouncesAndTheConnectionCarriesTheNextRequest() throws Exception {
        backend = new RawBackend();
        backend.script = conn -> conn.write("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 5\r\n\r\n");
        UpstreamResponse head = transport.send(new UpstreamRequest(URI.create(backend.url()), "/v1/models", "HEAD",
                Map.of(), new byte[0])).get(20, TimeUnit.SECONDS);
        assertThat(head.status()).isEqualTo(200);
        assertThat(read(head)).isEmpty();

        backend.script = conn -> conn.json("{\"id\":\"x\"}");
        assertThat(read(transport.send(post(backend.url())).get(20, TimeUnit.SECONDS))).isEqualTo("{\"id\":\"x\"}");
        assertThat(backend.heads.get()).isEqualTo(1);
        assertThat(backend.connections.get()).as("the HEAD's connection carried the POST").isEqualTo(1);
    }

    @Test
    void aBackendAddressThatCannotBeAHostHeaderFailsAsConnectWithNothingSent() throws Exception {
        URI odd = URI.create("http://h\u00f6st:8000"); // a registry authority: java.net.URI takes it, HTTP cannot
        CompletableFuture<UpstreamResponse> f = transport.send(new UpstreamRequest(odd, "/v1/completions", "POST",
                Map.of(), new byte[0]));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(TransportException.class, e -> {
                    assertThat(e.kind()).isEqualTo(TransportException.Kind.CONNECT);
                    assertThat(e.getMessage()).contains("cannot be a Host header");
                });
    }

    @Test
    void aConnectionClosedBeforeTheHeadersIsReset() throws Exception {
        backend = new RawBackend();
        backend.script = RawBackend.Conn::cut;
        CompletableFuture<UpstreamResponse> f = transport.send(post(backend.url()));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(TransportException.class,
                        e -> assertThat(e.kind()).isEqualTo(TransportException.Kind.RESET));
    }
}
