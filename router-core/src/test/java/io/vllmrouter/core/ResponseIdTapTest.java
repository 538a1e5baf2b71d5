package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Flow;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The id of a new Responses API object, read from the first bytes of the answer that created it. */
class ResponseIdTapTest {

    private static final String CREATED = "event: response.created\n"
            + "data: {\"response\":{\"id\":\"resp_7f2c\",\"created_at\":1765000000,\"instructions\":null,"
            + "\"metadata\":{\"id\":\"not-this\"},\"model\":\"m\",\"object\":\"response\",\"output\":[],"
            + "\"status\":\"in_progress\"},\"sequence_number\":0,\"type\":\"response.created\"}\n\n"
            + "event: response.in_progress\ndata: {\"response\":{\"id\":\"resp_7f2c\"},\"sequence_number\":1,"
            + "\"type\":\"response.in_progress\"}\n\n";
    private static final String WHOLE = "{\"id\":\"resp_9a1b\",\"created_at\":1765000000,\"incomplete_details\":null,"
            + "\"model\":\"m\",\"object\":\"response\",\"output\":[{\"id\":\"msg_1\",\"type\":\"message\"}],\"status\":\"completed\"}";

    /** Feeds {@code text} in chunks of {@code size} through a tap; returns the learned ids and the bytes passed on. */
    private static Result tap(String text, boolean stream, int size) {
        List<String> learned = new ArrayList<>();
        List<String> chunks = new ArrayList<>();
        for (int i = 0; i < text.length(); i += size) {
            chunks.add(text.substring(i, Math.min(text.length(), i + size)));
        }
        ResponseIdTap tap = new ResponseIdTap(Chunks.of(chunks.toArray(String[]::new)), stream, learned::add);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        boolean[] completed = new boolean[1];
        tap.subscribe(new Flow.Subscriber<>() {
            @Override public void onSubscribe(Flow.Subscription s) { s.request(Long.MAX_VALUE); }
            @Override public void onNext(io.vllmrouter.api.BodyChunk item) {
                for (ByteBuffer b : item.buffers()) {
                    byte[] bytes = new byte[b.remaining()];
                    b.get(bytes);
                    out.writeBytes(bytes);
                }
            }
            @Override public void onError(Throwable t) { throw new AssertionError(t); }
            @Override public void onComplete() { completed[0] = true; }
        });
        assertThat(completed[0]).isTrue();
        return new Result(learned, out.toString(StandardCharsets.UTF_8));
    }

    private record Result(List<String> learned, String passedOn) {
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 17, 64, 100_000})
    void theIdOfAJsonAnswerInAnyChunking(int size) {
        Result r = tap(WHOLE, false, size);
        assertThat(r.learned()).containsExactly("resp_9a1b");
        assertThat(r.passedOn()).isEqualTo(WHOLE);
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 5, 29, 4096})
    void theIdOfAStreamsResponseCreatedEventInAnyChunking(int size) {
        Result r = tap(CREATED, true, size);
        assertThat(r.learned()).as("response.id, not a nested id").containsExactly("resp_7f2c");
        assertThat(r.passedOn()).isEqualTo(CREATED);
        assertThat(tap(CREATED.replace("\n", "\r\n"), true, size).learned()).containsExactly("resp_7f2c");
    }

    @Test
    void onlyTheFirstEventIsRead() {
        String noIdFirst = "event: response.created\ndata: {\"type\":\"response.created\"}\n\n" + CREATED;
        assertThat(tap(noIdFirst, true, 7).learned()).isEmpty();
        assertThat(tap(": keep-alive\n" + CREATED, true, 7).learned()).containsExactly("resp_7f2c");
    }

    @Test
    void aTopLevelIdOnlyAndNothingFromAnythingElse() {
        assertThat(tap("{\"output\":[{\"id\":\"msg_1\"}],\"status\":\"completed\"}", false, 5).learned()).isEmpty();
        assertThat(tap("[{\"id\":\"resp_x\"}]", false, 5).learned()).isEmpty();
        assertThat(tap("not json at all {\"id\":\"resp_x\"}", false, 5).learned()).isEmpty();
        assertThat(tap("data: {\"id\":\"resp_x\"}\n\n", true, 5).learned()).as("a stream's id is response.id").isEmpty();
        assertThat(tap("{\"id\":42}", false, 5).learned()).isEmpty();
    }

    @Test
    void readingStopsAfterTheBudget() {
        String late = "{\"padding\":\"" + "x".repeat(ResponseIdTap.BUDGET) + "\",\"id\":\"resp_late\"}";
        Result r = tap(late, false, 1000);
        assertThat(r.learned()).isEmpty();
        assertThat(r.passedOn()).isEqualTo(late);
    }

    @Test
    void eventStreamsAreKnownByTheirContentType() {
        assertThat(Headers.isEventStream(Map.of("Content-Type", List.of("text/event-stream; charset=utf-8")))).isTrue();
        assertThat(Headers.isEventStream(Map.of("content-type", List.of("application/json")))).isFalse();
        assertThat(Headers.isEventStream(Map.of())).isFalse();
    }
}
