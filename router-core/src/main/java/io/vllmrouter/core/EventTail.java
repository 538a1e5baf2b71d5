package io.vllmrouter.core;

import java.nio.ByteBuffer;

/**
 * Where a stream's last server-sent events end, found from the end of the bytes at hand: the one
 * reading of "an event ends at an empty line" for everything that cuts a stream at its events.
 * Core's watching relay ({@link SseRelay}) reads only a chunk's last events: vLLM's serving layer
 * ends a stream that failed mid-answer with its in-band error event and {@code [DONE]}, and nothing
 * after them, so a chunk's error event or {@code [DONE]} is among its last two complete events or the
 * event still under way at its end. A front door that holds back a half event, so that only whole
 * events reach its client, asks where the last one ends.
 *
 * <pre>{@code
 * int from = EventTail.lastEventsStart(buf, at, buf.limit(), 2);    // then scan from there
 * int end = EventTail.lastEventEnd(i -> byteBuf.getByte(base + i), floor, length, 0);
 * }</pre>
 *
 * <p>An event ends at an empty line: a run of line-end bytes (LF, CR, CRLF) holding two line ends
 * or more. A CR that is the last byte at hand is undecided (it may be the first half of a CRLF whose
 * LF has not arrived) and counts for nothing yet. Stateless.
 */
public final class EventTail {

    private EventTail() {
    }

    /**
     * Random access to the bytes being read (a NIO buffer's, a Netty buffer's), by index. Most
     * bytes of a stream are not line ends: a buffer that can look for them faster than byte by byte
     * through {@link #at} (one call each) says so in {@link #lastLineEnd}.
     */
    @FunctionalInterface
    public interface Bytes {
        byte at(int index);

        /** The index of the last LF or CR in {@code [from, to)}, or -1 when there is none. */
        default int lastLineEnd(int from, int to) {
            for (int i = to - 1; i >= from; i--) {
                if (lineEnd(at(i))) {
                    return i;
                }
            }
            return -1;
        }
    }

    /**
     * The end (exclusive) of the empty line that ends the last event but {@code skip} of
     * {@code bytes} in {@code [floor, limit)}, or -1 when fewer than {@code skip + 1} events are
     * known to end there. Reads no byte before {@code floor}: of a run of line ends that reaches
     * {@code floor}, only the line ends from {@code floor} on count (an LF there counts as one whether
     * or not a CR came before it), so an end is never seen where there is none.
     */
    public static int lastEventEnd(Bytes bytes, int floor, int limit, int skip) {
        int ends = 0;
        int j = limit - 1;
        if (j >= floor && bytes.at(j) == '\r') {
            j--;                     // undecided: a CRLF's first half, perhaps
        }
        int top = j + 1;             // bytes past top are not read as line ends
        while (j >= floor) {
            int found = bytes.lastLineEnd(floor, j + 1);
            if (found < floor || found > j) {
                break;       // none (or an answer out of range: read as none, never as a loop)
            }
            j = found;
            int runEnd = j + 1;      // a run of line-end bytes [j + 1 - length, runEnd)
            if (!lineEnd(bytes.at(j))) {
                j--;         // a search that answered wrong: on from the byte before, never a loop
                continue;
            }
            int lineEnds = 0;
            while (j >= floor && lineEnd(bytes.at(j))) {
                if (bytes.at(j) == '\n' || j + 1 >= top || bytes.at(j + 1) != '\n') {
                    lineEnds++;      // an LF, or a CR that is not the first half of a CRLF
                }
                j--;
            }
            if (lineEnds >= 2 && ++ends > skip) {
                return runEnd;
            }
        }
        return -1;
    }

    /**
     * The index in {@code buf} where the last {@code events} events that end in {@code [from, limit)}
     * start (just after the empty line before them), followed by whatever is under way after them; or
     * {@code from} when that range holds no more than {@code events} event ends. {@code from} must be
     * where an event starts.
     */
    static int lastEventsStart(ByteBuffer buf, int from, int limit, int events) {
        int end = lastEventEnd(buf::get, from, limit, events); // the interface's own search: one loop
        return end < 0 ? from : end;
    }

    private static boolean lineEnd(byte b) {
        return b == '\n' || b == '\r';
    }
}
