package io.vllmrouter.examples.kvevents;

import java.io.IOException;
import java.math.BigInteger;
import java.util.List;
import org.msgpack.core.MessageBufferPacker;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessagePacker;

/**
 * Writes batches as vLLM's msgspec encoder does ({@code vllm/distributed/kv_events.py}), in either
 * wire shape, for the simulator and for tests: integers in the smallest msgpack format (unsigned
 * ones from 2<sup>63</sup> as {@code uint64}), floats as {@code float64}, {@code None} as nil.
 *
 * <ul>
 *   <li>{@link Shape#ARRAY}: {@code array_like=True} structs, as the example subscriber of vLLM's
 *       first releases with {@code medium} declares them: {@code [ts, events, data_parallel_rank]},
 *       {@code ["BlockStored", block_hashes, parent_block_hash, token_ids, block_size, lora_id, medium]},
 *       {@code ["BlockRemoved", block_hashes, medium]}, {@code ["AllBlocksCleared"]}.</li>
 *   <li>{@link Shape#MAP}: the current structs: maps, the event's tag first under {@code "type"},
 *       fields without a default always written ({@code lora_id}, {@code medium}, {@code lora_name}),
 *       those with one omitted at their default ({@code omit_defaults=True}).</li>
 * </ul>
 */
public final class KvEventEncoder {

    /** The two wire shapes. */
    public enum Shape { ARRAY, MAP }

    /** How block hashes are written: vLLM's 64-bit integers (its default) or raw 32-byte digests. */
    public enum Hashes { INT, BYTES }

    private final Shape shape;
    private final Hashes hashes;

    public KvEventEncoder(Shape shape, Hashes hashes) {
        this.shape = java.util.Objects.requireNonNull(shape, "shape");
        this.hashes = java.util.Objects.requireNonNull(hashes, "hashes");
    }

    public Shape shape() {
        return shape;
    }

    /** One stored run of blocks, for {@link #encode}. */
    public record Stored(long[] blockHashes, Long parent, int[] tokenIds, int blockSize, String medium) {
    }

    /** Removed blocks, for {@link #encode}. */
    public record Removed(long[] blockHashes, String medium) {
    }

    /** All blocks cleared, for {@link #encode}. */
    public record Cleared() {
    }

    /**
     * One batch's payload.
     *
     * @param events {@link Stored}, {@link Removed} or {@link Cleared}
     * @param dpRank the publisher's data-parallel rank
     */
    public byte[] encode(double ts, List<?> events, int dpRank) {
        try (MessageBufferPacker p = MessagePack.newDefaultBufferPacker()) {
            if (shape == Shape.ARRAY) {
                p.packArrayHeader(3).packDouble(ts);
            } else {
                p.packMapHeader(3).packString("ts").packDouble(ts).packString("events");
            }
            p.packArrayHeader(events.size());
            for (Object e : events) {
                event(p, e);
            }
            if (shape == Shape.MAP) {
                p.packString("data_parallel_rank");
            }
            p.packInt(dpRank);
            return p.toByteArray();
        } catch (IOException e) {
            throw new IllegalStateException("msgpack into memory failed", e);
        }
    }

    private void event(MessagePacker p, Object e) throws IOException {
        if (e instanceof Stored s) {
            if (shape == Shape.ARRAY) {
                p.packArrayHeader(7).packString("BlockStored");
            } else {
                p.packMapHeader(8).packString("type").packString("BlockStored").packString("block_hashes");
            }
            hashList(p, s.blockHashes());
            field(p, "parent_block_hash");
            if (s.parent() == null) {
                p.packNil();
            } else {
                hash(p, s.parent());
            }
            field(p, "token_ids");
            p.packArrayHeader(s.tokenIds().length);
            for (int t : s.tokenIds()) {
                p.packInt(t);
            }
            field(p, "block_size");
            p.packInt(s.blockSize());
            field(p, "lora_id");
            p.packNil();
            field(p, "medium");
            if (s.medium() == null) {
                p.packNil();
            } else {
                p.packString(s.medium());
            }
            if (shape == Shape.MAP) {
                p.packString("lora_name").packNil();
            }
        } else if (e instanceof Removed r) {
            if (shape == Shape.ARRAY) {
                p.packArrayHeader(3).packString("BlockRemoved");
            } else {
                p.packMapHeader(3).packString("type").packString("BlockRemoved").packString("block_hashes");
            }
            hashList(p, r.blockHashes());
            field(p, "medium");
            if (r.medium() == null) {
                p.packNil();
            } else {
                p.packString(r.medium());
            }
        } else if (e instanceof Cleared) {
            if (shape == Shape.ARRAY) {
                p.packArrayHeader(1).packString("AllBlocksCleared");
            } else {
                p.packMapHeader(1).packString("type").packString("AllBlocksCleared");
            }
        } else {
            throw new IllegalArgumentException("event: " + e + " (expected: Stored, Removed or Cleared)");
        }
    }

    private void field(MessagePacker p, String name) throws IOException {
        if (shape == Shape.MAP) {
            p.packString(name);
        }
    }

    private void hashList(MessagePacker p, long[] hs) throws IOException {
        p.packArrayHeader(hs.length);
        for (long h : hs) {
            hash(p, h);
        }
    }

    private void hash(MessagePacker p, long h) throws IOException {
        if (hashes == Hashes.BYTES) {
            byte[] digest = digest(h);
            p.packBinaryHeader(digest.length);
            p.writePayload(digest);
        } else if (h < 0) {
            // vLLM's int hashes are unsigned 64-bit; msgspec writes those past 2^63 as uint64.
            p.packBigInteger(new BigInteger(Long.toUnsignedString(h)));
        } else {
            p.packLong(h);
        }
    }

    /** A 32-byte digest standing for {@code h}: its last eight bytes are {@code h}, as vLLM folds one. */
    static byte[] digest(long h) {
        byte[] b = new byte[32];
        long x = h;
        for (int i = 0; i < 24; i++) {
            x = x * 0x9E3779B97F4A7C15L + 0x632BE59BD9B4E019L;
            b[i] = (byte) (x >>> 56);
        }
        for (int i = 31; i >= 24; i--) {
            b[i] = (byte) h;
            h >>>= 8;
        }
        return b;
    }
}
