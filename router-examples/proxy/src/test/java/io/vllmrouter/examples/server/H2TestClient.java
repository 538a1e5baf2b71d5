package io.vllmrouter.examples.server;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2ResetFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2Error;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2GoAwayFrame;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2SettingsFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * An HTTP/2 client speaking h2c with prior knowledge (as {@code curl --http2-prior-knowledge}), for
 * tests: one connection, many streams, and every frame a stream receives in order (headers, data,
 * end of stream, RST_STREAM), so a test sees how each stream ended.
 */
final class H2TestClient implements AutoCloseable {

    static final Duration SAFETY = Duration.ofSeconds(20);

    /** A stream's end of stream (END_STREAM received). */
    static final Object END = new Object() {
        @Override
        public String toString() {
            return "END_STREAM";
        }
    };

    /** What a stream received: RST_STREAM with this code. */
    record Reset(long errorCode) {
    }

    private final EventLoopGroup group;
    private final Channel connection;
    /** Completes with the error code of the GOAWAY the server sent. */
    final CompletableFuture<Long> goAway = new CompletableFuture<>();
    /** Completes with the server's first SETTINGS. */
    final CompletableFuture<Http2Settings> settings = new CompletableFuture<>();

    private H2TestClient(EventLoopGroup group, Channel connection) {
        this.group = group;
        this.connection = connection;
    }

    static H2TestClient connect(int port) {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        CompletableFuture<Long> goAway = new CompletableFuture<>();
        CompletableFuture<Http2Settings> settings = new CompletableFuture<>();
        Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient()
                                .initialSettings(Http2Settings.defaultSettings()).build());
                        ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                if (msg instanceof Http2GoAwayFrame g) {
                                    goAway.complete(g.errorCode());
                                } else if (msg instanceof Http2SettingsFrame f) {
                                    settings.complete(f.settings());
                                }
                                ReferenceCountUtil.release(msg);
                            }
                        });
                    }
                })
                .connect(new InetSocketAddress("127.0.0.1", port)).syncUninterruptibly().channel();
        H2TestClient c = new H2TestClient(group, ch);
        goAway.whenComplete((g, e) -> c.goAway.complete(g));
        settings.whenComplete((g, e) -> c.settings.complete(g));
        return c;
    }

    /** Opens a stream and sends a request; a JSON body, when given, is sent as POST. */
    Stream request(String method, String path, String json) {
        return request(method, path, json, false);
    }

    /** {@link #request}; when {@code paused}, the stream reads nothing until {@link Stream#resume()}. */
    Stream request(String method, String path, String json, boolean paused) {
        Stream s = new Stream(paused);
        Http2StreamChannel ch = new Http2StreamChannelBootstrap(connection).handler(s).open().syncUninterruptibly().getNow();
        s.channel = ch;
        Http2Headers h = new DefaultHttp2Headers().method(method).path(path).scheme("http").authority("localhost");
        if (json == null) {
            ch.writeAndFlush(new DefaultHttp2HeadersFrame(h, true));
        } else {
            byte[] body = json.getBytes(StandardCharsets.UTF_8);
            h.set("content-type", "application/json").setInt("content-length", body.length);
            ch.write(new DefaultHttp2HeadersFrame(h, false));
            ch.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(body), true));
        }
        return s;
    }

    Stream post(String path, String json) {
        return request("POST", path, json);
    }

    /** The connection reads nothing more from its socket: what the server sends stays in the kernel. */
    void stopReading() {
        connection.config().setAutoRead(false);
    }

    /** The connection's local port, which the proxy sees as the client's. */
    int localPort() {
        return ((InetSocketAddress) connection.localAddress()).getPort();
    }

    /** Reads again after {@link #stopReading()}. */
    void readAgain() {
        connection.config().setAutoRead(true);
    }

    /** Completes when the connection closed (by the server's end of it, as read, or by a reset). */
    ChannelFuture closed() {
        return connection.closeFuture();
    }

    @Override
    public void close() {
        connection.close().syncUninterruptibly();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One stream: what it received, in order. */
    static final class Stream extends ChannelInboundHandlerAdapter {
        final LinkedBlockingQueue<Object> received = new LinkedBlockingQueue<>();
        volatile Http2StreamChannel channel;
        private final boolean paused;

        Stream(boolean paused) {
            this.paused = paused;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            if (paused) {
                ctx.channel().config().setAutoRead(false); // no reads, so no WINDOW_UPDATE: the server must wait
            }
        }

        /** Starts reading a paused stream. */
        void resume() {
            channel.config().setAutoRead(true);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame h) {
                    received.add(h.headers());
                    if (h.isEndStream()) {
                        received.add(END);
                    }
                } else if (msg instanceof Http2DataFrame d) {
                    if (d.content().isReadable()) {
                        received.add(d.content().toString(StandardCharsets.UTF_8));
                    }
                    if (d.isEndStream()) {
                        received.add(END);
                    }
                } else if (msg instanceof Http2ResetFrame r) {
                    received.add(new Reset(r.errorCode()));
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame r) {
                received.add(new Reset(r.errorCode()));
            }
            ReferenceCountUtil.release(evt);
        }

        /** The next thing received; fails after {@link #SAFETY}. */
        Object next() throws InterruptedException {
            Object o = received.poll(SAFETY.toMillis(), TimeUnit.MILLISECONDS);
            if (o == null) {
                throw new AssertionError("nothing received on the stream within " + SAFETY);
            }
            return o;
        }

        Http2Headers headers() throws InterruptedException {
            Object o = next();
            if (!(o instanceof Http2Headers h)) {
                throw new AssertionError("expected headers, got " + o);
            }
            return h;
        }

        /** Data received until the stream ends, and how it ended: {@link #END} or a {@link Reset}. */
        Body rest() throws InterruptedException {
            StringBuilder text = new StringBuilder();
            while (true) {
                Object o = next();
                if (o instanceof String s) {
                    text.append(s);
                } else if (o == END || o instanceof Reset) {
                    return new Body(text.toString(), o);
                } else {
                    throw new AssertionError("unexpected " + o);
                }
            }
        }

        /** Reads data until {@code text} appears; returns everything read. */
        String until(String text) throws InterruptedException {
            StringBuilder got = new StringBuilder();
            while (!got.toString().contains(text)) {
                Object o = next();
                if (!(o instanceof String s)) {
                    throw new AssertionError("stream ended (" + o + ") before \"" + text + "\"; got: " + got);
                }
                got.append(s);
            }
            return got.toString();
        }

        /** Resets the stream (RST_STREAM CANCEL), as a client does when its user gives up. */
        void reset() {
            channel.writeAndFlush(new DefaultHttp2ResetFrame(Http2Error.CANCEL)).syncUninterruptibly();
        }
    }

    record Body(String text, Object end) {
        boolean complete() {
            return end == END;
        }
    }
}
