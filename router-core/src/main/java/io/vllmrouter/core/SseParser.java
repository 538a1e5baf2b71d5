package io.vllmrouter.core;

import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Splits a byte stream into server-sent events as the HTML standard reads them: lines end with LF,
 * CR or CRLF (a CRLF split between two chunks included), an empty line ends an event, a {@code data}
 * field may span several lines (joined with LF), one space after the colon is dropped, and lines
 * starting with a colon are comments.
 *
 * <pre>{@code
 * SseParser p = new SseParser(false);
 * int stop = p.scan(chunk, (kind, end) -> kind != SseParser.Kind.ERROR);  // where to cut, if anywhere
 * }</pre>
 *
 * <p>One pass: each byte is looked at once, whatever the chunking, and nothing is rescanned. A line
 * that ends in the buffer at hand is read at once (its end found eight bytes at a time, its field
 * name checked in place, its value's first bytes copied); one split between buffers goes byte by byte. Each
 * event is classified by the start of its data: {@link Kind#DONE} for OpenAI's {@code [DONE]},
 * {@link Kind#ERROR} for a JSON object whose first member is an {@code "error"} object (the in-band
 * error vLLM's serving layer sends when generation fails mid-stream, {@code {"error": {"message": ...,
 * "type": ..., "param": ..., "code": ...}}}), {@link Kind#DATA} for any other data, {@link Kind#NO_DATA}
 * for an event of comments and other fields only. Without capture it keeps {@value #PREFIX} bytes of
 * data per event, however long the event; with capture ({@link ResumableStream}, which passes whole
 * events and reads their JSON) it keeps the event's bytes and data, at most {@link #maxEventBytes}
 * of them: a longer event fails the scan with {@link EventTooLarge} instead of growing the buffer.
 *
 * <p>Not thread-safe: one stream's signals, one at a time.
 */
final class SseParser {

    /** The longest event a capturing parser holds: 4 MiB, room for a first chunk with a long prompt's token ids. */
    static final int MAX_EVENT_BYTES = 4 * 1024 * 1024;

    /** Data bytes kept to classify an event. */
    static final int PREFIX = 32;
    /** Data bytes after which an event is known to be plain data when it cannot be anything else. */
    private static final int DECIDE_AT = 12;

    /** What an event carries. */
    enum Kind {
        /** No data field: comments, {@code id}, {@code retry}, {@code event} only, or a stray blank line. */
        NO_DATA,
        /** Data other than the two below: a chunk of the answer. */
        DATA,
        /** {@code [DONE]}: the answer is complete. */
        DONE,
        /** A JSON object opening with an {@code "error"} object: the backend failed mid-answer. */
        ERROR
    }

    /** Hears each event as its closing empty line is scanned. */
    interface Listener {
        /**
         * @param end index in the scanned buffer just after the event's last byte
         * @return whether to scan on; false stops the scan just after this event
         */
        boolean event(Kind kind, int end);
    }

    /** The event being captured grew past the parser's limit. */
    static final class EventTooLarge extends IOException {
        private static final long serialVersionUID = 1L;

        EventTooLarge(int limit) {
            super("the backend sent a server-sent event longer than " + limit + " bytes");
        }
    }

    private static final byte[] DATA_NAME = {'d', 'a', 't', 'a'};
    /** Reads eight bytes of a heap or direct buffer at an index, in little-endian order: the lowest byte first. */
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long LFS = 0x0a0a0a0a0a0a0a0aL;
    private static final long CRS = 0x0d0d0d0d0d0d0d0dL;
    private static final byte[] DONE_TEXT = "[DONE]".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] ERROR_NAME = "\"error\"".getBytes(StandardCharsets.US_ASCII);

    /** Where a line is: in its field name, at the first byte of a data value, in a data value, in any other value. */
    private static final int NAME = 0;
    private static final int DATA_START = 1;
    private static final int DATA = 2;
    private static final int OTHER = 3;

    private final boolean capture;
    private final int maxEventBytes;

    private int state = NAME;
    /** Bytes of the current line's field name so far; -1 once it cannot be {@code data}. */
    private int nameMatched;
    private boolean lineEmpty = true;
    /** The previous byte was a CR: an LF now belongs to that line end. */
    private boolean afterCr;
    /** No byte of an event has been scanned since the last event ended (or since the start). */
    private boolean betweenEvents = true;

    private boolean hasData;
    private long dataLength;
    private final byte[] prefix = new byte[PREFIX];
    private int prefixLength;
    /** The prefix cannot be {@code [DONE]} or an error object: the event is {@link Kind#DATA}. */
    private boolean decided;

    /** Capture only: the current event's bytes before the current buffer, and its data. */
    private byte[] raw;
    private int rawLength;
    private byte[] data;
    private int dataCaptured;
    private byte[] lastRaw;
    private String lastData;

    /** @param capture keep each event's bytes and data ({@link #raw()}, {@link #data()}), up to {@link #MAX_EVENT_BYTES} */
    SseParser(boolean capture) {
        this(capture, MAX_EVENT_BYTES);
    }

    SseParser(boolean capture, int maxEventBytes) {
        this.capture = capture;
        this.maxEventBytes = maxEventBytes;
        if (capture) {
            raw = new byte[256];
            data = new byte[256];
        }
    }

    /**
     * Scans {@code buf} from its position to its limit (neither is moved), telling {@code listener} of
     * each event that ends in it.
     *
     * @return the index the scan stopped at: the limit, or the end of the event the listener stopped at
     * @throws EventTooLarge capturing, when the current event outgrows the limit
     */
    int scan(ByteBuffer buf, Listener listener) throws EventTooLarge {
        return scan(buf, buf.position(), listener, false);
    }

    /**
     * Scans {@code buf} from {@code from} to its limit, as {@link #scan(ByteBuffer, Listener)} does,
     * stopping after the first event that ends when {@code oneEvent}. A scan may start past bytes
     * no scan saw only where an event starts, with the parser {@link #betweenEvents}.
     */
    int scan(ByteBuffer buf, int from, Listener listener, boolean oneEvent) throws EventTooLarge {
        int limit = buf.limit();
        int segment = from;   // capture: where the current event's bytes in buf start
        for (int i = from; i < limit; i++) {
            byte b = buf.get(i);
            if (afterCr) {
                afterCr = false;
                if (b == '\n') {
                    continue;
                }
            }
            if (b == '\n' || b == '\r') {
                if (b == '\r' && i + 1 < limit && buf.get(i + 1) == '\n') {
                    i++;            // a CRLF in this buffer: the event ends after its LF
                } else {
                    afterCr = b == '\r';
                }
                if (lineEnded()) {
                    Kind kind = classify();
                    if (capture) {
                        lastRaw = appendRaw(buf, segment, i + 1, true);
                        lastData = new String(data, 0, dataCaptured, StandardCharsets.UTF_8);
                        dataCaptured = 0;
                        segment = i + 1;
                    }
                    resetEvent();
                    if (!listener.event(kind, i + 1) || oneEvent) {
                        return i + 1;
                    }
                }
                continue;
            }
            if (lineEmpty && state == NAME) {
                int end = lineEnd(buf, i, limit);
                if (end < limit) {
                    wholeLine(buf, i, end);     // a line that ends in this buffer: read at once
                    i = end - 1;
                    if (capture && end - segment + rawLength > maxEventBytes) {
                        throw new EventTooLarge(maxEventBytes);
                    }
                    continue;
                }
            }
            lineEmpty = false;
            betweenEvents = false;
            switch (state) {
                case NAME -> {
                    if (b == ':') {
                        state = nameMatched == DATA_NAME.length ? dataLineStarts() : OTHER;
                    } else if (nameMatched >= 0 && nameMatched < DATA_NAME.length && b == DATA_NAME[nameMatched]) {
                        nameMatched++;
                    } else {
                        nameMatched = -1;
                    }
                }
                case DATA_START -> {
                    state = DATA;
                    if (b != ' ') {
                        data(b);
                    }
                }
                case DATA -> {
                    if (prefixLength < PREFIX && !decided) {
                        data(b);
                        if (prefixLength == DECIDE_AT && !maySayMore()) {
                            decided = true;
                        }
                    } else {
                        i = restOfValue(buf, i, limit, true) - 1;
                    }
                }
                default -> i = restOfValue(buf, i, limit, false) - 1;     // a comment's or another field's value
            }
            if (capture && i + 1 - segment + rawLength > maxEventBytes) {
                throw new EventTooLarge(maxEventBytes);
            }
        }
        if (capture && segment < limit) {
            appendRaw(buf, segment, limit, false);
        }
        return limit;
    }

    /** Whether the scan so far ended at an event's end (or nothing was scanned): a scan may start anywhere an event starts. */
    boolean betweenEvents() {
        return betweenEvents;
    }

    /** Capture: the bytes of the event last told to the listener, its blank line included. */
    byte[] raw() {
        return lastRaw;
    }

    /** Capture: the data of the event last told to the listener, lines joined with LF ("" without data). */
    String data() {
        return lastData;
    }

    /** Bytes of the event under way held by a capturing parser (never more than its limit). */
    int pendingBytes() {
        return rawLength;
    }

    /** The line just ended; whether it was the empty line that ends an event. */
    private boolean lineEnded() {
        if (lineEmpty) {
            return true;
        }
        if (state == NAME && nameMatched == DATA_NAME.length) {
            dataLineStarts();       // "data" without a colon: a data line with an empty value
        }
        state = NAME;
        nameMatched = 0;
        lineEmpty = true;
        return false;
    }

    private int dataLineStarts() {
        if (hasData) {
            data((byte) '\n');
        }
        hasData = true;
        return DATA_START;
    }

    /**
     * The rest of a value from {@code from} to its line end (or the buffer's end), which is all the
     * parser needs of a long value once it has its prefix: found in a tight loop, and for data
     * counted (and captured) in bulk. Returns the index of the line end, or {@code limit}.
     */
    private int restOfValue(ByteBuffer buf, int from, int limit, boolean isData) {
        int j = lineEnd(buf, from, limit);
        if (isData) {
            dataValue(buf, from, j);
        }
        return j;
    }

    /**
     * A line from {@code from} to its line end at {@code end}, all in the buffer: its field name
     * checked in place, a data value's prefix copied and the rest counted (and captured) at once.
     */
    private void wholeLine(ByteBuffer buf, int from, int end) {
        lineEmpty = false;
        betweenEvents = false;
        state = OTHER;
        int n = end - from;
        if (n < DATA_NAME.length || buf.get(from) != 'd' || buf.get(from + 1) != 'a' || buf.get(from + 2) != 't'
                || buf.get(from + 3) != 'a') {
            return;
        }
        if (n == DATA_NAME.length) {
            dataLineStarts();       // "data" without a colon: a data line with an empty value
            return;
        }
        if (buf.get(from + DATA_NAME.length) != ':') {
            return;
        }
        dataLineStarts();
        int value = from + DATA_NAME.length + 1;
        if (value < end && buf.get(value) == ' ') {
            value++;
        }
        if (!decided && prefixLength < PREFIX) {
            int k = Math.min(end - value, PREFIX - prefixLength);
            buf.get(value, prefix, prefixLength, k);
            prefixLength += k;
            if (prefixLength >= DECIDE_AT && !maySayMore()) {
                decided = true;
            }
            if (capture) {
                capture(buf, value, k);
            }
            dataLength += k;
            value += k;
        }
        dataValue(buf, value, end);
    }

    /** Data bytes past the prefix: counted, and captured when capturing. */
    private void dataValue(ByteBuffer buf, int from, int to) {
        int n = to - from;
        dataLength += n;
        if (capture) {
            capture(buf, from, n);
        }
    }

    private void capture(ByteBuffer buf, int from, int n) {
        int room = Math.min(maxEventBytes + 1 - dataCaptured, n);   // past the limit the scan fails anyway
        if (dataCaptured + room > data.length) {
            data = Arrays.copyOf(data, Math.min(Math.max(dataCaptured + room, data.length * 2), maxEventBytes + 1));
        }
        buf.get(from, data, dataCaptured, room);
        dataCaptured += room;
    }

    /**
     * The index of the first CR or LF in {@code buf} from {@code from}, or {@code limit}: eight bytes
     * at a time (a long read in little-endian order, its CR and LF bytes found with the
     * has-zero-byte test), then the few that are left one by one.
     */
    static int lineEnd(ByteBuffer buf, int from, int limit) {
        int j = from;
        for (; j + Long.BYTES <= limit; j += Long.BYTES) {
            long word = (long) LONGS.get(buf, j);
            long found = zeroByte(word ^ LFS) | zeroByte(word ^ CRS);
            if (found != 0) {
                return j + (Long.numberOfTrailingZeros(found) >>> 3);
            }
        }
        for (; j < limit; j++) {
            byte c = buf.get(j);
            if (c == '\n' || c == '\r') {
                return j;
            }
        }
        return limit;
    }

    /**
     * The high bit of each zero byte of {@code x} set; above the lowest zero byte, other bytes may be
     * set too, so only the lowest set bit is to be trusted.
     */
    private static long zeroByte(long x) {
        return (x - 0x0101010101010101L) & ~x & 0x8080808080808080L;
    }

    private void data(byte b) {
        dataLength++;
        if (prefixLength < PREFIX) {
            prefix[prefixLength++] = b;
        }
        if (capture) {
            if (dataCaptured == data.length) {
                data = Arrays.copyOf(data, Math.min(Math.max(dataCaptured * 2, 256), maxEventBytes + 1));
            }
            data[dataCaptured++] = b;
        }
    }

    private byte[] appendRaw(ByteBuffer buf, int from, int to, boolean take) {
        int n = to - from;
        if (rawLength + n > raw.length) {
            raw = Arrays.copyOf(raw, Math.max(rawLength + n, Math.min(raw.length * 2, maxEventBytes)));
        }
        buf.get(from, raw, rawLength, n);
        rawLength += n;
        if (!take) {
            return null;
        }
        byte[] event = Arrays.copyOf(raw, rawLength);
        rawLength = 0;
        if (raw.length > 64 * 1024) {
            raw = new byte[256];        // a rare long event does not pin its buffer for the stream's life
            data = new byte[256];
        }
        return event;
    }

    private void resetEvent() {
        betweenEvents = true;
        decided = false;
        hasData = false;
        dataLength = 0;
        prefixLength = 0;
    }

    private Kind classify() {
        if (!hasData) {
            return Kind.NO_DATA;
        }
        if (decided) {
            return Kind.DATA;
        }
        int from = skipSpace(0);
        int to = prefixLength;
        if (dataLength == prefixLength) {
            while (to > from && isSpace(prefix[to - 1])) {
                to--;
            }
            if (Arrays.equals(prefix, from, to, DONE_TEXT, 0, DONE_TEXT.length)) {
                return Kind.DONE;
            }
        }
        int at = from;
        if (at < prefixLength && prefix[at] == '{') {
            at = skipSpace(at + 1);
            if (at + ERROR_NAME.length <= prefixLength
                    && Arrays.equals(prefix, at, at + ERROR_NAME.length, ERROR_NAME, 0, ERROR_NAME.length)) {
                at = skipSpace(at + ERROR_NAME.length);
                if (at < prefixLength && prefix[at] == ':') {
                    at = skipSpace(at + 1);
                    if (at < prefixLength && prefix[at] == '{') {
                        return Kind.ERROR;
                    }
                }
            }
        }
        return Kind.DATA;
    }

    /**
     * Whether the data so far may yet be {@code [DONE]} or open an error object: false once it
     * departs from both (an answer's chunk, {@code {"id":...}}, at its third byte).
     */
    private boolean maySayMore() {
        int at = skipSpace(0);
        if (at == prefixLength) {
            return true;
        }
        if (prefix[at] == '[') {
            return startsWith(at, DONE_TEXT);
        }
        if (prefix[at] != '{') {
            return false;
        }
        at = skipSpace(at + 1);
        if (!startsWith(at, ERROR_NAME)) {
            return false;
        }
        at = skipSpace(at + ERROR_NAME.length);
        if (at >= prefixLength) {
            return true;
        }
        if (prefix[at] != ':') {
            return false;
        }
        at = skipSpace(at + 1);
        return at >= prefixLength || prefix[at] == '{';
    }

    /** Whether the prefix from {@code at} agrees with {@code text} as far as both go. */
    private boolean startsWith(int at, byte[] text) {
        int n = Math.min(text.length, prefixLength - at);
        for (int k = 0; k < n; k++) {
            if (prefix[at + k] != text[k]) {
                return false;
            }
        }
        return true;
    }

    private int skipSpace(int i) {
        while (i < prefixLength && isSpace(prefix[i])) {
            i++;
        }
        return i;
    }

    private static boolean isSpace(byte b) {
        return b == ' ' || b == '\t' || b == '\n' || b == '\r';
    }
}
