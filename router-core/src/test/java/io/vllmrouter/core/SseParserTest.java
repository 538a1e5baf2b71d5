package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link SseParser}: events as the HTML standard reads them, whatever the line ends and wherever the
 * chunks split, classified by their data; a capturing parser holds at most one bounded event.
 */
class SseParserTest {

    /** One event as a listener heard it: its kind, and (capturing) its data and bytes. */
    record Event(SseParser.Kind kind, String data, String raw) {
    }

    private static List<Event> parse(boolean capture, List<byte[]> chunks) throws SseParser.EventTooLarge {
        SseParser p = new SseParser(capture);
        List<Event> out = new ArrayList<>();
        for (byte[] c : chunks) {
            p.scan(ByteBuffer.wrap(c), (kind, end) -> {
                out.add(capture ? new Event(kind, p.data(), new String(p.raw(), StandardCharsets.UTF_8))
                        : new Event(kind, null, null));
                return true;
            });
        }
        return out;
    }

    private static List<Event> parse(boolean capture, String text) throws SseParser.EventTooLarge {
        return parse(capture, List.of(text.getBytes(StandardCharsets.UTF_8)));
    }

    private static List<SseParser.Kind> kinds(List<Event> events) {
        return events.stream().map(Event::kind).toList();
    }

    static List<String> fixtures() {
        return SseFixtures.ALL;
    }

    @ParameterizedTest
    @MethodSource("fixtures")
    void everyChunkingAndLineEndGivesTheSameEvents(String name) throws Exception {
        String lf = SseFixtures.text(name);
        List<Event> whole = parse(true, lf);
        assertThat(whole).hasSize(SseFixtures.events(lf).size());
        List<String> data = whole.stream().map(Event::data).toList();
        for (String lineEnd : List.of("\n", "\r\n", "\r")) {
            byte[] bytes = SseFixtures.withLineEnds(lf, lineEnd).getBytes(StandardCharsets.UTF_8);
            // one byte at a time
            List<byte[]> single = Chunks.split(bytes, 1);
            assertThat(parse(true, single).stream().map(Event::data).toList()).as("%s byte by byte", lineEnd).isEqualTo(data);
            assertThat(kinds(parse(false, single))).isEqualTo(kinds(whole));
            // split in two at every byte boundary
            for (int cut = 0; cut <= bytes.length; cut++) {
                List<byte[]> two = List.of(Arrays.copyOfRange(bytes, 0, cut), Arrays.copyOfRange(bytes, cut, bytes.length));
                List<Event> got = parse(true, two);
                assertThat(got.stream().map(Event::data).toList()).as("%s cut at %d", name, cut).isEqualTo(data);
                // The events' bytes are the stream's, but for the LF of a CRLF that closed the last
                // event: a CR ends the blank line, and the LF that may follow belongs to no event.
                String joined = String.join("", got.stream().map(Event::raw).toList());
                String stream = new String(bytes, StandardCharsets.UTF_8);
                assertThat(stream).startsWith(joined);
                assertThat(stream.substring(joined.length())).isIn("", lineEnd.equals("\r\n") ? "\n" : "");
            }
        }
    }

    @Test
    void fixturesAreClassifiedAsVllmMeansThem() throws Exception {
        assertThat(kinds(parse(false, SseFixtures.text("chat.sse")))).containsExactly(
                SseParser.Kind.DATA, SseParser.Kind.DATA, SseParser.Kind.DATA, SseParser.Kind.DATA, SseParser.Kind.DATA,
                SseParser.Kind.DONE);
        assertThat(kinds(parse(false, SseFixtures.text("chat-error.sse")))).containsExactly(
                SseParser.Kind.DATA, SseParser.Kind.DATA, SseParser.Kind.DATA, SseParser.Kind.ERROR, SseParser.Kind.DONE);
        assertThat(kinds(parse(false, SseFixtures.text("chat-error-first.sse"))))
                .containsExactly(SseParser.Kind.ERROR, SseParser.Kind.DONE);
    }

    @Test
    void dataFollowsTheStandard() throws Exception {
        List<Event> events = parse(true, """
                : a comment\n\
                \n\
                data:no space\n\
                \n\
                data:  two spaces\n\
                \n\
                data\n\
                \n\
                dat: not data\n\
                datas: not data either\n\
                id: 7\n\
                \n\
                data: {"error":\n\
                data: {"message": "boom"}}\n\
                \n\
                data: [DONE]  \n\
                \n\
                """);
        assertThat(events).extracting(Event::kind).containsExactly(SseParser.Kind.NO_DATA, SseParser.Kind.DATA,
                SseParser.Kind.DATA, SseParser.Kind.DATA, SseParser.Kind.NO_DATA, SseParser.Kind.ERROR, SseParser.Kind.DONE);
        assertThat(events).extracting(Event::data).containsExactly("", "no space", " two spaces", "", "",
                "{\"error\":\n{\"message\": \"boom\"}}", "[DONE]  ");
    }

    @Test
    void onlyAnErrorObjectOpeningTheEventIsAnError() throws Exception {
        assertThat(kinds(parse(false, "data: { \"error\" : {\"code\": 500}}\n\n"))).containsExactly(SseParser.Kind.ERROR);
        assertThat(kinds(parse(false, "data: {\"error\": null}\n\n"))).containsExactly(SseParser.Kind.DATA);
        assertThat(kinds(parse(false, "data: {\"id\":\"x\",\"error\":{}}\n\n"))).containsExactly(SseParser.Kind.DATA);
        assertThat(kinds(parse(false, "data: \"[DONE]\"\n\n"))).containsExactly(SseParser.Kind.DATA);
        assertThat(kinds(parse(false, "data: [DONE] and more\n\n"))).containsExactly(SseParser.Kind.DATA);
    }

    @Test
    void aCrlfSplitBetweenChunksEndsOneLine() throws Exception {
        List<byte[]> chunks = List.of("data: a\r".getBytes(StandardCharsets.US_ASCII), "\n\r".getBytes(StandardCharsets.US_ASCII),
                "\ndata: b\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
        assertThat(parse(true, chunks)).extracting(Event::data).containsExactly("a", "b");
    }

    @Test
    void theListenerStopsTheScanJustAfterAnEvent() throws Exception {
        SseParser p = new SseParser(false);
        String text = "data: 1\n\ndata: {\"error\":{}}\n\ndata: [DONE]\n\n";
        int stop = p.scan(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)), (kind, end) -> kind != SseParser.Kind.ERROR);
        assertThat(text.substring(0, stop)).isEqualTo("data: 1\n\ndata: {\"error\":{}}\n\n");
    }

    @Test
    void aCapturingParserRefusesAnEventLongerThanItsLimitInsteadOfGrowing() {
        int limit = 64 * 1024;
        SseParser p = new SseParser(true, limit);
        byte[] piece = "x".repeat(16 * 1024).getBytes(StandardCharsets.US_ASCII);
        long[] fed = {0};
        assertThatThrownBy(() -> {
            p.scan(ByteBuffer.wrap("data: ".getBytes(StandardCharsets.US_ASCII)), (k, e) -> true);
            for (int i = 0; i < 30 * 64; i++) {              // 30 MB without a line end, if it never stopped
                fed[0] += piece.length;
                p.scan(ByteBuffer.wrap(piece), (k, e) -> true);
                assertThat(p.pendingBytes()).isLessThanOrEqualTo(limit);
            }
        }).isInstanceOf(SseParser.EventTooLarge.class).hasMessageContaining(String.valueOf(limit));
        assertThat(fed[0]).isLessThanOrEqualTo(limit + piece.length);
    }

    @Test
    void aWatchingParserHoldsNothingOfALongEvent() throws Exception {
        SseParser p = new SseParser(false);
        byte[] piece = "y".repeat(1024 * 1024).getBytes(StandardCharsets.US_ASCII);
        List<SseParser.Kind> seen = new ArrayList<>();
        p.scan(ByteBuffer.wrap("data: ".getBytes(StandardCharsets.US_ASCII)), (k, e) -> seen.add(k));
        for (int i = 0; i < 30; i++) {
            p.scan(ByteBuffer.wrap(piece), (k, e) -> seen.add(k));
            assertThat(p.pendingBytes()).isZero();
        }
        p.scan(ByteBuffer.wrap("\n\n".getBytes(StandardCharsets.US_ASCII)), (k, e) -> seen.add(k));
        assertThat(seen).containsExactly(SseParser.Kind.DATA);
    }

    @Test
    void lineEndFindsTheFirstCrOrLfAtEveryOffsetInHeapAndDirectBuffers() {
        java.util.Random random = new java.util.Random(42);
        for (int round = 0; round < 2000; round++) {
            byte[] bytes = new byte[random.nextInt(40)];
            for (int i = 0; i < bytes.length; i++) {
                // mostly text, some bytes close to CR and LF, an occasional line end
                int r = random.nextInt(20);
                bytes[i] = (byte) (r == 0 ? '\n' : r == 1 ? '\r' : r == 2 ? 0x0b : r == 3 ? 0x8d : r == 4 ? 0x0a + 0x100 - 1 : 'a' + r);
            }
            int from = bytes.length == 0 ? 0 : random.nextInt(bytes.length + 1);
            int limit = from + random.nextInt(bytes.length - from + 1);
            int expected = limit;
            for (int i = from; i < limit; i++) {
                if (bytes[i] == '\n' || bytes[i] == '\r') {
                    expected = i;
                    break;
                }
            }
            ByteBuffer heap = ByteBuffer.wrap(bytes);
            ByteBuffer direct = ByteBuffer.allocateDirect(bytes.length + 3).position(3).slice().put(bytes).flip();
            ByteBuffer offset = ByteBuffer.wrap(new byte[bytes.length + 5]).position(5).slice().put(bytes).flip();
            for (ByteBuffer b : List.of(heap, direct, offset, heap.asReadOnlyBuffer())) {
                assertThat(SseParser.lineEnd(b, from, limit)).as("%s from %d to %d in %s", Arrays.toString(bytes), from, limit, b)
                        .isEqualTo(expected);
            }
        }
    }

    @Test
    void directBuffersGiveTheSameEventsAsHeapOnes() throws Exception {
        for (String name : SseFixtures.ALL) {
            byte[] bytes = SseFixtures.text(name).getBytes(StandardCharsets.UTF_8);
            for (int size : new int[] {1, 7, 64, bytes.length}) {
                SseParser heap = new SseParser(false);
                SseParser direct = new SseParser(false);
                List<SseParser.Kind> fromHeap = new ArrayList<>();
                List<SseParser.Kind> fromDirect = new ArrayList<>();
                for (byte[] c : Chunks.split(bytes, size)) {
                    heap.scan(ByteBuffer.wrap(c), (kind, end) -> fromHeap.add(kind));
                    direct.scan(ByteBuffer.allocateDirect(c.length).put(c).flip(), (kind, end) -> fromDirect.add(kind));
                }
                assertThat(fromDirect).as("%s in %d-byte pieces", name, size).isEqualTo(fromHeap).isNotEmpty();
            }
        }
    }

    @Test
    void anEventIsKnownForDataOnlyOnceItCannotBeAnythingElse() throws Exception {
        // whitespace that pushes the telling bytes past the first dozen
        assertThat(kinds(parse(false, "data:    {   \"error\"  :  {\"code\": 500}}\n\n")))
                .containsExactly(SseParser.Kind.ERROR);
        assertThat(kinds(parse(false, "data:            [DONE]\n\n"))).containsExactly(SseParser.Kind.DONE);
        assertThat(kinds(parse(false, "data: {\"errors\": {\"code\": 500}}\n\n"))).containsExactly(SseParser.Kind.DATA);
        assertThat(kinds(parse(false, "data: {\"error\" , {\"code\": 500}}\n\n"))).containsExactly(SseParser.Kind.DATA);
        assertThat(kinds(parse(false, "data: [DONE]                 x\n\n"))).containsExactly(SseParser.Kind.DATA);
        assertThat(kinds(parse(false, "data: {\"id\":\"cmpl-1\",\"object\":\"text_completion\"}\ndata: [DONE]\n\n")))
                .containsExactly(SseParser.Kind.DATA);
    }
}
