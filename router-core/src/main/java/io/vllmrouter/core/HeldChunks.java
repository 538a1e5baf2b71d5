package io.vllmrouter.core;

import io.vllmrouter.api.BodyChunk;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link SseRelay} does with the chunks it holds before a stream's start is told: release them
 * all, pass them on as one, or copy the bytes before a cut. Each chunk has one owner, who releases it
 * once ({@link BodyChunk}); these methods take the ownership of the chunks they are given.
 */
final class HeldChunks {

    private HeldChunks() {
    }

    /** Releases every chunk of {@code chunks} (none when null). */
    static void release(List<BodyChunk> chunks) {
        if (chunks != null) {
            for (BodyChunk c : chunks) {
                c.release();
            }
        }
    }

    /**
     * A heap copy of {@code chunks}' bytes, those of {@code chunks[last]} up to {@code cut} in its
     * buffer {@code index}; every chunk is released.
     */
    static BodyChunk copyUpTo(List<BodyChunk> chunks, int last, int index, int cut) {
        int n = 0;
        for (int c = 0; c <= last; c++) {
            List<ByteBuffer> bs = chunks.get(c).buffers();
            int upTo = c < last ? bs.size() : index;
            for (int i = 0; i < upTo; i++) {
                n += bs.get(i).remaining();
            }
            if (c == last) {
                n += cut - bs.get(index).position();
            }
        }
        byte[] copy = new byte[n];
        int at = 0;
        for (int c = 0; c <= last; c++) {
            List<ByteBuffer> bs = chunks.get(c).buffers();
            int upTo = c < last ? bs.size() : index;
            for (int i = 0; i < upTo; i++) {
                ByteBuffer b = bs.get(i);
                b.get(b.position(), copy, at, b.remaining());
                at += b.remaining();
            }
            if (c == last) {
                ByteBuffer b = bs.get(index);
                b.get(b.position(), copy, at, cut - b.position());
            }
        }
        release(chunks);
        return BodyChunk.of(ByteBuffer.wrap(copy));
    }

    /** The held chunks as one: the only one as it is (most streams' first read holds their first event), or all together. */
    static BodyChunk asOne(List<BodyChunk> chunks) {
        if (chunks.size() == 1) {
            return chunks.get(0);
        }
        List<ByteBuffer> buffers = new ArrayList<>();
        for (BodyChunk c : chunks) {
            buffers.addAll(c.buffers());
        }
        return new BodyChunk() {
            @Override
            public List<ByteBuffer> buffers() {
                return buffers;
            }

            @Override
            public void release() {
                HeldChunks.release(chunks);
            }
        };
    }
}
