package io.vllmrouter.api;

import java.nio.ByteBuffer;
import java.util.List;
import java.util.Objects;

/**
 * Bytes of a response body on their way from the backend to the caller, possibly in a transport's
 * pooled memory. A chunk has one owner at a time: whoever receives it from a publisher
 * ({@code onNext}) owns it, and either hands it on (ownership goes with it) or releases it, exactly
 * once, when done with its bytes — after its socket write completed or failed, after copying them,
 * or when dropping the chunk. Its bytes must not be read after that. No cancel, timeout or reset
 * releases a chunk for its owner.
 *
 * <pre>{@code
 * public void onNext(BodyChunk chunk) {
 *     channel.write(chunk.buffers()).whenComplete((n, t) -> chunk.release());   // after the write
 * }
 * }</pre>
 *
 * <p>Chunks of heap memory ({@link #of}) release nothing; chunks of pooled memory give it back to
 * their pool, which may lend it to another request at once: so a chunk released early shows another
 * request's bytes to whoever still reads it.
 */
public interface BodyChunk {

    /**
     * The bytes, in order. The owner may move the buffers' positions (they are its own views) but
     * must not write into them. Valid until {@link #release()}.
     */
    List<ByteBuffer> buffers();

    /** Bytes remaining in {@link #buffers()}. */
    default long length() {
        long n = 0;
        for (ByteBuffer b : buffers()) {
            n += b.remaining();
        }
        return n;
    }

    /** Gives the memory back. Call it once, as the chunk's last owner; never throws. */
    void release();

    /** A chunk over heap (or otherwise unpooled) buffers; its {@link #release()} does nothing. */
    static BodyChunk of(List<ByteBuffer> buffers) {
        Objects.requireNonNull(buffers, "buffers");
        return new BodyChunk() {
            @Override
            public List<ByteBuffer> buffers() {
                return buffers;
            }

            @Override
            public void release() {
            }

            @Override
            public String toString() {
                return "BodyChunk[" + length() + " bytes]";
            }
        };
    }

    /** A chunk of one heap buffer; see {@link #of(List)}. */
    static BodyChunk of(ByteBuffer buffer) {
        return of(List.of(buffer));
    }
}
