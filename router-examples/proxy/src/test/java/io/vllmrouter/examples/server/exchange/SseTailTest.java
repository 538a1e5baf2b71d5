package io.vllmrouter.examples.server.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;

import static org.assertj.core.api.Assertions.assertThat;

class SseTailTest {

    private static final SseTail.CompositeByteBufFactory ALLOC = () -> ByteBufAllocator.DEFAULT.compositeBuffer();

    private static ByteBuf buf(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.UTF_8);
    }

    /** Feeds {@code chunks}; returns what went out, and checks every buffer is released once. */
    private static String feed(SseTail tail, String... chunks) {
        StringBuilder out = new StringBuilder();
        for (String c : chunks) {
            ByteBuf in = buf(c);
            ByteBuf whole = tail.whole(in, ALLOC);
            if (whole != null) {
                out.append(whole.toString(StandardCharsets.UTF_8));
                whole.release();
            }
        }
        return out.toString();
    }

    @ParameterizedTest
    @ValueSource(strings = {"\n", "\r\n", "\r"})
    void onlyWholeEventsGoOutWhereverTheChunksAreCut(String eol) {
        String stream = "data: {\"a\":1}" + eol + eol + "event: x" + eol + "data: two" + eol + "data: lines" + eol + eol
                + "data: [DONE]" + eol + eol;
        for (int cut = 0; cut <= stream.length(); cut++) {
            for (int cut2 = cut; cut2 <= stream.length(); cut2 += 3) {
                SseTail tail = new SseTail();
                String out = feed(tail, stream.substring(0, cut), stream.substring(cut, cut2), stream.substring(cut2));
                ByteBuf rest = tail.rest();
                String held = rest == null ? "" : rest.toString(StandardCharsets.UTF_8);
                if (rest != null) {
                    rest.release();
                }
                assertThat(out + held).as("cut at %d and %d", cut, cut2).isEqualTo(stream);
                if (!eol.equals("\r")) { // a lone CR at the very end may yet be the start of a CRLF
                    assertThat(held).as("cut at %d and %d", cut, cut2).isEmpty();
                }
                assertThat(out.isEmpty() || out.endsWith(eol + eol)).as("cut at %d and %d", cut, cut2).isTrue();
            }
        }
    }

    @Test
    void aHalfEventIsHeldUntilItsBlankLineAndDroppedOnACut() {
        SseTail tail = new SseTail();
        ByteBuf in = buf("data: a\n\ndata: par");
        ByteBuf out = tail.whole(in, ALLOC);
        assertThat(out.toString(StandardCharsets.UTF_8)).isEqualTo("data: a\n\n");
        out.release();
        tail.discard();
        assertThat(in.refCnt()).as("the half event's memory was given back").isZero();
    }

    @Test
    void readsThatNeverEndOnAnEventBoundaryAreGivenBackOnceWrittenHoweverLongTheStream() {
        // A slow client's stream: every read takes what the socket holds and ends inside an event.
        String event = "data: {\"choices\":[{\"delta\":{\"content\":\"token\"}}]}\n\n";
        String stream = event.repeat(400);
        int readSize = 2 * event.length() + 1; // a read ends on an event boundary once in event.length() reads
        SseTail tail = new SseTail();
        java.util.List<ByteBuf> reads = new java.util.ArrayList<>();
        StringBuilder out = new StringBuilder();
        for (int at = 0; at < stream.length(); at += readSize) {
            ByteBuf in = buf(stream.substring(at, Math.min(stream.length(), at + readSize)));
            reads.add(in);
            ByteBuf whole = tail.whole(in, ALLOC);
            if (whole != null) {
                out.append(whole.toString(StandardCharsets.UTF_8));
                whole.release(); // written
            }
            // What is held is the last read's half event; the read before may hold part of it too.
            for (int i = 0; i < reads.size() - 2; i++) {
                assertThat(reads.get(i).refCnt()).as("read %d after read %d", i, reads.size() - 1).isZero();
            }
        }
        ByteBuf rest = tail.rest();
        if (rest != null) {
            out.append(rest.toString(StandardCharsets.UTF_8));
            rest.release();
        }
        assertThat(out.toString()).isEqualTo(stream);
        assertThat(reads).allSatisfy(b -> assertThat(b.refCnt()).isZero());
    }

    @Test
    void anEventLargerThanTheLimitPassesAsItComes() {
        SseTail tail = new SseTail();
        String big = "data: " + "x".repeat(SseTail.MAX_HELD);
        assertThat(feed(tail, "data: a\n\n" + big.substring(0, 100))).isEqualTo("data: a\n\n");
        assertThat(feed(tail, big.substring(100))).isEqualTo(big); // too large to hold: passed on
        assertThat(feed(tail, "yy")).isEqualTo("yy");
        assertThat(feed(tail, "\n\ndata: b")).isEqualTo("\n\n");
        ByteBuf rest = tail.rest();
        assertThat(rest.toString(StandardCharsets.UTF_8)).isEqualTo("data: b");
        rest.release();
    }

    /**
     * Netty's search for line ends finds the ends that reading every byte finds: random streams of
     * text, LF and CR, cut into a composite of two buffers at a random reader index, from random floors.
     */
    @Test
    void nettysSearchFindsTheEndsByteByByteReadingFinds() {
        java.util.Random random = new java.util.Random(11);
        byte[] alphabet = {'d', ':', '\n', '\r', '\n', '\r'};
        for (int n = 0; n < 5_000; n++) {
            byte[] b = new byte[1 + random.nextInt(30)];
            for (int i = 0; i < b.length; i++) {
                b[i] = alphabet[random.nextInt(alphabet.length)];
            }
            int cut = random.nextInt(b.length + 1);
            io.netty.buffer.CompositeByteBuf all = ALLOC.composite();
            all.addComponent(true, Unpooled.wrappedBuffer(b, 0, cut)).addComponent(true, Unpooled.wrappedBuffer(b, cut, b.length - cut));
            int skipped = random.nextInt(b.length);
            all.skipBytes(skipped);
            byte[] readable = java.util.Arrays.copyOfRange(b, skipped, b.length);
            int floor = random.nextInt(readable.length + 1);
            assertThat(SseTail.lastEventEnd(all, floor))
                    .isEqualTo(io.vllmrouter.core.EventTail.lastEventEnd(i -> readable[i], floor, readable.length, 0));
            all.release();
        }
    }
}
