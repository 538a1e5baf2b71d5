package io.vllmrouter.core;

import java.nio.ByteBuffer;

/**
 * What a relay reads of a streamed answer ({@link SseRelay}): every event up to the first data event
 * (an error event before it is a failed start), then, watching, each buffer's last events for vLLM's
 * in-band error event and {@code [DONE]}. vLLM ends a failed stream with its error event and
 * {@code [DONE]} and sends nothing after them, so what comes before a buffer's last two events
 * (and the event under way at its end) is answer text it does not read ({@link EventTail}).
 *
 * <pre>{@code
 * int stop = watch.read(buffer);          // each buffer of each chunk, in order
 * if (watch.errorSeen()) cutAt(stop);     // the error event ended at stop
 * }</pre>
 *
 * <p>Transport thread only (one signal at a time); the flags are read by the same thread.
 */
final class StreamWatch {

    private final boolean watch;
    private final SseParser parser = new SseParser(false);
    private final SseParser.Listener listener = this::event;
    private boolean firstData;
    private boolean errorFirst;
    private boolean errorSeen;
    private boolean doneSeen;

    /** @param watch whether to look for the error event and {@code [DONE]} after the first data event */
    StreamWatch(boolean watch) {
        this.watch = watch;
    }

    /**
     * Reads what matters of {@code b} (its position and limit are not moved). Returns where the read
     * stopped: just after an error event when one was found, else the limit or, once the first data
     * event is known and nothing is watched, the position.
     */
    int read(ByteBuffer b) {
        int stop = firstData ? b.position() : scan(b, b.position(), false);
        if (firstData && watch && !errorFirst && !errorSeen) {
            stop = tail(b, stop);
        }
        return stop;
    }

    /** A data event (or {@code [DONE]}) has come: the answer has started. */
    boolean firstData() {
        return firstData;
    }

    /** The first event was an error event. */
    boolean errorFirst() {
        return errorFirst;
    }

    /** Watching: an error event came after the first data event. */
    boolean errorSeen() {
        return errorSeen;
    }

    /** Watching: {@code [DONE]} came. */
    boolean doneSeen() {
        return doneSeen;
    }

    /** The end of an event under way, then the buffer's last two events and what follows them. */
    private int tail(ByteBuffer b, int from) {
        int at = from;
        if (!parser.betweenEvents()) {
            at = scan(b, at, true);
            if (errorSeen || at == b.limit()) {
                return at;
            }
        }
        return scan(b, EventTail.lastEventsStart(b, at, b.limit(), 2), false);
    }

    private int scan(ByteBuffer b, int from, boolean oneEvent) {
        try {
            return parser.scan(b, from, listener, oneEvent);
        } catch (SseParser.EventTooLarge e) {
            return b.limit();       // a parser that captures nothing never throws it
        }
    }

    /** Stops the scan at the first data event (the start is known) and at an error event. */
    private boolean event(SseParser.Kind kind, int end) {
        switch (kind) {
            case ERROR -> {
                if (!firstData) {
                    errorFirst = true;
                    return false;
                }
                errorSeen = watch;
                return !watch;
            }
            case DONE -> {
                doneSeen |= watch;
                return !startsData();
            }
            case DATA -> {
                return !startsData();
            }
            default -> {
                return true;
            }
        }
    }

    /** Marks the first data event; whether this was it. */
    private boolean startsData() {
        boolean first = !firstData;
        firstData = true;
        return first;
    }
}
