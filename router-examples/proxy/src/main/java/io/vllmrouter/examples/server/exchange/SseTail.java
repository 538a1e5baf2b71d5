package io.vllmrouter.examples.server.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;

/**
 * Holds back the unfinished last event of an event stream, so that only whole events reach the
 * client: when the stream is then cut, the error event that follows starts on an event boundary and
 * no half event is left with the client. An event ends with a blank line (two line ends in a row;
 * LF, CR or CRLF, as the SSE format allows). Each byte is scanned once, from the end backwards.
 *
 * <p>A partial event longer than {@value #MAX_HELD} bytes is passed on as it comes, so memory per
 * stream stays bounded. Owns the bytes it holds; touched on one event loop.
 */
final class SseTail {

    static final int MAX_HELD = 64 * 1024;

    private ByteBuf held;
    /** The held bytes' length when last scanned: boundaries can only be in what came after (less 3). */
    private int scanned;
    private boolean passing;

    /**
     * Takes {@code in} (its ownership) and returns the bytes that end on an event boundary, for the
     * caller to write (and so to release), or null when none do yet.
     */
    ByteBuf whole(ByteBuf in, CompositeByteBufFactory alloc) {
        ByteBuf all;
        if (held == null) {
            all = in;
        } else {
            CompositeByteBuf c = alloc.composite();
            c.addComponents(true, held, in);
            all = c;
            held = null;
        }
        int end = lastBoundary(all, Math.max(1, scanned - 3), all.readableBytes());
        if (end < 0) {
            if (passing || all.readableBytes() > MAX_HELD) {
                passing = true; // an event too large to hold: passed on as it comes
                scanned = 0;
                return all;
            }
            held = all;
            scanned = all.readableBytes();
            return null;
        }
        passing = false;
        if (end == all.readableBytes()) {
            scanned = 0;
            return all;
        }
        ByteBuf head = all.readRetainedSlice(end);
        held = all; // the rest, from the boundary on
        scanned = held.readableBytes();
        return head;
    }

    /** What is held, for the end of a complete body (ownership to the caller), or null. */
    ByteBuf rest() {
        ByteBuf h = held;
        held = null;
        return h;
    }

    /** Drops what is held: a half event that must not reach the client. */
    void discard() {
        ByteBuf h = held;
        held = null;
        if (h != null) {
            h.release();
        }
    }

    /**
     * The end (exclusive, relative to the reader index) of the last blank line of {@code b} ending
     * after {@code from}, or -1. A CR at the very end is undecided (a LF may follow).
     */
    static int lastBoundary(ByteBuf b, int from, int to) {
        int base = b.readerIndex();
        for (int j = to; j > from; j--) {
            byte c = b.getByte(base + j - 1);
            int start;
            if (c == '\n') {
                start = j >= 2 && b.getByte(base + j - 2) == '\r' ? j - 2 : j - 1;
            } else if (c == '\r' && j < to && b.getByte(base + j) != '\n') {
                start = j - 1;
            } else {
                continue;
            }
            if (start >= 1) {
                byte before = b.getByte(base + start - 1);
                if (before == '\n' || before == '\r') {
                    return j;
                }
            }
        }
        return -1;
    }

    /** Makes composite buffers (the channel's allocator). */
    interface CompositeByteBufFactory {
        CompositeByteBuf composite();
    }
}
