package io.vllmrouter.examples.server.door;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.examples.server.ProxyContext;
import io.vllmrouter.examples.server.ProxyOptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.ToLongFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The client's read timeouts on a keep-alive connection, on the channel's own clock: each wait ends
 * when its own timeout says, although the connection keeps one timer for all of them.
 */
class ReadTimeoutsTest {

    /** The defaults' shape: header 10 s, body 30 s, idle 60 s (each wait longer than the one before). */
    private static final String TIMEOUTS = """
            [config]
            client_header_timeout = 10
            client_body_timeout = 30
            client_idle_timeout = 60
            """;

    private EmbeddedChannel channel;

    @AfterEach
    void close() {
        if (channel != null) {
            channel.finishAndReleaseAll();
        }
    }

    @Test
    void anIdleConnectionClosesAtTheIdleTimeoutAfterAnswers() {
        open();
        for (int i = 0; i < 3; i++) {
            requestWithBody();
            bodyEnds();
            answer();
            advanceSeconds(59);
            assertThat(channel.isOpen()).as("idle for 59 s after answer %d", i).isTrue();
        }
        advanceSeconds(2);

        assertThat(channel.isOpen()).isFalse();
        Object out = channel.readOutbound();
        assertThat(out == null || (out instanceof io.netty.buffer.ByteBuf b && !b.isReadable()))
                .as("closed quietly (at most the empty write that ends the connection): %s", out).isTrue();
    }

    @Test
    void aSlowBodyAfterAnIdleWaitTimesOutAtTheBodyTimeout() {
        open();
        requestWithBody();
        bodyEnds();
        answer();
        advanceSeconds(15); // past the first wait: the timer now serves the idle wait (60 s), and the body (30 s) ends first
        requestWithBody();
        advanceSeconds(29);
        assertThat(channel.isOpen()).isTrue();
        advanceSeconds(2);

        FullHttpResponse r = channel.readOutbound();
        assertThat(r).as("the 408 at the body timeout").isNotNull();
        try {
            assertThat(r.status().code()).isEqualTo(408);
            assertThat(r.content().toString(java.nio.charset.StandardCharsets.UTF_8)).contains("client_body_timeout (30 s)");
        } finally {
            r.release();
        }
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void aPipelinedRequestIsTimedAsARequestBeingAnsweredNotAsAnIdleWait() {
        open(new EmbeddedChannel(), c -> Long.MAX_VALUE, true);
        requestWithBody();
        bodyEnds();
        requestWithBody(); // sent before the first answer: waits until it is written
        bodyEnds();
        answer(); // lets the second request through, within the write of the first answer's end
        advanceSeconds(600); // the second request's backend takes ten minutes
        assertThat(channel.isOpen()).as("the second request is being answered: no idle wait").isTrue();
        answer();
        advanceSeconds(59);
        assertThat(channel.isOpen()).isTrue();
        advanceSeconds(2 + 5); // the idle timeout, then the grace for the client to close
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void aConnectionThatAsksNothingClosesAtTheHeaderTimeout() {
        open();
        advanceSeconds(9);
        assertThat(channel.isOpen()).isTrue();
        advanceSeconds(2);

        assertThat(channel.isOpen()).isFalse();
        assertThat((Object) channel.readOutbound()).isNull();
    }

    @Test
    void aLongAnswerIsNotTimedAndTheIdleWaitStartsAfterIt() {
        open();
        requestWithBody();
        bodyEnds();
        advanceSeconds(600); // the backend takes ten minutes: no read timeout applies
        assertThat(channel.isOpen()).isTrue();
        answer();
        advanceSeconds(59);
        assertThat(channel.isOpen()).isTrue();
        advanceSeconds(2);

        assertThat(channel.isOpen()).isFalse();
    }


    @Test
    void aClientSlowToTakeALongAnswerKeepsItsConnectionWhileItTakesSome() {
        SlowSocket socket = open(new SlowSocket());
        requestWithBody();
        bodyEnds();
        streamedAnswer(3); // head, three pieces, end: the socket takes none of it yet
        for (int piece = 0; piece < 4; piece++) {
            advanceSeconds(50);
            assertThat(channel.isOpen()).as("taking a piece every 50 s: open before piece %d", piece).isTrue();
            socket.clientTakes(1 + (piece == 0 ? 1 : 0)); // the first time the head with the first piece
        }
        socket.clientTakes(1); // the end: the whole answer taken
        assertThat(socket.taken).isEqualTo(5);
        advanceSeconds(59);
        assertThat(channel.isOpen()).as("idle for 59 s after taking the answer").isTrue();
        advanceSeconds(2);
        assertThat(channel.isOpen()).as("idle for 61 s").isFalse();
    }

    @Test
    void aClientThatStopsTakingItsAnswerIsEndedAfterTheIdleTimeout() {
        SlowSocket socket = open(new SlowSocket());
        requestWithBody();
        bodyEnds();
        streamedAnswer(3);
        advanceSeconds(30);
        socket.clientTakes(2); // the head and a piece, then nothing more
        advanceSeconds(59);
        assertThat(channel.isOpen()).as("89 s in, 59 s after it last took a piece").isTrue();
        advanceSeconds(40 + 5); // a full idle wait without taking anything, then the grace to close
        assertThat(channel.isOpen()).as("ended: took none of its answer for client_idle_timeout").isFalse();
    }

    @Test
    void aClientThatTakesNothingOfItsAnswerIsEndedAtTheIdleTimeout() {
        open(new SlowSocket());
        requestWithBody();
        bodyEnds();
        streamedAnswer(1);
        advanceSeconds(59);
        assertThat(channel.isOpen()).isTrue();
        advanceSeconds(2 + 5); // the idle timeout, then the grace for the client to close
        assertThat(channel.isOpen()).isFalse();
    }

    @Test
    void aClientReadingWhatTheSocketTookIsIdleOnlyFromTheSocketsLastByte() {
        long[] sentAt = {0};
        open(new EmbeddedChannel(), c -> now() - sentAt[0]);
        requestWithBody();
        bodyEnds();
        answer(); // the socket took it all at once; the kernel sends it on as the client reads
        for (int s = 10; s <= 100; s += 10) {
            advanceSeconds(10);
            sentAt[0] = now(); // still sending, 10 s apart
        }
        advanceSeconds(59);
        assertThat(channel.isOpen()).as("59 s after the socket's last byte, 159 s after the answer").isTrue();
        advanceSeconds(2);
        assertThat(channel.isOpen()).as("61 s after the socket's last byte").isFalse();
    }

    private long now() {
        return channel.eventLoop().ticker().nanoTime();
    }

    private void open() {
        open(new EmbeddedChannel());
    }

    /** A client's socket that takes the answer's pieces only as the client reads them. */
    private static final class SlowSocket extends EmbeddedChannel {
        private int allowed;
        int taken;

        @Override
        protected void doWrite(ChannelOutboundBuffer in) {
            for (Object msg; allowed > 0 && (msg = in.current()) != null; ) {
                allowed--;
                taken++;
                ReferenceCountUtil.retain(msg);
                handleOutboundMessage(msg);
                in.remove();
            }
        }

        void clientTakes(int pieces) {
            allowed += pieces;
            flushOutbound();
            for (Object m; (m = readOutbound()) != null; ) {
                ReferenceCountUtil.release(m);
            }
        }
    }

    private <C extends EmbeddedChannel> C open(C ch) {
        return open(ch, c -> Long.MAX_VALUE);
    }

    private <C extends EmbeddedChannel> C open(C ch, ToLongFunction<Channel> lastSent) {
        return open(ch, lastSent, false);
    }

    private <C extends EmbeddedChannel> C open(C ch, ToLongFunction<Channel> lastSent, boolean pipelining) {
        RouterConfig config = ConfigLoader.parse(TIMEOUTS + "[servers]\nservers = [ { url = \"http://127.0.0.1:9\" } ]\n",
                "timeouts.toml", Map.of());
        VllmRouter router = (VllmRouter) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {VllmRouter.class},
                (p, m, args) -> {
                    if (m.getName().equals("config")) {
                        return config;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
        ProxyContext context = new ProxyContext(router, ProxyOptions.builder().build());
        channel = ch;
        channel.freezeTime();
        if (pipelining) {
            channel.pipeline().addLast(new Pipelining(java.time.Duration.ofSeconds(5), java.time.Duration.ofSeconds(5))); // before the timeouts, as in FrontDoor
        }
        channel.pipeline().addLast(ReadTimeouts.forConnection(context, lastSent));
        return ch;
    }

    private void requestWithBody() {
        HttpRequest req = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/v1/completions");
        req.headers().set("content-length", "10");
        channel.writeInbound(req);
        ReferenceCountUtil.release(channel.readInbound());
    }

    private void bodyEnds() {
        channel.writeInbound(LastHttpContent.EMPTY_LAST_CONTENT);
        ReferenceCountUtil.release(channel.readInbound());
    }

    private void answer() {
        channel.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        ReferenceCountUtil.release(channel.readOutbound());
    }

    /** An answer in pieces of 1 KiB: its head, {@code pieces} pieces and its end, flushed. */
    private void streamedAnswer(int pieces) {
        channel.write(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK));
        for (int i = 0; i < pieces; i++) {
            channel.write(new DefaultHttpContent(Unpooled.buffer(1024).writeZero(1024)));
        }
        channel.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
    }

    private void advanceSeconds(long seconds) {
        // One second at a time: a timer that re-arms itself runs again within the same advance.
        for (long s = 0; s < seconds; s++) {
            channel.advanceTimeBy(1, TimeUnit.SECONDS);
            channel.runScheduledPendingTasks();
            channel.runPendingTasks();
        }
    }
}
