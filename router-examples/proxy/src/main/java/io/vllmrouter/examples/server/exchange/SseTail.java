package io.vllmrouter.examples.server.exchange;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.CompositeByteBuf;
import io.netty.util.ByteProcessor;
import io.vllmrouter.core.EventTail;

/**
 * Holds back the unfinished last event of an event stream, so that only whole events reach the
 * client: when the stream is then cut, the error event that follows starts on an event boundary and
 * no half event is left with the client. Where an event ends is core's reading ({@link EventTail}:
 * an empty line, with LF, CR or CRLF line ends as the SSE format allows). The held bytes are not
 * scanned again when more arrive, only the few at their end that a line-end run may span.
 *
 * <p>A partial event longer than {@value #MAX_HELD} bytes is passed on as it comes, so memory per
 * stream stays bounded. Owns the bytes it holds; touched on one event loop.
 */
final class SseTail {

    static final int MAX_HELD = 64 * 1024;

    private ByteBuf held;
    /**
     * The held bytes' length when last scanned. They end no event, so their last line-end run holds
     * one line end (at most three bytes, "\r\n" and an undecided CR): an event end can only be in
     * that run or after it.
     */
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
            // The buffers' unread parts, not the buffers themselves: held after a cut, a buffer still
            // owns the bytes before the cut, and composites nested read after read would keep every
            // read of a stream whose reads never end on an event boundary (a slow client's).
            CompositeByteBuf c = alloc.composite();
            c.addFlattenedComponents(true, held);
            c.addFlattenedComponents(true, in);
            all = c;
            held = null;
        }
        int end = lastEventEnd(all, Math.max(0, scanned - 4));
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

    /** The end (relative to the reader index) of {@code b}'s last event from {@code floor} on, or -1. */
    static int lastEventEnd(ByteBuf b, int floor) {
        return EventTail.lastEventEnd(new Readable(b), floor, b.readableBytes(), 0);
    }

    /** A buffer's readable bytes for {@link EventTail}, its line ends found by Netty's own search. */
    private record Readable(ByteBuf b) implements EventTail.Bytes {
        @Override
        public byte at(int index) {
            return b.getByte(b.readerIndex() + index);
        }

        @Override
        public int lastLineEnd(int from, int to) {
            int base = b.readerIndex();
            int at = to > from ? b.forEachByteDesc(base + from, to - from, ByteProcessor.FIND_CRLF) : -1;
            return at < 0 ? -1 : at - base;
        }
    }

    /** Makes composite buffers (the channel's allocator). */
    interface CompositeByteBufFactory {
        CompositeByteBuf composite();
    }
}
