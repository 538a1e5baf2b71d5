package io.vllmrouter.examples.server.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ChannelPromise;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.util.ReferenceCountUtil;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.examples.server.ProxyContext;
import io.vllmrouter.examples.server.ProxyOptions;
import io.vllmrouter.examples.server.upstream.NettyChunk;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The relay on an {@link EmbeddedChannel} whose writes are held like a slow client's: a chunk stays
 * the relay's (then the write's) until its write completed, whatever ends the stream meanwhile.
 */
class BodyRelayTest {

    /** Holds every write until the test lets the "socket" take them (then releases them, as a transport does). */
    private static final class SlowClient extends ChannelOutboundHandlerAdapter {
        final List<Object> messages = new ArrayList<>();
        final List<ChannelPromise> promises = new ArrayList<>();
        final StringBuilder seen = new StringBuilder();

        @Override
        public void write(ChannelHandlerContext ctx, Object msg, ChannelPromise promise) {
            if (msg instanceof ByteBufHolder h) {
                seen.append(h.content().toString(StandardCharsets.UTF_8));
            }
            messages.add(msg);
            promises.add(promise);
        }

        /** The socket took (or failed) every held write. */
        void drain(boolean ok) {
            for (int i = 0; i < messages.size(); i++) {
                ReferenceCountUtil.release(messages.get(i));
                if (ok) {
                    promises.get(i).trySuccess();
                } else {
                    promises.get(i).tryFailure(new IOException("connection reset"));
                }
            }
            messages.clear();
            promises.clear();
        }
    }

    /** The router's answer, whose body the test drives. */
    private static final class Answer implements RouterResponse {
        Flow.Subscriber<? super BodyChunk> body;
        int requested;
        boolean cancelled;
        boolean closed;

        @Override public int status() { return 200; }
        @Override public Map<String, List<String>> headers() { return Map.of("content-type", List.of("text/event-stream")); }
        @Override public InputStream body() { throw new UnsupportedOperationException(); }
        @Override public String backendId() { return "b"; }
        @Override public int attempts() { return 1; }
        @Override public String requestId() { return "r"; }
        @Override public void close() { closed = true; }

        @Override
        public Flow.Publisher<BodyChunk> bodyPublisher() {
            return s -> {
                body = s;
                s.onSubscribe(new Flow.Subscription() {
                    @Override public void request(long n) { requested += (int) n; }
                    @Override public void cancel() { cancelled = true; }
                });
            };
        }
    }

    private final SlowClient client = new SlowClient();
    private final EmbeddedChannel channel = new EmbeddedChannel(client, new ChannelInboundHandlerAdapter());
    private final Answer answer = new Answer();
    private final List<ByteBuf> pooled = new ArrayList<>();
    private ProxyContext context;

    @AfterEach
    void tearDown() {
        client.drain(false);
        channel.finishAndReleaseAll();
        for (ByteBuf b : pooled) {
            assertThat(b.refCnt()).as("every chunk released exactly once").isZero();
        }
    }

    private BodyRelay relay() {
        return relay(true);
    }

    private BodyRelay relay(boolean sse) {
        ChannelHandlerContext ctx = channel.pipeline().lastContext();
        ProxyContext context = new ProxyContext(null, ProxyOptions.builder().build());
        ProxyExchange x = new ProxyExchange(context, new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST,
                "/v1/chat/completions"), "/v1/chat/completions", "/v1/chat/completions", null);
        BodyRelay relay = new BodyRelay(ctx, context, x, answer, sse);
        DefaultHttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        head.headers().set("Content-Type", sse ? "text/event-stream" : "application/json");
        relay.start(head);
        if (sse) {
            channel.runPendingTasks();
        }
        this.context = context;
        return relay;
    }

    /** A chunk in pooled memory, as the Netty transport hands it on. */
    private NettyChunk chunk(String text) {
        ByteBuf b = PooledByteBufAllocator.DEFAULT.directBuffer().writeBytes(text.getBytes(StandardCharsets.UTF_8));
        pooled.add(b);
        return new NettyChunk(b);
    }

    @Test
    void aChunkQueuedForASlowClientIsNotReleasedWhenTheStreamIsCut() {
        relay();
        NettyChunk c = chunk("data: {\"id\":\"mine\"}\n\n");
        answer.body.onNext(c);
        channel.runPendingTasks();
        answer.body.onError(new IOException("the backend reset the connection"));
        channel.runPendingTasks();

        assertThat(answer.closed).isTrue();
        assertThat(c.buf().refCnt()).as("still queued for the client: still its bytes").isEqualTo(1);
        assertThat(c.buf().toString(StandardCharsets.UTF_8)).isEqualTo("data: {\"id\":\"mine\"}\n\n");
        client.drain(true);
        assertThat(c.buf().refCnt()).as("released by the write, once").isZero();
    }

    @Test
    void theErrorEventOfACutStartsOnAnEventBoundary() throws Exception {
        relay();
        answer.body.onNext(chunk("data: {\"n\":1}\n\ndata: {\"n\":2, \"half"));
        channel.runPendingTasks();
        answer.body.onError(new IOException("reset"));
        channel.runPendingTasks();

        String sent = client.seen.toString();
        assertThat(sent).startsWith("data: {\"n\":1}\n\ndata: {\"error\":").endsWith("\n\n").doesNotContain("half");
        for (String event : sent.split("\n\n")) {
            assertThat(event).startsWith("data: ");
            Responses.JSON.readTree(event.substring(6)); // each one parses on its own
        }
    }

    @Test
    void afterTheBackendsOwnErrorEventNothingIsAdded() {
        relay();
        answer.body.onNext(chunk("data: {\"n\":1}\n\ndata: {\"error\":{\"message\":\"engine died\"}}\n\n"));
        channel.runPendingTasks();
        answer.body.onError(new io.vllmrouter.api.InBandErrorException("the backend sent an error event"));
        channel.runPendingTasks();
        client.drain(true);
        channel.runPendingTasks();

        assertThat(client.seen.toString()).isEqualTo("data: {\"n\":1}\n\ndata: {\"error\":{\"message\":\"engine died\"}}\n\n");
        assertThat(channel.isOpen()).as("closed without the body's end").isFalse();
    }

    @Test
    void aCutStreamIsClosedInBoundedTimeEvenIfTheClientNeverReads() {
        relay();
        answer.body.onNext(chunk("data: 1\n\n"));
        channel.runPendingTasks();
        answer.body.onError(new IOException("reset"));
        channel.runPendingTasks();
        assertThat(channel.isOpen()).as("the error event waits for the client").isTrue();

        channel.advanceTimeBy(ProxyOptions.DEFAULT_CLOSE_GRACE.toSeconds() - 1, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).isTrue();
        channel.advanceTimeBy(1, TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).as("closed although the client read nothing").isFalse();
    }

    @Test
    void theNextChunkIsAskedOnlyWhenTheLastWriteCompleted() {
        relay();
        assertThat(answer.requested).isEqualTo(1);
        answer.body.onNext(chunk("data: 1\n\n"));
        channel.runPendingTasks();
        assertThat(answer.requested).as("the client has not taken it yet").isEqualTo(1);
        client.drain(true);
        assertThat(answer.requested).isEqualTo(2);
    }

    @Test
    void aCompleteStreamEndsWithWhatWasHeld() {
        relay();
        answer.body.onNext(chunk("data: 1\n\ndata: no blank line at the end"));
        answer.body.onComplete();
        channel.runPendingTasks();
        assertThat(client.seen.toString()).isEqualTo("data: 1\n\ndata: no blank line at the end");
        assertThat(client.messages.get(client.messages.size() - 1)).isInstanceOf(LastHttpContent.class);
        client.drain(true);
        assertThat(answer.closed).isTrue();
    }

    @Test
    void aClientThatLeftCancelsTheUpstreamAndNothingMoreIsWritten() {
        relay();
        answer.body.onNext(chunk("data: 1\n\n"));
        channel.runPendingTasks();
        client.drain(false); // the write failed: the client is gone
        assertThat(answer.cancelled).isTrue();
        assertThat(answer.closed).isTrue();
        NettyChunk late = chunk("data: 2\n\n");
        answer.body.onNext(late);
        channel.runPendingTasks();
        assertThat(late.buf().refCnt()).as("a chunk after the end is released at once").isZero();
        assertThat(client.messages).isEmpty();
    }

    @Test
    void aPlainAnswerThatCameInOneReadLeavesInOneWrite() {
        relay(false);
        NettyChunk c = chunk("{\"id\":\"mine\"}");
        answer.body.onNext(c);
        assertThat(client.messages).as("the head waits for the rest of the read").isEmpty();
        answer.body.onComplete();
        channel.runPendingTasks();

        assertThat(client.messages).hasSize(1);
        assertThat(client.messages.get(0)).isInstanceOf(FullHttpResponse.class);
        FullHttpResponse whole = (FullHttpResponse) client.messages.get(0);
        assertThat(whole.headers().get("Content-Type")).isEqualTo("application/json");
        assertThat(client.seen.toString()).isEqualTo("{\"id\":\"mine\"}");
        assertThat(context.bufferedResponseBytes()).as("held for the client until written").isEqualTo(13);
        assertThat(answer.closed).as("closed once written").isFalse();
        client.drain(true);
        assertThat(c.buf().refCnt()).as("released by the write, once").isZero();
        assertThat(context.bufferedResponseBytes()).isZero();
        assertThat(answer.closed).isTrue();
    }

    @Test
    void aPlainAnswerThatGoesOnLeavesItsHeadWithItsFirstPart() {
        relay(false);
        channel.runPendingTasks();
        assertThat(client.messages).as("the head waits for the body (a backend may send them apart)").isEmpty();

        answer.body.onNext(chunk("{\"part\":1,"));
        channel.runPendingTasks();
        assertThat(client.messages).hasSize(2);
        assertThat(client.messages.get(0)).isInstanceOf(HttpResponse.class).isNotInstanceOf(FullHttpResponse.class);
        assertThat(client.seen.toString()).isEqualTo("{\"part\":1,");
        assertThat(answer.requested).as("the next part waits for the client").isEqualTo(1);
        client.drain(true);
        assertThat(answer.requested).isEqualTo(2);
        answer.body.onNext(chunk("\"end\":true}"));
        answer.body.onComplete();
        channel.runPendingTasks();
        assertThat(client.seen.toString()).isEqualTo("{\"part\":1,\"end\":true}");
        assertThat(client.messages.get(client.messages.size() - 1)).isInstanceOf(LastHttpContent.class);
        client.drain(true);
        assertThat(answer.closed).isTrue();
    }

    @Test
    void aHeadAndChunkHeldForTheFlushAreDroppedOnceWhenTheClientLeaves() {
        BodyRelay relay = relay(false);
        NettyChunk c = chunk("{\"id\":\"mine\"}");
        answer.body.onNext(c);
        relay.clientGone();
        channel.runPendingTasks();

        assertThat(client.messages).as("nothing written after the client left").isEmpty();
        assertThat(c.buf().refCnt()).as("the held chunk released once").isZero();
        assertThat(context.bufferedResponseBytes()).isZero();
        assertThat(answer.cancelled).isTrue();
    }

    @Test
    void aPlainAnswerCutBeforeTheFlushIsTheRouters502WithNoneOfIt() {
        relay(false);
        NettyChunk c = chunk("{\"id\":");
        answer.body.onNext(c);
        answer.body.onError(new IOException("the backend reset the connection"));
        channel.runPendingTasks();

        // Nothing of the answer had left: a cut answer never looks complete, and the client hears why.
        assertThat(client.messages).singleElement().isInstanceOfSatisfying(FullHttpResponse.class, r -> {
            assertThat(r.status().code()).isEqualTo(502);
            assertThat(r.headers().get("Connection")).isEqualToIgnoringCase("close"); // the front door ends the connection after it
            assertThat(r.content().toString(StandardCharsets.UTF_8)).contains("upstream_error").doesNotContain("{\"id\":");
        });
        assertThat(c.buf().refCnt()).isZero();
        assertThat(context.bufferedResponseBytes()).isZero();
    }

    @Test
    void aPlainAnswerCutWhileTheClientReadsNothingIsEndedAtTheGrace() {
        relay(false);
        answer.body.onNext(chunk("{\"id\":"));
        channel.runPendingTasks(); // the head and the first part are written; the client takes none of it
        answer.body.onError(new IOException("the request's deadline passed"));
        channel.runPendingTasks();
        assertThat(channel.isOpen()).isTrue();

        channel.advanceTimeBy(ProxyOptions.DEFAULT_CLOSE_GRACE.toSeconds(), TimeUnit.SECONDS);
        channel.runScheduledPendingTasks();
        assertThat(channel.isOpen()).as("ended although the client read nothing").isFalse();
        client.drain(false);
    }
}
