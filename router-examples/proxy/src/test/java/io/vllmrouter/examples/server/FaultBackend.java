package io.vllmrouter.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A vLLM stand-in on 127.0.0.1 for fault runs, on Netty so that hundreds of streams run at once.
 * A chat completion's {@code user} field is its request id, {@code max_tokens} the number of events,
 * {@code stream} whether they come as an event stream or as one plain JSON answer of that many pieces
 * (its {@code Content-Length} announced first, the pieces written one at a time), and the
 * {@code x-fault} header what the backend does:
 * <ul>
 *   <li>{@code ok}: the events, one every {@code x-interval-ms} (default 1), then {@code [DONE]};</li>
 *   <li>{@code reset}: half the events, then the connection is reset (RST);</li>
 *   <li>{@code stall}: half the events, then nothing (the router's deadline cuts it);</li>
 *   <li>{@code drop}: the request is read and the connection closed without an answer.</li>
 * </ul>
 * Every event carries its request's id in its JSON and in a padding string, so a byte of one
 * request found in another's answer is seen. {@link #runs} counts how often each id arrived here.
 */
final class FaultBackend implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final EventLoopGroup group;
    private final Channel server;
    /** Request id to the number of times it arrived at this backend. */
    final Map<String, AtomicInteger> runs = new ConcurrentHashMap<>();

    FaultBackend() {
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
        server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20), new Handler());
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).syncUninterruptibly().channel();
    }

    String url() {
        return "http://127.0.0.1:" + ((InetSocketAddress) server.localAddress()).getPort();
    }

    int runs(String id) {
        AtomicInteger n = runs.get(id);
        return n == null ? 0 : n.get();
    }

    /** The event {@code seq} of request {@code id}, as the backend sends it. */
    static String event(String id, int seq) {
        return "data: {\"id\":\"" + id + "\",\"seq\":" + seq + ",\"pad\":\"" + (id + "/").repeat(100) + "\"}\n\n";
    }

    /** Piece {@code seq} of request {@code id}'s plain answer. */
    static String piece(String id, int seq) {
        return "{\"id\":\"" + id + "\",\"seq\":" + seq + ",\"pad\":\"" + (id + "/").repeat(100) + "\"}\n";
    }

    /** The whole plain answer of request {@code id}: its pieces in order. */
    static String plainAnswer(String id, int pieces) {
        StringBuilder all = new StringBuilder();
        for (int seq = 0; seq < pieces; seq++) {
            all.append(piece(id, seq));
        }
        return all.toString();
    }

    @Override
    public void close() {
        server.close().syncUninterruptibly();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) throws Exception {
            String path = req.uri();
            if (path.equals("/health") || path.equals("/metrics")) {
                full(ctx, 200, "text/plain", "");
                return;
            }
            if (path.equals("/v1/models")) {
                full(ctx, 200, "application/json", "{\"object\":\"list\",\"data\":[{\"id\":\"m\",\"object\":\"model\"}]}");
                return;
            }
            JsonNode body = JSON.readTree(req.content().toString(StandardCharsets.UTF_8));
            String id = body.path("user").asText();
            runs.computeIfAbsent(id, k -> new AtomicInteger()).incrementAndGet();
            int events = body.path("max_tokens").asInt(10);
            String fault = req.headers().get("x-fault", "ok");
            long interval = Long.parseLong(req.headers().get("x-interval-ms", "1"));
            if (fault.equals("drop")) {
                ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                ctx.close();
                return;
            }
            boolean stream = body.path("stream").asBoolean(false);
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            if (stream) {
                head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream");
                HttpUtil.setTransferEncodingChunked(head, true);
            } else {
                head.headers().set(HttpHeaderNames.CONTENT_TYPE, "application/json");
                HttpUtil.setContentLength(head, plainAnswer(id, events).getBytes(StandardCharsets.UTF_8).length);
            }
            ctx.writeAndFlush(head);
            int stopAt = fault.equals("ok") ? events : events / 2;
            send(ctx, id, 0, stopAt, fault, interval, stream);
        }

        private void send(ChannelHandlerContext ctx, String id, int seq, int stopAt, String fault, long interval,
                          boolean stream) {
            if (!ctx.channel().isActive()) {
                return;
            }
            if (seq == stopAt) {
                switch (fault) {
                    case "ok" -> {
                        if (stream) {
                            ctx.write(new DefaultHttpContent(Unpooled.copiedBuffer("data: [DONE]\n\n", StandardCharsets.UTF_8)));
                        }
                        ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                    }
                    case "reset" -> {
                        ctx.channel().config().setOption(ChannelOption.SO_LINGER, 0);
                        ctx.close();
                    }
                    default -> { } // stall: nothing more
                }
                return;
            }
            ByteBuf b = Unpooled.copiedBuffer(stream ? event(id, seq) : piece(id, seq), StandardCharsets.UTF_8);
            if (!stream && fault.equals("ok") && seq == stopAt - 1) {
                // A plain answer is over with its last byte: the router may send the next request
                // at once, so the encoder must have seen the end by then.
                ctx.writeAndFlush(new DefaultLastHttpContent(b));
                return;
            }
            ctx.writeAndFlush(new DefaultHttpContent(b));
            ctx.executor().schedule(() -> send(ctx, id, seq + 1, stopAt, fault, interval, stream), interval,
                    TimeUnit.MILLISECONDS);
        }

        private void full(ChannelHandlerContext ctx, int status, String type, String text) {
            FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                    Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
            r.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            HttpUtil.setContentLength(r, r.content().readableBytes());
            ctx.writeAndFlush(r);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
