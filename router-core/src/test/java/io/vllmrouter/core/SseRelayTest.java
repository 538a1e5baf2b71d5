package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.transport.TransportException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** {@link SseRelay} alone: what it holds, when it lets go, and what its subscriber then sees, in order. */
class SseRelayTest {

    /** Records what it is given; asks for one more item from inside each onNext, as a reader that keeps up. */
    static final class Reader implements Flow.Subscriber<io.vllmrouter.api.BodyChunk> {
        final StringBuilder text = new StringBuilder();
        final List<String> signals = new ArrayList<>();
        Throwable error;
        Flow.Subscription subscription;

        @Override
        public void onSubscribe(Flow.Subscription s) {
            subscription = s;
            s.request(1);
        }

        @Override
        public void onNext(io.vllmrouter.api.BodyChunk item) {
            for (ByteBuffer b : item.buffers()) {
                byte[] a = new byte[b.remaining()];
                b.duplicate().get(a);
                text.append(new String(a, StandardCharsets.UTF_8));
            }
            signals.add("next");
            subscription.request(1);
        }

        @Override
        public void onError(Throwable t) {
            error = t;
            signals.add("error");
        }

        @Override
        public void onComplete() {
            signals.add("complete");
        }
    }

    private static SseRelay relay(Chunks body, boolean watch, AtomicReference<Object> told) {
        return new SseRelay(body, watch, r -> told.set(r), told::set);
    }

    @Test
    void itHoldsUntilTheFirstDataEventThenPassesEverythingInOrder() {
        AtomicReference<Object> told = new AtomicReference<>();
        Chunks body = Chunks.of(": comment\n\n", "data: {\"a\"", ":1}\n\ndata: 2\n\n", "data: [DONE]\n\n");
        SseRelay relay = relay(body, true, told);
        relay.start();
        assertThat(told.get()).isSameAs(relay);
        assertThat(body.delivered.get()).as("read no further than the first event").isEqualTo(": comment\n\ndata: {\"a\":1}\n\ndata: 2\n\n".length());

        Reader reader = new Reader();
        relay.subscribe(reader);
        assertThat(reader.text.toString()).isEqualTo(": comment\n\ndata: {\"a\":1}\n\ndata: 2\n\ndata: [DONE]\n\n");
        assertThat(reader.signals).containsExactly("next", "next", "complete");
    }

    @Test
    void abandonedWhileHoldingItCancelsUpstreamAndTellsTheFailureOnce() {
        AtomicReference<Object> told = new AtomicReference<>();
        Chunks body = Chunks.hanging(": waiting\n\n");
        SseRelay relay = relay(body, true, told);
        relay.start();
        assertThat(told.get()).isNull();
        TransportException timeout = new TransportException(TransportException.Kind.TIMEOUT, "no first token", null);
        relay.abandon(timeout);
        relay.abandon(new IllegalStateException("a second time"));
        assertThat(told.get()).isSameAs(timeout);
        assertThat(body.cancelled).isTrue();
    }

    @Test
    void anErrorEventAfterTheFirstTokenInTheHeldBytesIsPassedOnThenFailsTheStream() {
        AtomicReference<Object> told = new AtomicReference<>();
        String error = "data: {\"error\": {\"message\": \"boom\", \"type\": \"InternalServerError\", \"param\": null, \"code\": 500}}\n\n";
        Chunks body = Chunks.of("data: 1\n\n" + error + "data: [DONE]\n\n");
        SseRelay relay = relay(body, true, told);
        relay.start();
        Reader reader = new Reader();
        relay.subscribe(reader);
        assertThat(reader.text.toString()).isEqualTo("data: 1\n\n" + error);
        assertThat(reader.signals).containsExactly("next", "error");
        assertThat(reader.error).isInstanceOf(InBandError.class);
        assertThat(body.cancelled).isTrue();
    }

    @Test
    void withoutWatchingAnErrorEventAfterTheFirstTokenIsLeftToTheReader() {
        AtomicReference<Object> told = new AtomicReference<>();
        String all = "data: 1\n\ndata: {\"error\": {\"code\": 500}}\n\ndata: [DONE]\n\n";
        SseRelay relay = relay(Chunks.of(all), false, told);
        relay.start();
        Reader reader = new Reader();
        relay.subscribe(reader);
        assertThat(reader.text.toString()).isEqualTo(all);
        assertThat(reader.signals).containsExactly("next", "complete");
    }

    @Test
    void aFailureAfterDoneIsACompleteAnswerAndBeforeItAFailure() {
        TransportException reset = new TransportException(TransportException.Kind.RESET, "reset", null);
        Reader afterDone = new Reader();
        SseRelay done = relay(new Chunks(reset, "data: 1\n\n", "data: [DONE]\n\n"), true, new AtomicReference<>());
        done.start();
        done.subscribe(afterDone);
        assertThat(afterDone.signals).endsWith("complete");

        Reader before = new Reader();
        SseRelay cut = relay(new Chunks(reset, "data: 1\n\n", "data: 2\n\n"), true, new AtomicReference<>());
        cut.start();
        cut.subscribe(before);
        assertThat(before.signals).endsWith("error");
        assertThat(before.error).isSameAs(reset);
    }
}
