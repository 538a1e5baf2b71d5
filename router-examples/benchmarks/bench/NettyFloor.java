import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;

import java.util.ArrayDeque;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * The floor under the router's data plane in {@code overhead.sh}: the least an HTTP/1.1 reverse
 * proxy on the same stack does (Netty 4.2, native epoll, the pooled allocator, the same codecs and
 * options as the proxy), with none of the router's semantics. Each request is read whole, sent to
 * the next backend in turn on a kept-alive connection of its own event loop, and the answer is
 * passed back as it comes, headers as they are. No routing, accounting, timers, retries, stream
 * watch, header policy, logs or metrics; no error handling beyond closing.
 *
 * <pre>
 * java -cp vllm-router.jar bench/NettyFloor.java PORT THREADS BACKEND_PORT...
 * </pre>
 *
 * A benchmark reference only: binds 127.0.0.1 and runs until stopped ({@code overhead.sh} stops it).
 */
public final class NettyFloor {

    public static void main(String[] args) throws Exception {
        int port = Integer.parseInt(args[0]);
        int threads = Integer.parseInt(args[1]);
        int[] backends = new int[args.length - 2];
        for (int i = 2; i < args.length; i++) {
            backends[i - 2] = Integer.parseInt(args[i]);
        }
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, EpollIoHandler.newFactory());
        Map<EventLoop, Pool> pools = new IdentityHashMap<>();
        group.forEach(e -> pools.put((EventLoop) e, new Pool((EventLoop) e, backends)));
        Channel server = new ServerBootstrap()
                .group(group)
                .channel(EpollServerSocketChannel.class)
                .option(ChannelOption.SO_BACKLOG, 4096)
                .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new HttpServerCodec(), new HttpObjectAggregator(1 << 20),
                                new Front(pools.get(ch.eventLoop())));
                    }
                })
                .bind("127.0.0.1", port).sync().channel();
        System.out.println("netty floor on 127.0.0.1:" + port + ", " + threads + " event loops");
        server.closeFuture().sync(); // until the process is stopped
    }

    /** One event loop's kept-alive upstream connections, and its turn among the backends. */
    static final class Pool {
        final Bootstrap bootstrap;
        final int[] backends;
        final Map<Integer, ArrayDeque<Channel>> idle = new java.util.HashMap<>();
        int next;

        Pool(EventLoop loop, int[] backends) {
            this.backends = backends;
            this.bootstrap = new Bootstrap()
                    .group(loop)
                    .channel(EpollSocketChannel.class)
                    .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new HttpClientCodec(8192, 32 * 1024, 64 * 1024), new Back());
                        }
                    });
        }
    }

    /** The client side: a whole request goes to the next backend. */
    static final class Front extends ChannelInboundHandlerAdapter {
        private final Pool pool;

        Front(Pool pool) {
            this.pool = pool;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            FullHttpRequest req = (FullHttpRequest) msg;
            int backend = pool.backends[pool.next++ % pool.backends.length];
            req.headers().set(HttpHeaderNames.HOST, "127.0.0.1:" + backend);
            ArrayDeque<Channel> q = pool.idle.computeIfAbsent(backend, k -> new ArrayDeque<>());
            Channel up = q.pollLast();
            if (up != null && up.isActive()) {
                send(ctx, up, backend, req);
            } else {
                pool.bootstrap.connect("127.0.0.1", backend).addListener((ChannelFutureListener) f -> {
                    if (f.isSuccess()) {
                        send(ctx, f.channel(), backend, req);
                    } else {
                        req.release();
                        ctx.close();
                    }
                });
            }
        }

        private void send(ChannelHandlerContext client, Channel up, int backend, FullHttpRequest req) {
            Back back = up.pipeline().get(Back.class);
            back.client = client;
            back.keepAlive = HttpUtil.isKeepAlive(req);
            back.release = () -> pool.idle.get(backend).addLast(up);
            up.writeAndFlush(req);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** The backend side: the answer goes back to the client as it comes. */
    static final class Back extends ChannelInboundHandlerAdapter {
        ChannelHandlerContext client;
        boolean keepAlive;
        Runnable release;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ChannelHandlerContext c = client;
            if (c == null) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (msg instanceof HttpResponse r) {
                HttpUtil.setKeepAlive(r, keepAlive);
            }
            if (msg instanceof LastHttpContent) {
                client = null;
                c.write(msg);
                c.flush();
                if (!keepAlive) {
                    c.close();
                }
                release.run();
            } else if (msg instanceof HttpContent || msg instanceof HttpResponse) {
                c.write(msg);
            } else {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ChannelHandlerContext c = client;
            if (c != null) {
                c.flush();
            }
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            ChannelHandlerContext c = client;
            if (c != null) {
                c.close();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
