package io.vllmrouter.examples.server.door;

import io.netty.channel.embedded.EmbeddedChannel;
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

    private void open() {
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
        channel = new EmbeddedChannel();
        channel.freezeTime();
        channel.pipeline().addLast(ReadTimeouts.forConnection(context));
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

    private void advanceSeconds(long seconds) {
        // One second at a time: a timer that re-arms itself runs again within the same advance.
        for (long s = 0; s < seconds; s++) {
            channel.advanceTimeBy(1, TimeUnit.SECONDS);
            channel.runScheduledPendingTasks();
            channel.runPendingTasks();
        }
    }
}
