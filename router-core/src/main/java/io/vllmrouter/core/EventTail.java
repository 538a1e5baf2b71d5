package io.vllmrouter.core;

import java.nio.ByteBuffer;

/**
 * Where a buffer's last few server-sent events start, found from its end: what a watching relay
 * reads of a chunk ({@link SseRelay}). vLLM's serving layer ends a stream that failed mid-answer
 * with its in-band error event and {@code [DONE]}, and nothing after them, so a chunk's error event
 * or {@code [DONE]} is among its last two complete events or the event still under way at its end;
 * the events before those are answer text that nothing downstream of the relay needs read.
 *
 * <pre>{@code
 * int from = EventTail.lastEventsStart(buf, at, buf.limit(), 2);   // then scan from there
 * }</pre>
 *
 * <p>An event ends at an empty line: a run of line-end bytes (LF, CR, CRLF) holding two line ends
 * or more, after a line with content. Stateless.
 */
final class EventTail {

    private EventTail() {
    }

    /**
     * The index in {@code buf} where the last {@code events} events that end in {@code [from, limit)}
     * start (just after the empty line before them), followed by whatever is under way after them; or
     * {@code from} when that range holds no more than {@code events} event ends. {@code from} must be
     * where an event starts.
     */
    static int lastEventsStart(ByteBuffer buf, int from, int limit, int events) {
        int ends = 0;
        int j = limit - 1;
        while (j >= from) {
            if (!lineEnd(buf.get(j))) {
                j--;
                continue;
            }
            int runEnd = j + 1;      // a run of line-end bytes [j + 1 - length, runEnd)
            int lineEnds = 0;
            while (j >= from && lineEnd(buf.get(j))) {
                byte c = buf.get(j);
                if (c == '\n' || j + 1 >= runEnd || buf.get(j + 1) != '\n') {
                    lineEnds++;      // an LF, or a CR that is not the first half of a CRLF
                }
                j--;
            }
            if (j < from) {
                return from;         // the run may go on before from: not known to end an event
            }
            if (lineEnds >= 2 && ++ends > events) {
                return runEnd;
            }
        }
        return from;
    }

    private static boolean lineEnd(byte b) {
        return b == '\n' || b == '\r';
    }
}
