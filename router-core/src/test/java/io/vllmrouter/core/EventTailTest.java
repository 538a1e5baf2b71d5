package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** {@link EventTail}: the start of a buffer's last events, found from its end, with every kind of line end. */
@Timeout(30)
class EventTailTest {

    private static ByteBuffer buf(String s) {
        return ByteBuffer.wrap(s.getBytes(StandardCharsets.US_ASCII));
    }

    private static String tail(String s, int from, int events) {
        ByteBuffer b = buf(s);
        return s.substring(EventTail.lastEventsStart(b, from, b.limit(), events));
    }

    @Test
    void theLastEventsAndWhatIsUnderWayAfterThem() {
        String s = "data: 1\n\ndata: 2\n\ndata: 3\n\ndata: 4\n\ndata: par";
        assertThat(tail(s, 0, 2)).isEqualTo("data: 3\n\ndata: 4\n\ndata: par");
        assertThat(tail(s, 0, 1)).isEqualTo("data: 4\n\ndata: par");
        assertThat(tail(s, 0, 4)).as("no more event ends than asked for: all of it").isEqualTo(s);
        assertThat(tail("data: 1\n\ndata: 2\n\ndata: 3\n\n", 0, 2)).isEqualTo("data: 2\n\ndata: 3\n\n");
    }

    @Test
    void crlfAndCrLineEndsAndMultiLineEvents() {
        assertThat(tail("data: 1\r\n\r\ndata: 2\r\n\r\ndata: 3\r\n\r\n", 0, 1)).isEqualTo("data: 3\r\n\r\n");
        assertThat(tail("data: 1\r\rdata: 2\r\rdata: 3\r\rda", 0, 1)).isEqualTo("data: 3\r\rda");
        assertThat(tail("data: 1\n\ndata: a\r\ndata: b\r\n: c\n\ndata: 3\n\n", 0, 2))
                .as("a CRLF alone is one line end, not an event's end")
                .isEqualTo("data: a\r\ndata: b\r\n: c\n\ndata: 3\n\n");
        assertThat(tail("data: 1\n\n\n\ndata: 2\n\ndata: 3\n\n", 0, 2)).isEqualTo("data: 2\n\ndata: 3\n\n");
    }

    @Test
    void aRunOfLineEndsAtTheStartCountsOnlyWhatIsInRange() {
        String s = "\ndata: 1\n\ndata: 2\n\n";
        assertThat(tail(s, 1, 1)).isEqualTo("data: 2\n\n");
        assertThat(tail(s, 1, 2)).isEqualTo("data: 1\n\ndata: 2\n\n");
        assertThat(tail("\n\ndata: 2\n\n", 0, 1)).as("two line ends at the start end an event").isEqualTo("data: 2\n\n");
        assertThat(tail("\r\ndata: 2\n\n", 1, 1)).as("the LF of a CRLF begun before the range is one line end")
                .isEqualTo("\ndata: 2\n\n");
        ByteBuffer b = buf("xxdata: 1\n\ndata: 2\n\ndata: 3\n\n");
        assertThat(EventTail.lastEventsStart(b, 2, b.limit(), 1)).isEqualTo(b.limit() - "data: 3\n\n".length());
    }

    @Test
    void aCrThatIsTheLastByteAtHandIsUndecided() {
        assertThat(tail("data: 1\r\rdata: 2\r\rdata: 3\r\r", 0, 1))
                .as("the last CR may be a CRLF's first half: data: 3 is not known to have ended")
                .isEqualTo("data: 2\r\rdata: 3\r\r");
        assertThat(end("data: 1\n\r", 0)).as("LF then an undecided CR: one line end so far").isEqualTo(-1);
        assertThat(end("data: 1\n\r\n", 0)).as("the CR was a CRLF's first half").isEqualTo(10);
        assertThat(end("data: 1\n\n\r", 0)).as("an event ended before the undecided CR").isEqualTo(9);
        assertThat(end("data: 1\r\n\r", 0)).isEqualTo(-1);
        assertThat(end("data: 1\r\n\r\n", 0)).isEqualTo(11);
    }

    @Test
    void theLastEventEndFromAFloorOn() {
        String s = "data: 1\n\ndata: 2\n\ndata: par";
        assertThat(end(s, 0)).isEqualTo("data: 1\n\ndata: 2\n\n".length());
        assertThat(EventTail.lastEventEnd(buf(s)::get, 0, s.length(), 1)).isEqualTo("data: 1\n\n".length());
        assertThat(EventTail.lastEventEnd(buf(s)::get, 0, s.length(), 2)).as("only two events end").isEqualTo(-1);
        assertThat(end("data: 1\n\ndata: par", 10)).as("nothing ends after the floor").isEqualTo(-1);
        assertThat(end("\n\ndata: par", 0)).as("two line ends at the floor").isEqualTo(2);
        assertThat(end("data: 1\n\n", 8)).as("one line end from the floor on").isEqualTo(-1);
        assertThat(end("data: 1\r\n\r\n", 8)).as("LF, CRLF from the floor on").isEqualTo(11);
    }

    private static int end(String s, int floor) {
        return EventTail.lastEventEnd(buf(s)::get, floor, s.length(), 0);
    }

    /**
     * A buffer's own search for line ends (a NIO buffer's here, a Netty buffer's in the proxy) and the
     * byte-by-byte one find the same ends as the rule read one byte at a time, on random streams of
     * text, LF, CR and colons, from random floors.
     */
    @Test
    void everyWayOfFindingLineEndsAgreesWithTheRuleReadByteByByte() {
        Random random = new Random(7);
        byte[] alphabet = {'a', ':', '\n', '\r', '\n', '\r', ' '};
        for (int n = 0; n < 20_000; n++) {
            byte[] b = new byte[random.nextInt(40)];
            for (int i = 0; i < b.length; i++) {
                b[i] = alphabet[random.nextInt(alphabet.length)];
            }
            int floor = b.length == 0 ? 0 : random.nextInt(b.length + 1);
            int skip = random.nextInt(3);
            ByteBuffer buf = ByteBuffer.wrap(b);
            int expected = byteByByte(b, floor, b.length, skip);
            assertThat(EventTail.lastEventEnd(i -> b[i], floor, b.length, skip)).isEqualTo(expected);
            assertThat(EventTail.lastEventsStart(buf, floor, b.length, skip)).isEqualTo(expected < 0 ? floor : expected);
            // a search that answers any byte as a line end still ends, with the rule's answer
            EventTail.Bytes lying = new EventTail.Bytes() {
                @Override
                public byte at(int index) {
                    return b[index];
                }

                @Override
                public int lastLineEnd(int from, int to) {
                    return to > from ? to - 1 : -1;
                }
            };
            assertThat(EventTail.lastEventEnd(lying, floor, b.length, skip)).isEqualTo(expected);
        }
    }

    /** The rule as first written: every byte looked at, from the end. */
    private static int byteByByte(byte[] b, int floor, int limit, int skip) {
        int ends = 0;
        int j = limit - 1;
        if (j >= floor && b[j] == '\r') {
            j--;
        }
        int top = j + 1;
        while (j >= floor) {
            if (b[j] != '\n' && b[j] != '\r') {
                j--;
                continue;
            }
            int runEnd = j + 1;
            int lineEnds = 0;
            while (j >= floor && (b[j] == '\n' || b[j] == '\r')) {
                if (b[j] == '\n' || j + 1 >= top || b[j + 1] != '\n') {
                    lineEnds++;
                }
                j--;
            }
            if (lineEnds >= 2 && ++ends > skip) {
                return runEnd;
            }
        }
        return -1;
    }
}
