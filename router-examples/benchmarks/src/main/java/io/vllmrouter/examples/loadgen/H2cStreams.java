package io.vllmrouter.examples.loadgen;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.DefaultHttp2WindowUpdateFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2Settings;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The load generator's HTTP/2 client: h2c with prior knowledge over a few connections, each
 * carrying hundreds of streams, as a gateway or an SDK with HTTP/2 would. Each stream posts one
 * streaming chat completion and reads its SSE lines as DATA frames arrive, keeping only the
 * unfinished line; its outcome says whether it ended with {@code data: [DONE]} and END_STREAM.
 */
final class H2cStreams implements AutoCloseable {

    private final EventLoopGroup group;
    private final List<Channel> connections = new ArrayList<>();
    private final String authority;
    private int next;

    /** What one stream came to: as {@link ManyStreamsRun.Outcome}. */
    private H2cStreams(EventLoopGroup group, String authority) {
        this.group = group;
        this.authority = authority;
    }

    /** Opens {@code n} connections to {@code host:port} on {@code threads} event loops. */
    static H2cStreams connect(String host, int port, int n, int threads) {
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, NioIoHandler.newFactory());
        H2cStreams c = new H2cStreams(group, host + ":" + port);
        try {
            for (int i = 0; i < n; i++) {
                Channel ch = new Bootstrap().group(group).channel(NioSocketChannel.class)
                        .option(ChannelOption.TCP_NODELAY, true)
                        .handler(new ChannelInitializer<SocketChannel>() {
                            @Override
                            protected void initChannel(SocketChannel ch) {
                                ch.pipeline().addLast(Http2FrameCodecBuilder.forClient()
                                        .initialSettings(Http2Settings.defaultSettings().initialWindowSize(256 * 1024))
                                        .build());
                                ch.pipeline().addLast(new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                                ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                                    @Override
                                    public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                        ReferenceCountUtil.release(msg); // SETTINGS, PING, GOAWAY
                                    }
                                });
                            }
                        })
                        .connect(new InetSocketAddress(host, port)).syncUninterruptibly().channel();
                // A connection window to match hundreds of streams (the default is 64 KiB for all of them).
                ch.writeAndFlush(new DefaultHttp2WindowUpdateFrame(64 * 1024 * 1024));
                c.connections.add(ch);
            }
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
        return c;
    }

    /** Posts {@code body} to {@code path} on the next connection (round robin); completes when the stream ends. */
    CompletableFuture<ManyStreamsRun.Outcome> post(String path, byte[] body) {
        Channel conn = connections.get(next++ % connections.size());
        long sent = System.nanoTime();
        StreamReader reader = new StreamReader(sent);
        new Http2StreamChannelBootstrap(conn).handler(reader).open().addListener(f -> {
            if (!f.isSuccess()) {
                reader.finish("stream not opened: " + f.cause());
                return;
            }
            Http2StreamChannel ch = (Http2StreamChannel) f.getNow();
            Http2Headers h = new DefaultHttp2Headers().method("POST").path(path).scheme("http").authority(authority)
                    .set("content-type", "application/json").setInt("content-length", body.length);
            ch.write(new DefaultHttp2HeadersFrame(h, false));
            ch.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(body), true)).addListener(w -> {
                if (!w.isSuccess()) {
                    reader.finish("request not sent: " + w.cause());
                }
            });
        });
        return reader.outcome;
    }

    @Override
    public void close() {
        for (Channel ch : connections) {
            ch.close();
        }
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** One stream's reader: SSE lines counted as they arrive, only the unfinished line kept. */
    private static final class StreamReader extends ChannelInboundHandlerAdapter {
        final CompletableFuture<ManyStreamsRun.Outcome> outcome = new CompletableFuture<>();
        private final long sent;
        private final StringBuilder line = new StringBuilder();
        private int status;
        private long firstEvent = -1;
        private long lastEvent = -1;
        private long events;
        private boolean done;
        private String error;

        StreamReader(long sent) {
            this.sent = sent;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof Http2HeadersFrame h) {
                    if (status == 0 && h.headers().status() != null) {
                        status = Integer.parseInt(h.headers().status().toString());
                    }
                    if (h.isEndStream()) {
                        ended(ctx);
                    }
                } else if (msg instanceof Http2DataFrame d) {
                    lines(d.content());
                    if (d.isEndStream()) {
                        ended(ctx);
                    }
                } else if (msg instanceof Http2ResetFrame r) {
                    reset(r);
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof Http2ResetFrame r) {
                reset(r);
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            finish("stream closed without END_STREAM");
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            finish("stream failed: " + cause);
            ctx.close();
        }

        private void reset(Http2ResetFrame r) {
            finish("RST_STREAM (error code " + r.errorCode() + ")" + (error != null ? " after " + error : ""));
        }

        private void lines(ByteBuf data) {
            String s = data.toString(StandardCharsets.UTF_8);
            for (int i = 0; i < s.length(); i++) {
                char c = s.charAt(i);
                if (c == '\n') {
                    line(line);
                    line.setLength(0);
                } else if (c != '\r') {
                    line.append(c);
                }
            }
        }

        private void line(CharSequence l) {
            if (l.length() < 5 || !"data:".contentEquals(l.subSequence(0, 5))) {
                return;
            }
            long now = System.nanoTime();
            if (firstEvent < 0) {
                firstEvent = now;
            }
            lastEvent = now;
            events++;
            String rest = l.subSequence(5, l.length()).toString().trim();
            if (rest.equals("[DONE]")) {
                done = true;
            } else if (rest.startsWith("{\"error\"")) {
                error = "error event";
            }
        }

        private void ended(ChannelHandlerContext ctx) {
            if (status != 200) {
                finish("HTTP " + status);
            } else if (error != null) {
                finish("body cut: " + error);
            } else if (!done) {
                finish("stream ended without [DONE]");
            } else {
                outcome.complete(new ManyStreamsRun.Outcome(true, null, TimeUnit.NANOSECONDS.toMillis(firstEvent - sent),
                        TimeUnit.NANOSECONDS.toMillis(lastEvent - sent), events));
            }
        }

        void finish(String problem) {
            outcome.complete(new ManyStreamsRun.Outcome(false, problem, -1, -1, 0));
        }
    }
}
