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
    static class Reader implements Flow.Subscriber<io.vllmrouter.api.BodyChunk> {
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

    /** Releases what it is given, once, as the last owner does. */
    static final class Releasing extends Reader {
        final List<io.vllmrouter.api.BodyChunk> items = new ArrayList<>();

        @Override
        public void onNext(io.vllmrouter.api.BodyChunk item) {
            items.add(item);
            super.onNext(item);
            item.release();
        }
    }

    private static void eachReleasedOnce(Chunks body) {
        assertThat(body.handed).isNotEmpty();
        assertThat(body.handed).allSatisfy(c -> assertThat(c.releases.get()).as("releases").isEqualTo(1));
    }

    @Test
    void heldChunksGoOnAsTheyAreAndEveryChunkIsReleasedOnceByItsLastOwner() {
        Chunks body = Chunks.of(": comment\n\ndata: 1\n\n", "data: 2\n\n", "data: [DONE]\n\n");
        SseRelay relay = relay(body, true, new AtomicReference<>());
        relay.start();
        assertThat(body.handed).hasSize(1);
        assertThat(body.handed.get(0).releases.get()).as("held, not released").isZero();
        Releasing reader = new Releasing();
        relay.subscribe(reader);
        assertThat(reader.items).as("no copies").containsExactlyElementsOf(body.handed);
        eachReleasedOnce(body);
        assertThat(reader.signals).endsWith("complete");
    }

    @Test
    void severalHeldChunksGoOnTogetherAndAreReleasedWithTheirCarrier() {
        Chunks body = Chunks.of(": one\n\n", ": two\n\n", "data: 1\n\n", "data: [DONE]\n\n");
        SseRelay relay = relay(body, true, new AtomicReference<>());
        relay.start();
        Releasing reader = new Releasing();
        relay.subscribe(reader);
        assertThat(reader.text.toString()).isEqualTo(": one\n\n: two\n\ndata: 1\n\ndata: [DONE]\n\n");
        assertThat(reader.items).hasSize(2);
        eachReleasedOnce(body);
    }

    @Test
    void aStartThatFailsReleasesWhatItHeld() {
        Chunks abandoned = Chunks.hanging(": waiting\n\n", ": still\n\n");
        SseRelay a = relay(abandoned, true, new AtomicReference<>());
        a.start();
        a.abandon(new TransportException(TransportException.Kind.TIMEOUT, "no first token", null));
        eachReleasedOnce(abandoned);

        Chunks errorFirst = Chunks.of(": hello\n\n", "data: {\"error\": {\"code\": 500}}\n\n");
        AtomicReference<Object> told = new AtomicReference<>();
        relay(errorFirst, true, told).start();
        assertThat(told.get()).isInstanceOf(InBandError.class);
        eachReleasedOnce(errorFirst);

        Chunks ended = Chunks.of(": only comments\n\n");
        AtomicReference<Object> endTold = new AtomicReference<>();
        relay(ended, true, endTold).start();
        assertThat(endTold.get()).isInstanceOf(java.io.IOException.class);
        eachReleasedOnce(ended);
    }

    @Test
    void aCallerThatLeavesBeforeReadingReleasesTheHeldChunks() {
        Chunks body = Chunks.hanging("data: 1\n\n");
        SseRelay relay = relay(body, true, new AtomicReference<>());
        relay.start();
        relay.subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                s.cancel();
            }

            @Override
            public void onNext(io.vllmrouter.api.BodyChunk item) {
                throw new AssertionError("nothing was asked for");
            }

            @Override
            public void onError(Throwable t) {
            }

            @Override
            public void onComplete() {
            }
        });
        eachReleasedOnce(body);
        assertThat(body.cancelled).isTrue();
    }

    @Test
    void anErrorEventCutsItsChunkIntoACopyAndReleasesTheOriginal() {
        String error = "data: {\"error\": {\"code\": 500}}\n\n";
        Chunks held = Chunks.of("data: 1\n\n" + error + "data: [DONE]\n\n");
        SseRelay inHeld = relay(held, true, new AtomicReference<>());
        inHeld.start();
        Releasing first = new Releasing();
        inHeld.subscribe(first);
        assertThat(first.text.toString()).isEqualTo("data: 1\n\n" + error);
        assertThat(first.items).doesNotContainAnyElementsOf(held.handed);
        eachReleasedOnce(held);

        Chunks later = Chunks.of("data: 1\n\n", "data: 2\n\n" + error + "data: [DONE]\n\n");
        SseRelay passing = relay(later, true, new AtomicReference<>());
        passing.start();
        Releasing second = new Releasing();
        passing.subscribe(second);
        assertThat(second.text.toString()).isEqualTo("data: 1\n\ndata: 2\n\n" + error);
        assertThat(second.signals).containsExactly("next", "next", "error");
        eachReleasedOnce(later);
    }

    /** {@code n} answer events, each carrying its number. */
    private static String events(int from, int n, String lineEnd) {
        StringBuilder b = new StringBuilder();
        for (int i = from; i < from + n; i++) {
            b.append("data: {\"id\":\"c\",\"choices\":[{\"delta\":{\"content\":\"").append(i).append("\"}}]}")
                    .append(lineEnd).append(lineEnd);
        }
        return b.toString();
    }

    @Test
    void anErrorEventAndDoneAfterManyEventsInOneChunkAreFoundAtTheChunksEnd() {
        String error = "data: {\"error\": {\"message\": \"boom\", \"code\": 500}}\n\n";
        for (boolean inHeld : new boolean[] {true, false}) {
            String before = events(0, 40, "\n");
            Chunks body = inHeld ? Chunks.of(before + error + "data: [DONE]\n\n")
                    : Chunks.of(events(100, 1, "\n"), before + error + "data: [DONE]\n\n");
            SseRelay relay = relay(body, true, new AtomicReference<>());
            relay.start();
            Releasing reader = new Releasing();
            relay.subscribe(reader);
            assertThat(reader.text.toString()).as(inHeld ? "in the held chunk" : "in a later chunk")
                    .isEqualTo((inHeld ? "" : events(100, 1, "\n")) + before + error);
            assertThat(reader.signals).endsWith("error");
            assertThat(reader.error).isInstanceOf(InBandError.class);
            eachReleasedOnce(body);
        }
    }

    @Test
    void anErrorEventSplitBetweenChunksOrFollowedByDoneInTheNextIsFound() {
        String error = "data: {\"error\": {\"message\": \"boom\", \"code\": 500}}\r\n\r\n";
        String before = events(0, 30, "\r\n");
        int half = error.length() / 2;
        Chunks split = Chunks.of(events(100, 1, "\r\n"), before + error.substring(0, half), error.substring(half)
                + events(200, 5, "\r\n") + "data: [DONE]\r\n\r\n");
        SseRelay relay = relay(split, true, new AtomicReference<>());
        relay.start();
        Releasing reader = new Releasing();
        relay.subscribe(reader);
        assertThat(reader.text.toString()).isEqualTo(events(100, 1, "\r\n") + before + error);
        assertThat(reader.error).isInstanceOf(InBandError.class);
        eachReleasedOnce(split);

        Chunks apart = Chunks.of(events(100, 1, "\n"), events(0, 30, "\n") + error, "data: [DONE]\n\n");
        SseRelay second = relay(apart, true, new AtomicReference<>());
        second.start();
        Releasing other = new Releasing();
        second.subscribe(other);
        assertThat(other.text.toString()).isEqualTo(events(100, 1, "\n") + events(0, 30, "\n") + error);
        assertThat(other.error).isInstanceOf(InBandError.class);
        eachReleasedOnce(apart);
    }

    @Test
    void manyEventsEndingInDoneAreACompleteAnswerEvenIfTheConnectionIsThenLost() {
        TransportException reset = new TransportException(TransportException.Kind.RESET, "reset", null);
        String all = events(0, 50, "\n") + "data: [DONE]\n\n";
        Reader reader = new Reader();
        SseRelay relay = relay(new Chunks(reset, events(100, 1, "\n"), all), true, new AtomicReference<>());
        relay.endsWithDone().start();
        relay.subscribe(reader);
        assertThat(reader.text.toString()).isEqualTo(events(100, 1, "\n") + all);
        assertThat(reader.signals).endsWith("complete");

        Reader cut = new Reader();
        SseRelay ended = relay(Chunks.of(events(100, 1, "\n"), events(0, 50, "\n")), true, new AtomicReference<>());
        ended.endsWithDone().start();
        ended.subscribe(cut);
        assertThat(cut.signals).as("no [DONE]: cut short").endsWith("error");
    }
}
