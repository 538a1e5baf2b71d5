package io.vllmrouter.examples.server.upstream;

import io.netty.buffer.ByteBuf;
import io.vllmrouter.api.BodyChunk;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.List;

/**
 * Body bytes read by {@link NettyTransport}, in Netty's pooled memory, handed on without a copy
 * (small pieces of a body that goes on are first copied out of their read buffer). Its
 * owner either writes {@link #buf()} to a Netty channel — the write then releases it once it
 * completed or failed — or calls {@link #release()}; never both.
 */
public final class NettyChunk implements BodyChunk {

    private final ByteBuf buf;
    private List<ByteBuffer> views;

    /** A chunk of {@code buf}, whose ownership it takes. */
    public NettyChunk(ByteBuf buf) {
        this.buf = buf;
    }

    /** The bytes as one buffer, for a Netty write that takes over the release. */
    public ByteBuf buf() {
        return buf;
    }

    @Override
    public List<ByteBuffer> buffers() {
        List<ByteBuffer> v = views;
        if (v == null) {
            v = buf.nioBufferCount() == 1 ? List.of(buf.nioBuffer()) : Arrays.asList(buf.nioBuffers());
            views = v;
        }
        return v;
    }

    @Override
    public long length() {
        return buf.readableBytes();
    }

    @Override
    public void release() {
        buf.release();
    }

    @Override
    public String toString() {
        return "NettyChunk[" + buf.readableBytes() + " bytes]";
    }
}
