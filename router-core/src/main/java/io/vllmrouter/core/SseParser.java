package io.vllmrouter.core;

import java.io.IOException;
import java.nio.ByteBuffer;
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
 * <p>One pass: each byte is looked at once, whatever the chunking, and nothing is rescanned. Each
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

    private boolean hasData;
    private long dataLength;
    private final byte[] prefix = new byte[PREFIX];
    private int prefixLength;

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
        int limit = buf.limit();
        int segment = buf.position();   // capture: where the current event's bytes in buf start
        for (int i = buf.position(); i < limit; i++) {
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
                    if (!listener.event(kind, i + 1)) {
                        return i + 1;
                    }
                }
                continue;
            }
            lineEmpty = false;
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
                    if (prefixLength < PREFIX) {
                        data(b);
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
        int j = from;
        if (buf.hasArray()) {
            byte[] a = buf.array();
            int off = buf.arrayOffset();
            int end = off + limit;
            int k = off + from;
            while (k < end && a[k] != '\n' && a[k] != '\r') {
                k++;
            }
            j = k - off;
        } else {
            while (j < limit) {
                byte c = buf.get(j);
                if (c == '\n' || c == '\r') {
                    break;
                }
                j++;
            }
        }
        if (isData) {
            int n = j - from;
            dataLength += n;
            if (capture) {
                int room = Math.min(maxEventBytes + 1 - dataCaptured, n);   // past the limit the scan fails anyway
                if (dataCaptured + room > data.length) {
                    data = Arrays.copyOf(data, Math.min(Math.max(dataCaptured + room, data.length * 2), maxEventBytes + 1));
                }
                buf.get(from, data, dataCaptured, room);
                dataCaptured += room;
            }
        }
        return j;
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
        hasData = false;
        dataLength = 0;
        prefixLength = 0;
    }

    private Kind classify() {
        if (!hasData) {
            return Kind.NO_DATA;
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
