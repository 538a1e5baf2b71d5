package io.vllmrouter.examples.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.socket.DuplexChannel;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import io.vllmrouter.examples.server.EventLoops;
import io.vllmrouter.examples.server.RawHttp;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The one resend the transport makes by itself: a pooled connection on which not a byte of the
 * request could be written is replaced once; one lost after part of the request left is not (the
 * backend may have it). The connection is made to fail on the loop, in the same task that sends the
 * request, so no event of the loop comes between them.
 */
@Timeout(60)
class StaleConnectionTest {

    private final EventLoops loops = EventLoops.create(1);
    private final ConnectionPool pool = new ConnectionPool(loops.group().next(), loops, Duration.ofSeconds(5));
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger connections = new AtomicInteger();
    private final List<Socket> open = new CopyOnWriteArrayList<>();
    /** The backend resets a connection once it has read a request's head. */
    private volatile boolean resetAfterHead;
    private final ServerSocket server;

    StaleConnectionTest() throws IOException {
        server = new ServerSocket();
        server.setReceiveBufferSize(64 * 1024); // so that a large body's write is still going when the backend drops it
        server.bind(new InetSocketAddress("127.0.0.1", 0));
        Thread acceptor = new Thread(this::accept, "stale-test-backend");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    /** Answers every request on every connection with one small JSON body, counting both. */
    private void accept() {
        try {
            while (true) {
                Socket s = server.accept();
                open.add(s);
                connections.incrementAndGet();
                Thread t = new Thread(() -> {
                    try (s) {
                        InputStream in = s.getInputStream();
                        String head;
                        while ((head = RawHttp.readHead(in)) != null) {
                            requests.incrementAndGet();
                            if (resetAfterHead) {
                                s.setSoLinger(true, 0); // an RST, with most of the body unread
                                return;
                            }
                            in.readNBytes(RawHttp.contentLength(head));
                            s.getOutputStream().write(("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                    + "Content-Length: 8\r\n\r\n{\"ok\":1}").getBytes(StandardCharsets.US_ASCII));
                        }
                    } catch (IOException gone) {
                        // the connection or the test ended
                    }
                }, "stale-test-conn");
                t.setDaemon(true);
                t.start();
            }
        } catch (IOException closed) {
            // the test is over
        }
    }

    @AfterEach
    void tearDown() throws Exception {
        server.close();
        for (Socket s : open) {
            s.close();
        }
        pool.loop.submit(pool::closeAll).get(20, TimeUnit.SECONDS);
        loops.close();
    }

    private UpstreamRequest post() {
        return post("{\"model\":\"llama\"}".getBytes(StandardCharsets.UTF_8));
    }

    private UpstreamRequest post(byte[] body) {
        return new UpstreamRequest(URI.create("http://127.0.0.1:" + server.getLocalPort()), "/v1/completions", "POST",
                Map.of("Content-Type", List.of("application/json")), body);
    }

    /** Sends {@code request} on the pool's loop; {@code before} runs first, in the same task. */
    private CompletableFuture<UpstreamResponse> send(Runnable before, UpstreamRequest request) throws Exception {
        CompletableFuture<UpstreamResponse> f = new CompletableFuture<>();
        pool.loop.submit(() -> {
            before.run();
            new UpstreamExchange(pool, request, f).start();
        }).get(20, TimeUnit.SECONDS);
        return f;
    }

    private CompletableFuture<UpstreamResponse> send(Runnable before) throws Exception {
        return send(before, post());
    }

    /** The pooled connection's output shut, unseen by the pool: the next write on it fails at once. */
    private void breakThePooledConnection() {
        String key = ConnectionPool.key(post().backend());
        Channel ch = pool.reuse(key);
        assertThat(ch).as("a pooled connection").isNotNull();
        ((DuplexChannel) ch).shutdownOutput();
        pool.release(key, ch);
    }

    private static String read(UpstreamResponse r) throws Exception {
        return RawHttp.readBody(r);
    }

    @Test
    void aPooledConnectionThatCannotTakeTheRequestIsReplacedOnceAndTheRequestRunsOnce() throws Exception {
        assertThat(read(send(() -> { }).get(20, TimeUnit.SECONDS))).isEqualTo("{\"ok\":1}");
        assertThat(connections.get()).isEqualTo(1);

        UpstreamResponse r = send(this::breakThePooledConnection).get(20, TimeUnit.SECONDS);
        assertThat(read(r)).isEqualTo("{\"ok\":1}");
        assertThat(requests.get()).as("each request ran once").isEqualTo(2);
        assertThat(connections.get()).as("the second on a new connection").isEqualTo(2);
    }

    @Test
    void aPooledConnectionLostAfterPartOfTheRequestWasWrittenIsNotTriedAgain() throws Exception {
        assertThat(read(send(() -> { }).get(20, TimeUnit.SECONDS))).isEqualTo("{\"ok\":1}");
        resetAfterHead = true; // the backend has the head, then drops the connection
        byte[] big = new byte[16 << 20]; // more than the sockets between them hold: the write is still going
        java.util.Arrays.fill(big, (byte) ' ');
        CompletableFuture<UpstreamResponse> f = send(() -> { }, post(big));
        assertThatThrownBy(() -> f.get(20, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(TransportException.class,
                        e -> assertThat(e.kind()).isEqualTo(TransportException.Kind.RESET));
        assertThat(requests.get()).as("the backend saw the second request's head once").isEqualTo(2);
        assertThat(connections.get()).as("no new connection: it may have run").isEqualTo(1);
    }
}
