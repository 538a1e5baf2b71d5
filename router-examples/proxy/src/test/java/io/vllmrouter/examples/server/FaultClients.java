package io.vllmrouter.examples.server;

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
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http2.DefaultHttp2DataFrame;
import io.netty.handler.codec.http2.DefaultHttp2Headers;
import io.netty.handler.codec.http2.DefaultHttp2HeadersFrame;
import io.netty.handler.codec.http2.Http2DataFrame;
import io.netty.handler.codec.http2.Http2FrameCodecBuilder;
import io.netty.handler.codec.http2.Http2Headers;
import io.netty.handler.codec.http2.Http2HeadersFrame;
import io.netty.handler.codec.http2.Http2MultiplexHandler;
import io.netty.handler.codec.http2.Http2ResetFrame;
import io.netty.handler.codec.http2.Http2StreamChannel;
import io.netty.handler.codec.http2.Http2StreamChannelBootstrap;
import io.netty.util.ReferenceCountUtil;

import java.io.ByteArrayOutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Clients for fault runs: one chat completion each (streamed, or plain when the id starts with
 * {@code p}; see {@link #body}), over HTTP/1.1 (a connection per stream)
 * or h2c (streams of one connection), each recording every body byte it received and how the answer
 * ended. A slow client reads one socket read (or one HTTP/2 frame) per {@code slowMillis}, with a
 * small receive buffer, so the proxy's writes to it queue up.
 */
final class FaultClients implements AutoCloseable {

    /** What one stream received and how it ended. */
    static final class Received {
        final String id;
        final ByteArrayOutputStream body = new ByteArrayOutputStream();
        volatile int status = -1;
        /** Ended as a complete answer (HTTP/1.1 terminator, or END_STREAM). */
        volatile boolean complete;
        /** The stream was reset (RST_STREAM) or the connection closed before the end. */
        volatile boolean aborted;
        final CompletableFuture<Received> done = new CompletableFuture<>();

        Received(String id) {
            this.id = id;
        }

        synchronized void append(ByteBuf b) {
            byte[] a = new byte[b.readableBytes()];
            b.getBytes(b.readerIndex(), a);
            body.write(a, 0, a.length);
        }

        synchronized String text() {
            return body.toString(StandardCharsets.UTF_8);
        }

        synchronized void end(boolean completed) {
            if (done.isDone()) {
                return;
            }
            if (completed) {
                complete = true;
            } else {
                aborted = true;
            }
            done.complete(this);
        }
    }

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(2, NioIoHandler.newFactory());
    private final InetSocketAddress proxy;

    FaultClients(InetSocketAddress proxy) {
        this.proxy = proxy;
    }

    /** A chat completion asking for {@code events} events; a plain answer when {@code id} starts with {@code p}. */
    static byte[] body(String id, int events) {
        return ("{\"model\":\"m\",\"stream\":" + !id.startsWith("p") + ",\"user\":\"" + id + "\",\"max_tokens\":" + events
                + ",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").getBytes(StandardCharsets.UTF_8);
    }

    /** One stream over a new HTTP/1.1 connection. */
    Received http1(String id, int events, String fault, long slowMillis) {
        Received r = new Received(id);
        Bootstrap b = new Bootstrap().group(group).channel(NioSocketChannel.class)
                .option(ChannelOption.AUTO_READ, slowMillis <= 0)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        if (slowMillis > 0) {
                            ch.config().setReceiveBufferSize(2048);
                        }
                        ch.pipeline().addLast(new HttpClientCodec(), new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                                        "/v1/chat/completions", Unpooled.wrappedBuffer(body(id, events)));
                                req.headers().set(HttpHeaderNames.HOST, "127.0.0.1");
                                req.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
                                req.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, req.content().readableBytes());
                                req.headers().set("x-fault", fault);
                                ctx.writeAndFlush(req);
                                if (slowMillis > 0) {
                                    ctx.read();
                                }
                            }

                            @Override
                            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                                try {
                                    if (msg instanceof HttpResponse resp) {
                                        r.status = resp.status().code();
                                    }
                                    if (msg instanceof HttpContent c) {
                                        r.append(c.content());
                                        if (c instanceof LastHttpContent) {
                                            r.end(c.decoderResult().isSuccess());
                                        }
                                    }
                                } finally {
                                    ReferenceCountUtil.release(msg);
                                }
                            }

                            @Override
                            public void channelReadComplete(ChannelHandlerContext ctx) {
                                if (slowMillis > 0) {
                                    ctx.executor().schedule(() -> ctx.read(), slowMillis, TimeUnit.MILLISECONDS);
                                }
                            }

                            @Override
                            public void channelInactive(ChannelHandlerContext ctx) {
                                r.end(false); // a no-op when the answer had ended
                            }

                            @Override
                            public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
                                ctx.close();
                            }
                        });
                    }
                });
        b.connect(proxy).addListener(f -> {
            if (!f.isSuccess()) {
                r.end(false);
            }
        });
        return r;
    }

    /** An h2c connection (prior knowledge) on which {@link #stream} opens streams. */
    Channel h2Connection() {
        return new Bootstrap().group(group).channel(NioSocketChannel.class)
                .handler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(Http2FrameCodecBuilder.forClient().build(),
                                new Http2MultiplexHandler(new ChannelInboundHandlerAdapter()));
                    }
                })
                .connect(proxy).syncUninterruptibly().channel();
    }

    /** One stream on {@code connection}. */
    Received stream(Channel connection, String id, int events, String fault, long slowMillis) {
        Received r = new Received(id);
        new Http2StreamChannelBootstrap(connection).handler(new ChannelInboundHandlerAdapter() {
            @Override
            public void channelActive(ChannelHandlerContext ctx) {
                if (slowMillis > 0) {
                    ctx.channel().config().setAutoRead(false);
                }
                Http2Headers h = new DefaultHttp2Headers().method("POST").path("/v1/chat/completions")
                        .scheme("http").authority("127.0.0.1");
                h.set("content-type", "application/json");
                h.set("x-fault", fault);
                ctx.write(new DefaultHttp2HeadersFrame(h));
                ctx.writeAndFlush(new DefaultHttp2DataFrame(Unpooled.wrappedBuffer(body(id, events)), true));
                if (slowMillis > 0) {
                    ctx.read();
                }
            }

            @Override
            public void channelRead(ChannelHandlerContext ctx, Object msg) {
                try {
                    if (msg instanceof Http2HeadersFrame hf) {
                        CharSequence s = hf.headers().status();
                        if (s != null) {
                            r.status = Integer.parseInt(s.toString());
                        }
                        if (hf.isEndStream()) {
                            r.end(true);
                        }
                    } else if (msg instanceof Http2DataFrame df) {
                        r.append(df.content());
                        if (df.isEndStream()) {
                            r.end(true);
                        }
                    } else if (msg instanceof Http2ResetFrame) {
                        r.end(false);
                    }
                } finally {
                    ReferenceCountUtil.release(msg);
                }
            }

            @Override
            public void channelReadComplete(ChannelHandlerContext ctx) {
                if (slowMillis > 0) {
                    ctx.executor().schedule(() -> ctx.read(), slowMillis, TimeUnit.MILLISECONDS);
                }
            }

            @Override
            public void channelInactive(ChannelHandlerContext ctx) {
                r.end(false);
            }
        }).open().addListener(f -> {
            if (!f.isSuccess()) {
                r.end(false);
            }
        });
        return r;
    }

    @Override
    public void close() {
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }
}
