package io.vllmrouter.examples.server.door;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.ChannelInitializer;
import io.vllmrouter.examples.server.ResetLog;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.net.InetAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.ToLongFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A connection the proxy ends is reset when the client has not closed it within the grace, unless
 * its socket was still sending: then the grace starts again from the last byte sent. After whole
 * answers the client may take nothing for longer (the quiet) before it is reset. On a real
 * loopback socket; how long ago the socket last sent is told by the test, the grace is short, and
 * the test waits for the connection's close (an event), not for time.
 */
@Timeout(20)
class HangupTest {

    private static final Duration GRACE = Duration.ofMillis(100);

    private final EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());

    private final ResetLog resets = new ResetLog();

    @AfterEach
    void stop() {
        resets.close();
        group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }

    @Test
    void aClientStillTakingBytesIsGivenTheGraceAgainAndResetOnlyOnceItTakesNothing() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        // The socket sent lately at the first three looks (a slow reader), then never again.
        ToLongFunction<Channel> lastSent = ch -> looks.incrementAndGet() <= 3 ? 0 : Long.MAX_VALUE;
        CompletableFuture<Channel> ended = serveAndEnd(GRACE, lastSent);
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            Channel ch = ended.get(10, TimeUnit.SECONDS);
            assertThat(ch.closeFuture().await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(looks.get()).as("looked at the grace's end, three times given it again, then reset").isEqualTo(4);
            assertThat(resets.count()).as("reset, once").isEqualTo(1);
            assertThat(resets.await(client.getLocalPort(), "a test")).as("this client's connection reset, for its reason").isTrue();
        }
    }

    @Test
    void aClientThatClosesIsNotReset() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        CompletableFuture<Channel> ended = serveAndEnd(GRACE, ch -> {
            looks.incrementAndGet();
            return 0; // always "sending": only the client's own close ends it
        });
        Channel ch;
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            ch = ended.get(10, TimeUnit.SECONDS);
            assertThat(client.getInputStream().read()).as("our end, after the half-close").isEqualTo(-1);
        }
        assertThat(ch.closeFuture().await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(resets.count()).as("closed by the client, not reset").isZero();
    }

    @Test
    void afterWholeAnswersAClientThatTookBytesWithinTheQuietIsNotResetAtTheGrace() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        CompletableFuture<Void> lookedTwice = new CompletableFuture<>();
        // Its socket last sent nine graces ago at each look, of a quiet of ten: a slow reader whose
        // window opens seldom. Under the grace alone it would be reset at the first look.
        CompletableFuture<Channel> ended = serveAndEnd(GRACE.multipliedBy(10), ch -> {
            if (looks.incrementAndGet() == 2) {
                lookedTwice.complete(null);
            }
            return GRACE.multipliedBy(9).toNanos();
        });
        Channel ch;
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            ch = ended.get(10, TimeUnit.SECONDS);
            ch.closeFuture().addListener(f -> lookedTwice.completeExceptionally(
                    new AssertionError("reset at its first look, under the grace")));
            lookedTwice.get(10, TimeUnit.SECONDS);
            assertThat(ch.isOpen()).as("not reset at the grace").isTrue();
            assertThat(client.getInputStream().read()).as("the client reads the end, then closes").isEqualTo(-1);
        }
        assertThat(ch.closeFuture().await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(resets.count()).as("closed by the client, not reset").isZero();
    }

    @Test
    void afterWholeAnswersAClientThatTookNothingForTheQuietIsReset() throws Exception {
        AtomicInteger looks = new AtomicInteger();
        // Two graces since it took bytes at the first look (kept: within the quiet of four), then
        // nothing more: four graces at the second.
        CompletableFuture<Channel> ended = serveAndEnd(GRACE.multipliedBy(4), ch ->
                GRACE.multipliedBy(looks.incrementAndGet() == 1 ? 2 : 4).toNanos());
        try (Socket client = new Socket(InetAddress.getLoopbackAddress(), port)) {
            Channel ch = ended.get(10, TimeUnit.SECONDS);
            assertThat(ch.closeFuture().await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(looks.get()).as("kept at the first look, reset at the second").isEqualTo(2);
            assertThat(resets.await(client.getLocalPort(), "a test")).isTrue();
        }
    }

    private int port;

    /** A server that ends each connection with {@link Hangup} as soon as it opens. */
    private CompletableFuture<Channel> serveAndEnd(Duration quiet, ToLongFunction<Channel> lastSent)
            throws InterruptedException {
        CompletableFuture<Channel> ended = new CompletableFuture<>();
        Channel server = new ServerBootstrap().group(group).channel(NioServerSocketChannel.class)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        ch.pipeline().addLast(new ChannelInboundHandlerAdapter() {
                            @Override
                            public void channelActive(ChannelHandlerContext ctx) {
                                Hangup.after(ctx, ctx.writeAndFlush(Unpooled.EMPTY_BUFFER), GRACE, "a test", quiet, lastSent);
                                ended.complete(ctx.channel());
                            }
                        });
                    }
                })
                .bind(InetAddress.getLoopbackAddress(), 0).sync().channel();
        port = ((java.net.InetSocketAddress) server.localAddress()).getPort();
        return ended;
    }
}
