package io.vllmrouter.examples.kvevents;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.msgpack.core.MessageFormat;
import org.msgpack.core.MessagePack;
import org.msgpack.core.MessageUnpacker;
import org.msgpack.value.ValueType;

/**
 * Decodes the payload of one published batch, in both wire shapes vLLM has used
 * ({@code vllm/distributed/kv_events.py}):
 *
 * <ul>
 *   <li>arrays ({@code msgspec.Struct, array_like=True, tag=True}, the first vLLM releases with
 *       events and their example subscriber): the batch {@code [ts, events]} or
 *       {@code [ts, events, data_parallel_rank]}, each event a tagged tuple
 *       {@code ["BlockStored", block_hashes, parent_block_hash, token_ids, block_size, lora_id, medium,
 *       lora_name, extra_keys, group_idx, ...]}, {@code ["BlockRemoved", block_hashes, medium, group_idx]},
 *       {@code ["AllBlocksCleared"]}, trailing fields at their default omitted
 *       ({@code omit_defaults=True});</li>
 *   <li>maps (later releases, {@code tag=True} without {@code array_like}): the batch
 *       {@code {"ts", "events", "data_parallel_rank"}}, each event a map whose {@code "type"} names
 *       it.</li>
 * </ul>
 *
 * Block hashes are integers (signed or unsigned 64-bit: Python's {@code hash()}, or sha256's low 64
 * bits with {@code VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES}) or byte strings (the raw sha256 digest);
 * {@link #hashOf} folds either into a {@code long}. Unknown fields, trailing elements and event types
 * are skipped, never fatal. Stateless; one call per payload.
 */
final class KvEventDecoder {

    private KvEventDecoder() {
    }

    /**
     * @throws IOException when the payload is not msgpack of a batch's shape
     */
    static KvEvent.Batch decode(byte[] payload) throws IOException {
        try (MessageUnpacker u = MessagePack.newDefaultUnpacker(payload)) {
            ValueType t = u.getNextFormat().getValueType();
            double ts = 0;
            int rank = -1;
            List<KvEvent> events = null;
            int[] skipped = {0};
            if (t == ValueType.ARRAY) {
                int n = u.unpackArrayHeader();
                for (int i = 0; i < n; i++) {
                    switch (i) {
                        case 0 -> ts = number(u);
                        case 1 -> events = events(u, skipped);
                        case 2 -> rank = intOrNil(u, -1);
                        default -> u.skipValue();
                    }
                }
            } else if (t == ValueType.MAP) {
                int n = u.unpackMapHeader();
                for (int i = 0; i < n; i++) {
                    String key = key(u);
                    switch (key) {
                        case "ts" -> ts = number(u);
                        case "events" -> events = events(u, skipped);
                        case "data_parallel_rank" -> rank = intOrNil(u, -1);
                        default -> u.skipValue();
                    }
                }
            } else {
                throw new IOException("a batch is an array or a map, got " + t);
            }
            if (events == null) {
                throw new IOException("a batch without events");
            }
            return new KvEvent.Batch(ts, events, rank, skipped[0]);
        } catch (org.msgpack.core.MessagePackException e) {
            throw new IOException("not a KV event batch: " + e.getMessage(), e);
        }
    }

    private static List<KvEvent> events(MessageUnpacker u, int[] skipped) throws IOException {
        if (u.getNextFormat().getValueType() != ValueType.ARRAY) {
            throw new IOException("events: expected an array, got " + u.getNextFormat().getValueType());
        }
        int n = u.unpackArrayHeader();
        List<KvEvent> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            KvEvent e = event(u);
            if (e == null) {
                skipped[0]++;
            } else {
                out.add(e);
            }
        }
        return out;
    }

    /** Fields of one event, named as in vLLM's structs. */
    private static final class Fields {
        String type;
        long[] hashes;
        boolean hasParent;
        long parent;
        int[] tokens;
        int blockSize = -1;
        String loraName;
        String medium;
        List<List<Object>> extraKeys;
        int group = -1;
    }

    /** Positions of the array shape, after the tag. */
    private static final String[] STORED_POSITIONS = {"block_hashes", "parent_block_hash", "token_ids", "block_size",
        "lora_id", "medium", "lora_name", "extra_keys", "group_idx"};
    private static final String[] REMOVED_POSITIONS = {"block_hashes", "medium", "group_idx"};

    private static KvEvent event(MessageUnpacker u) throws IOException {
        ValueType t = u.getNextFormat().getValueType();
        Fields f = new Fields();
        if (t == ValueType.ARRAY) {
            int n = u.unpackArrayHeader();
            if (n == 0) {
                return null;
            }
            if (u.getNextFormat().getValueType() != ValueType.STRING) {
                skip(u, n);
                return null;
            }
            f.type = u.unpackString();
            String[] positions = "BlockStored".equals(f.type) ? STORED_POSITIONS
                    : "BlockRemoved".equals(f.type) ? REMOVED_POSITIONS : new String[0];
            for (int i = 1; i < n; i++) {
                if (i - 1 < positions.length) {
                    field(u, positions[i - 1], f);
                } else {
                    u.skipValue();
                }
            }
        } else if (t == ValueType.MAP) {
            int n = u.unpackMapHeader();
            for (int i = 0; i < n; i++) {
                String key = key(u);
                if (key.equals("type")) {
                    f.type = u.getNextFormat().getValueType() == ValueType.STRING ? u.unpackString() : skipNull(u);
                } else {
                    field(u, key, f);
                }
            }
        } else {
            u.skipValue();
            return null;
        }
        if ("BlockStored".equals(f.type) && f.hashes != null && f.blockSize > 0) {
            return new KvEvent.BlockStored(f.hashes, f.hasParent, f.parent, f.tokens == null ? new int[0] : f.tokens,
                    f.blockSize, f.loraName, f.medium, f.extraKeys, f.group);
        }
        if ("BlockRemoved".equals(f.type) && f.hashes != null) {
            return new KvEvent.BlockRemoved(f.hashes, f.medium, f.group);
        }
        if ("AllBlocksCleared".equals(f.type)) {
            return new KvEvent.AllBlocksCleared();
        }
        return null;
    }

    private static void field(MessageUnpacker u, String name, Fields f) throws IOException {
        switch (name) {
            case "block_hashes" -> f.hashes = hashes(u);
            case "parent_block_hash" -> {
                if (u.getNextFormat() == MessageFormat.NIL) {
                    u.unpackNil();
                } else {
                    f.hasParent = true;
                    f.parent = hash(u);
                }
            }
            case "token_ids" -> f.tokens = tokens(u);
            case "block_size" -> f.blockSize = intOrNil(u, -1);
            case "medium" -> f.medium = stringOrNil(u);
            case "lora_name" -> f.loraName = stringOrNil(u);
            case "extra_keys" -> f.extraKeys = extraKeys(u);
            case "group_idx" -> f.group = intOrNil(u, -1);
            default -> u.skipValue();   // lora_id (the name is what vLLM hashes), spec fields, newer fields
        }
    }

    private static long[] hashes(MessageUnpacker u) throws IOException {
        int n = u.unpackArrayHeader();
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = hash(u);
        }
        return out;
    }

    /** One block hash: an integer as its 64 bits, a byte or text string folded ({@link #hashOf}). */
    private static long hash(MessageUnpacker u) throws IOException {
        MessageFormat format = u.getNextFormat();
        switch (format.getValueType()) {
            case INTEGER:
                return format == MessageFormat.UINT64 ? u.unpackBigInteger().longValue() : u.unpackLong();
            case BINARY: {
                byte[] b = new byte[u.unpackBinaryHeader()];
                u.readPayload(b);
                return hashOf(b);
            }
            case STRING:
                return hashOf(u.unpackString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            default:
                throw new IOException("a block hash is an integer or bytes, got " + format.getValueType());
        }
    }

    /**
     * A byte-string block hash as a {@code long}: its last eight bytes read big-endian, as vLLM's
     * {@code maybe_convert_block_hash} turns a sha256 digest into an integer; shorter strings
     * left-padded with zeros.
     */
    static long hashOf(byte[] b) {
        long h = 0;
        for (int i = Math.max(0, b.length - 8); i < b.length; i++) {
            h = h << 8 | (b[i] & 0xFF);
        }
        return h;
    }

    private static int[] tokens(MessageUnpacker u) throws IOException {
        int n = u.unpackArrayHeader();
        int[] out = new int[n];
        int extra = -1;
        for (int i = 0; i < n; i++) {
            if (u.getNextFormat().getValueType() == ValueType.ARRAY) {
                // EAGLE's bigram pairs (token, next): the first of each, and the last pair's second.
                int m = u.unpackArrayHeader();
                out[i] = m > 0 ? u.unpackInt() : 0;
                if (m > 1) {
                    extra = u.unpackInt();
                }
                skip(u, m - 2);
            } else {
                out[i] = u.unpackInt();
            }
        }
        if (extra >= 0) {
            int[] longer = java.util.Arrays.copyOf(out, n + 1);
            longer[n] = extra;
            return longer;
        }
        return out;
    }

    private static List<List<Object>> extraKeys(MessageUnpacker u) throws IOException {
        if (u.getNextFormat() == MessageFormat.NIL) {
            u.unpackNil();
            return null;
        }
        int n = u.unpackArrayHeader();
        List<List<Object>> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            Object v = value(u);
            out.add(v instanceof List<?> l ? castList(l) : v == null ? null : List.of(v));
        }
        return out;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> castList(List<?> l) {
        return (List<Object>) l;
    }

    /** A value of an extra key: string, integer, float, bytes, boolean, nested array, or null. */
    private static Object value(MessageUnpacker u) throws IOException {
        MessageFormat format = u.getNextFormat();
        switch (format.getValueType()) {
            case NIL:
                u.unpackNil();
                return null;
            case STRING:
                return u.unpackString();
            case INTEGER:
                return format == MessageFormat.UINT64 ? u.unpackBigInteger().longValue() : u.unpackLong();
            case FLOAT:
                return u.unpackDouble();
            case BOOLEAN:
                return u.unpackBoolean();
            case BINARY: {
                byte[] b = new byte[u.unpackBinaryHeader()];
                u.readPayload(b);
                return b;
            }
            case ARRAY: {
                int n = u.unpackArrayHeader();
                List<Object> l = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    l.add(value(u));
                }
                return l;
            }
            default:
                u.skipValue();
                return null;
        }
    }

    private static String key(MessageUnpacker u) throws IOException {
        if (u.getNextFormat().getValueType() != ValueType.STRING) {
            u.skipValue();
            return "";
        }
        return u.unpackString();
    }

    private static double number(MessageUnpacker u) throws IOException {
        ValueType t = u.getNextFormat().getValueType();
        if (t == ValueType.FLOAT) {
            return u.unpackDouble();
        }
        if (t == ValueType.INTEGER) {
            return u.unpackLong();
        }
        u.skipValue();
        return 0;
    }

    private static int intOrNil(MessageUnpacker u, int nil) throws IOException {
        if (u.getNextFormat().getValueType() == ValueType.INTEGER) {
            return u.unpackInt();
        }
        u.skipValue();
        return nil;
    }

    private static String stringOrNil(MessageUnpacker u) throws IOException {
        if (u.getNextFormat().getValueType() == ValueType.STRING) {
            return u.unpackString();
        }
        u.skipValue();
        return null;
    }

    private static String skipNull(MessageUnpacker u) throws IOException {
        u.skipValue();
        return null;
    }

    private static void skip(MessageUnpacker u, int n) throws IOException {
        for (int i = 0; i < n; i++) {
            u.skipValue();
        }
    }
}
