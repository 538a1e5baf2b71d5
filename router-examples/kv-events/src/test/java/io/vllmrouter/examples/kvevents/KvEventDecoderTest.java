package io.vllmrouter.examples.kvevents;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * Decoding batches from bytes written by hand, byte by byte, the way msgspec's msgpack encoder
 * writes vLLM's structs: smallest integer formats, float64, {@code None} as nil, str as fixstr. Each
 * test names the vLLM source it follows.
 */
class KvEventDecoderTest {

    /** Hex with spaces, and quoted text written as its msgpack str. */
    static byte[] bytes(Object... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (Object p : parts) {
            if (p instanceof String s && s.startsWith("\"")) {
                byte[] t = s.substring(1, s.length() - 1).getBytes(StandardCharsets.UTF_8);
                out.write(0xa0 | t.length);   // fixstr: every name here is under 32 bytes
                out.writeBytes(t);
            } else if (p instanceof byte[] b) {
                out.writeBytes(b);
            } else {
                out.writeBytes(HexFormat.of().parseHex(((String) p).replace(" ", "")));
            }
        }
        return out.toByteArray();
    }

    /**
     * vLLM's first release with KV events, {@code vllm/distributed/kv_events.py} at commit b4e69e0a:
     * {@code EventBatch(array_like=True)} is {@code [ts, events]};
     * {@code KVCacheEvent(array_like=True, tag=True)} subclasses are tagged tuples;
     * {@code BlockStored(block_hashes, parent_block_hash, token_ids, block_size, lora_id)},
     * {@code BlockRemoved(block_hashes)}, {@code AllBlocksCleared()}. Encoded:
     * {@code KVEventBatch(ts=1.5, events=[BlockStored([1, 2], None, [1, 2, 3, 4], 2, None),
     * BlockRemoved([1]), AllBlocksCleared()])}.
     */
    @Test
    void arrayShapeOfTheFirstRelease() throws IOException {
        byte[] payload = bytes(
                "92", "cb 3ff8000000000000",                   // [1.5,
                "93",                                          //  [
                "96", "\"BlockStored\"", "92 01 02", "c0", "94 01 02 03 04", "02", "c0",
                "92", "\"BlockRemoved\"", "91 01",
                "91", "\"AllBlocksCleared\"");                 //  ]]
        KvEvent.Batch b = KvEventDecoder.decode(payload);
        assertThat(b.ts()).isEqualTo(1.5);
        assertThat(b.dpRank()).isEqualTo(-1);
        assertThat(b.events()).hasSize(3);
        KvEvent.BlockStored s = (KvEvent.BlockStored) b.events().get(0);
        assertThat(s.hashes()).containsExactly(1, 2);
        assertThat(s.hasParent()).isFalse();
        assertThat(s.tokens()).containsExactly(1, 2, 3, 4);
        assertThat(s.blockSize()).isEqualTo(2);
        assertThat(s.medium()).isNull();
        assertThat(KvEvent.gpu(s.medium())).isTrue();
        KvEvent.BlockRemoved r = (KvEvent.BlockRemoved) b.events().get(1);
        assertThat(r.hashes()).containsExactly(1);
        assertThat(b.events().get(2)).isInstanceOf(KvEvent.AllBlocksCleared.class);
    }

    /**
     * The array shape with {@code medium} and the data-parallel rank: the structs of
     * {@code examples/online_serving/kv_events_subscriber.py} at commit 0ef0f426
     * ({@code BlockStored(..., lora_id, medium)}, {@code BlockRemoved(block_hashes, medium)}) and a
     * batch carrying {@code data_parallel_rank} (an optional field, written when set). Hashes from
     * sha256's low 64 bits are unsigned: msgspec writes those from 2<sup>63</sup> as uint64
     * ({@code cf}). A trailing element the decoder does not know is skipped.
     */
    @Test
    void arrayShapeWithMediumAndRank() throws IOException {
        byte[] payload = bytes(
                "93", "cb 4000000000000000",                   // [2.0,
                "92",
                "97", "\"BlockStored\"", "91 cf fedcba9876543210", "cd 0400", "92 05 06", "02", "c0", "\"CPU\"",
                "94", "\"BlockRemoved\"", "91 cf fedcba9876543210", "\"GPU\"", "c0",
                "03");                                         //  ], 3]
        KvEvent.Batch b = KvEventDecoder.decode(payload);
        assertThat(b.dpRank()).isEqualTo(3);
        KvEvent.BlockStored s = (KvEvent.BlockStored) b.events().get(0);
        assertThat(s.hashes()).containsExactly(0xfedcba9876543210L);
        assertThat(s.hasParent()).isTrue();
        assertThat(s.parent()).isEqualTo(1024);
        assertThat(s.medium()).isEqualTo("CPU");
        assertThat(KvEvent.gpu(s.medium())).isFalse();
        KvEvent.BlockRemoved r = (KvEvent.BlockRemoved) b.events().get(1);
        assertThat(r.hashes()).containsExactly(0xfedcba9876543210L);
        assertThat(r.medium()).isEqualTo("GPU");
        assertThat(r.group()).isEqualTo(-1);
    }

    /**
     * The map shape of current vLLM, {@code vllm/distributed/kv_events.py} at commit 0181ea31:
     * {@code EventBatch(omit_defaults=True)} and {@code KVCacheEvent(tag=True)} without
     * {@code array_like}: maps, the tag first under {@code "type"}; fields without a default always
     * written ({@code lora_id}, {@code medium}, {@code lora_name}), those at their default left out.
     * Here the raw sha256 digests ({@code VLLM_KV_EVENTS_USE_INT_BLOCK_HASHES=0}, 32-byte bin),
     * {@code extra_keys} with the LoRA name, {@code group_idx} and a spec field, and an event type
     * the decoder does not know, which is skipped.
     */
    @Test
    void mapShapeOfCurrentReleases() throws IOException {
        byte[] digest = new byte[32];
        for (int i = 0; i < 32; i++) {
            digest[i] = (byte) (i + 1);
        }
        byte[] payload = bytes(
                "83", "\"ts\"", "cb 4008000000000000", "\"events\"", "92",
                "8b", "\"type\"", "\"BlockStored\"",
                "\"block_hashes\"", "91 c4 20", digest,
                "\"parent_block_hash\"", "c0",
                "\"token_ids\"", "92 05 06",
                "\"block_size\"", "02",
                "\"lora_id\"", "01",
                "\"medium\"", "\"GPU\"",
                "\"lora_name\"", "\"adapter-a\"",
                "\"extra_keys\"", "91 91", "\"adapter-a\"",
                "\"group_idx\"", "00",
                "\"kv_cache_spec_kind\"", "\"full_attention\"",
                "82", "\"type\"", "\"BlockMoved\"", "\"block_hashes\"", "91 01",
                "\"data_parallel_rank\"", "00");
        KvEvent.Batch b = KvEventDecoder.decode(payload);
        assertThat(b.ts()).isEqualTo(3.0);
        assertThat(b.dpRank()).isZero();
        assertThat(b.skipped()).isEqualTo(1);
        assertThat(b.events()).hasSize(1);
        KvEvent.BlockStored s = (KvEvent.BlockStored) b.events().get(0);
        assertThat(s.hashes()).containsExactly(0x191a1b1c1d1e1f20L);    // the digest's last 8 bytes
        assertThat(s.loraName()).isEqualTo("adapter-a");
        assertThat(s.extraKeys()).containsExactly(List.of("adapter-a"));
        assertThat(s.group()).isZero();
        assertThat(s.tokens()).containsExactly(5, 6);
    }

    /** The encoder writes exactly the bytes msgspec would, in both shapes. */
    @Test
    void encoderWritesWhatMsgspecWrites() throws IOException {
        KvEventEncoder array = new KvEventEncoder(KvEventEncoder.Shape.ARRAY, KvEventEncoder.Hashes.INT);
        byte[] a = array.encode(2.0, List.of(
                new KvEventEncoder.Stored(new long[] {0xfedcba9876543210L}, 1024L, new int[] {5, 6}, 2, "CPU"),
                new KvEventEncoder.Removed(new long[] {0xfedcba9876543210L}, "GPU")), 3);
        assertThat(a).isEqualTo(bytes(
                "93", "cb 4000000000000000", "92",
                "97", "\"BlockStored\"", "91 cf fedcba9876543210", "cd 0400", "92 05 06", "02", "c0", "\"CPU\"",
                "93", "\"BlockRemoved\"", "91 cf fedcba9876543210", "\"GPU\"",
                "03"));
        KvEventEncoder map = new KvEventEncoder(KvEventEncoder.Shape.MAP, KvEventEncoder.Hashes.INT);
        byte[] m = map.encode(1.5, List.of(new KvEventEncoder.Stored(new long[] {7}, null, new int[] {1, 2}, 2, "GPU"),
                new KvEventEncoder.Cleared()), 0);
        assertThat(m).isEqualTo(bytes(
                "83", "\"ts\"", "cb 3ff8000000000000", "\"events\"", "92",
                "88", "\"type\"", "\"BlockStored\"", "\"block_hashes\"", "91 07", "\"parent_block_hash\"", "c0",
                "\"token_ids\"", "92 01 02", "\"block_size\"", "02", "\"lora_id\"", "c0", "\"medium\"", "\"GPU\"",
                "\"lora_name\"", "c0",
                "81", "\"type\"", "\"AllBlocksCleared\"",
                "\"data_parallel_rank\"", "00"));
        KvEventEncoder bytesHashes = new KvEventEncoder(KvEventEncoder.Shape.MAP, KvEventEncoder.Hashes.BYTES);
        KvEvent.Batch decoded = KvEventDecoder.decode(bytesHashes.encode(0, List.of(
                new KvEventEncoder.Removed(new long[] {-5L}, null)), 0));
        assertThat(((KvEvent.BlockRemoved) decoded.events().get(0)).hashes()).containsExactly(-5L);
    }

    @Test
    void notABatchIsAnErrorNotACrash() {
        assertThatThrownBy(() -> KvEventDecoder.decode(bytes("a3 61 62 63"))).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> KvEventDecoder.decode(bytes("92 01"))).isInstanceOf(IOException.class);
        assertThatThrownBy(() -> KvEventDecoder.decode(new byte[0])).isInstanceOf(IOException.class);
    }
}
