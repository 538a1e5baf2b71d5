package io.vllmrouter.examples.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A vLLM stand-in on 127.0.0.1 written on raw sockets, so a test controls every byte and every
 * moment: /health, /metrics and /v1/models answer at once; a POST runs the test's {@link Script}
 * on the connection, which can stream events one by one, cut the connection mid-body, wait for the
 * proxy to close it, or write until the proxy stops reading. A HEAD runs the script too.
 */
final class RawBackend implements AutoCloseable {

    /** What a POST does with its connection. */
    interface Script {
        void run(Conn conn) throws Exception;
    }

    /** How long a script waits for its test before giving up. */
    private static final long RELEASE_SECONDS = 20;

    /** {@code n} latches a test counts down as it sees each event. */
    static java.util.List<java.util.concurrent.CountDownLatch> latches(int n) {
        java.util.List<java.util.concurrent.CountDownLatch> l = new java.util.ArrayList<>();
        for (int i = 0; i < n; i++) {
            l.add(new java.util.concurrent.CountDownLatch(1));
        }
        return l;
    }

    /**
     * A chunked SSE answer of {@code seen.size()} events ({@code t0}, {@code t1}, ...), each sent
     * only once the client has the one before (its latch counted down), then {@code [DONE]}.
     */
    static Script eventsOneByOne(java.util.List<java.util.concurrent.CountDownLatch> seen) {
        return conn -> {
            conn.chunkedHead("text/event-stream");
            for (int i = 0; i < seen.size(); i++) {
                conn.event("{\"choices\":[{\"delta\":{\"content\":\"t" + i + "\"}}]}");
                await(seen.get(i)); // the next event only once the client has this one
            }
            conn.chunk("data: [DONE]\n\n");
            conn.endChunks();
        };
    }

    /** Waits for the test to release the script; fails the script if it never does. */
    static void await(java.util.concurrent.CountDownLatch latch) {
        try {
            if (!latch.await(RELEASE_SECONDS, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new IllegalStateException("the test did not release the backend");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private final ServerSocketChannel server;
    private final Thread acceptor;
    private final Set<SocketChannel> open = ConcurrentHashMap.newKeySet();
    final AtomicInteger posts = new AtomicInteger();
    final AtomicInteger heads = new AtomicInteger();
    final AtomicInteger connections = new AtomicInteger();
    volatile Script script = conn -> conn.json("{\"id\":\"x\",\"choices\":[]}");

    RawBackend() throws IOException {
        server = ServerSocketChannel.open();
        server.bind(new InetSocketAddress("127.0.0.1", 0));
        acceptor = new Thread(this::accept, "raw-backend-accept");
        acceptor.setDaemon(true);
        acceptor.start();
    }

    String url() throws IOException {
        return "http://127.0.0.1:" + ((InetSocketAddress) server.getLocalAddress()).getPort();
    }

    private void accept() {
        while (server.isOpen()) {
            try {
                SocketChannel ch = server.accept();
                open.add(ch);
                connections.incrementAndGet();
                Thread t = new Thread(() -> serve(ch), "raw-backend-conn");
                t.setDaemon(true);
                t.start();
            } catch (IOException e) {
                return;
            }
        }
    }

    private void serve(SocketChannel ch) {
        try (ch) {
            Conn conn = new Conn(ch);
            while (true) {
                String head = conn.readHead();
                if (head == null) {
                    return;
                }
                String[] line = head.substring(0, head.indexOf("\r\n")).split(" ");
                int length = 0;
                for (String h : head.split("\r\n")) {
                    if (h.toLowerCase(Locale.ROOT).startsWith("content-length:")) {
                        length = Integer.parseInt(h.substring(15).trim());
                    }
                }
                conn.head = head;
                conn.body = conn.readBytes(length);
                String path = line[1];
                if (line[0].equals("POST") || line[0].equals("HEAD")) {
                    (line[0].equals("POST") ? posts : heads).incrementAndGet();
                    script.run(conn);
                    if (conn.closed) {
                        return;
                    }
                } else if (path.equals("/health")) {
                    conn.write("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
                } else if (path.equals("/metrics")) {
                    conn.plain("text/plain", "# TYPE vllm:num_requests_running gauge\n"
                            + "vllm:num_requests_running{model_name=\"llama\"} 0.0\n"
                            + "# TYPE vllm:num_requests_waiting gauge\n"
                            + "vllm:num_requests_waiting{model_name=\"llama\"} 0.0\n");
                } else if (path.equals("/v1/models")) {
                    conn.json("{\"object\":\"list\",\"data\":[{\"id\":\"llama\",\"object\":\"model\",\"owned_by\":\"vllm\"}]}");
                } else {
                    conn.plain("application/json", "{}");
                }
            }
        } catch (Exception e) {
            // the proxy closed the connection, or the test ended
        } finally {
            open.remove(ch);
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
        for (SocketChannel ch : open) {
            ch.close();
        }
    }

    /** One connection, as a script sees it. */
    static final class Conn {
        private final SocketChannel ch;
        private final ByteBuffer in = ByteBuffer.allocate(64 * 1024).flip();
        /** The request's line and headers, as received. */
        String head;
        byte[] body;
        boolean closed;
        long written;

        Conn(SocketChannel ch) {
            this.ch = ch;
        }

        String readHead() throws IOException {
            ByteArrayOutputStream head = new ByteArrayOutputStream();
            while (true) {
                if (!in.hasRemaining()) {
                    in.clear();
                    int n = ch.read(in);
                    in.flip();
                    if (n < 0) {
                        return null;
                    }
                    continue;
                }
                head.write(in.get());
                int s = head.size();
                byte[] b = head.toByteArray();
                if (s >= 4 && b[s - 4] == '\r' && b[s - 3] == '\n' && b[s - 2] == '\r' && b[s - 1] == '\n') {
                    return head.toString(StandardCharsets.ISO_8859_1);
                }
            }
        }

        byte[] readBytes(int n) throws IOException {
            byte[] out = new byte[n];
            int got = 0;
            while (got < n) {
                if (!in.hasRemaining()) {
                    in.clear();
                    if (ch.read(in) < 0) {
                        throw new IOException("closed mid-body");
                    }
                    in.flip();
                    continue;
                }
                int k = Math.min(n - got, in.remaining());
                in.get(out, got, k);
                got += k;
            }
            return out;
        }

        void write(String s) throws IOException {
            write(s.getBytes(StandardCharsets.UTF_8));
        }

        void write(byte[] b) throws IOException {
            ByteBuffer buf = ByteBuffer.wrap(b);
            while (buf.hasRemaining()) {
                written += ch.write(buf);
            }
        }

        void plain(String type, String body) throws IOException {
            byte[] b = body.getBytes(StandardCharsets.UTF_8);
            write("HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\nContent-Length: " + b.length + "\r\n\r\n");
            write(b);
        }

        void json(String body) throws IOException {
            plain("application/json", body);
        }

        /** Starts a chunked response of {@code type}. */
        void chunkedHead(String type) throws IOException {
            write("HTTP/1.1 200 OK\r\nContent-Type: " + type + "\r\nTransfer-Encoding: chunked\r\n\r\n");
        }

        void chunk(String data) throws IOException {
            byte[] b = data.getBytes(StandardCharsets.UTF_8);
            write(Integer.toHexString(b.length) + "\r\n");
            write(b);
            write("\r\n");
        }

        void event(String json) throws IOException {
            chunk("data: " + json + "\n\n");
        }

        void endChunks() throws IOException {
            write("0\r\n\r\n");
        }

        /** Cuts the connection: no terminator, the body ends short. */
        void cut() throws IOException {
            closed = true;
            ch.close();
        }

        /** Resets the connection (an RST, not a FIN): whatever was sent, the body did not end cleanly. */
        void reset() throws IOException {
            closed = true;
            ch.setOption(java.net.StandardSocketOptions.SO_LINGER, 0);
            ch.close();
        }

        /** Blocks until the proxy closes the connection (a read sees the end). */
        void awaitPeerClose() throws IOException {
            ByteBuffer b = ByteBuffer.allocate(1024);
            while (ch.read(b) >= 0) {
                b.clear();
            }
            closed = true;
        }

        /**
         * Writes {@code total} bytes of events of {@code size} bytes without blocking; each time the
         * socket takes no more (the proxy stopped reading), calls {@code stalled} with the bytes
         * written so far, then waits until it can write again.
         */
        void flood(long total, int size, java.util.function.LongConsumer stalled) throws IOException {
            String data = "data: " + "x".repeat(size - 8) + "\n\n";
            byte[] chunk = (Integer.toHexString(data.length()) + "\r\n" + data + "\r\n").getBytes(StandardCharsets.US_ASCII);
            ch.configureBlocking(false);
            try (Selector sel = Selector.open()) {
                ch.register(sel, SelectionKey.OP_WRITE);
                long sent = 0;
                while (sent < total) {
                    ByteBuffer buf = ByteBuffer.wrap(chunk);
                    while (buf.hasRemaining()) {
                        int n = ch.write(buf);
                        written += n;
                        if (n == 0) {
                            stalled.accept(written);
                            sel.select();
                            sel.selectedKeys().clear();
                        }
                    }
                    sent += data.length();
                }
                // vLLM ends a completion stream with [DONE]; then the chunked terminator.
                ByteBuffer end = ByteBuffer.wrap("e\r\ndata: [DONE]\n\n\r\n0\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                while (end.hasRemaining()) {
                    if (ch.write(end) == 0) {
                        sel.select();
                        sel.selectedKeys().clear();
                    }
                }
            }
            ch.configureBlocking(true);
        }
    }
}
