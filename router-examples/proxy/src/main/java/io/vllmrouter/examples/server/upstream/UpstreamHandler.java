package io.vllmrouter.examples.server.upstream;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.util.ReferenceCountUtil;
import io.vllmrouter.examples.server.Flushes;

/**
 * The last handler of an upstream connection: passes what the connection reads to the exchange it
 * carries now, if any; bytes on an idle connection close it.
 */
final class UpstreamHandler extends ChannelInboundHandlerAdapter {

    private final ConnectionPool pool;
    /** The connection's decoder, told by each exchange whether its request is a {@code HEAD}. */
    final ResponseDecoder decoder;
    /** The exchange on this connection, or null while idle; set and read on the pool's loop. */
    UpstreamExchange exchange;

    UpstreamHandler(ConnectionPool pool, ResponseDecoder decoder) {
        this.pool = pool;
        this.decoder = decoder;
    }

    /** The handler of a connection {@link ConnectionPool} made: its pipeline's last, found without a search by type. */
    static UpstreamHandler of(Channel ch) {
        return ch.pipeline().last() instanceof UpstreamHandler h ? h : ch.pipeline().get(UpstreamHandler.class);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        UpstreamExchange e = exchange;
        if (e != null) {
            e.onMessage(msg);
        } else {
            ReferenceCountUtil.release(msg); // bytes on an idle connection: not ours to keep
            ctx.close();
        }
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext ctx) {
        UpstreamExchange e = exchange;
        if (e != null) {
            e.onReadComplete();
        }
        Flushes.now(); // what this read brought leaves for the clients now, not after the loop's other reads
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        UpstreamExchange e = exchange;
        if (e != null) {
            exchange = null;
            e.onInactive();
        } else {
            pool.forget(ctx.channel());
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable t) {
        UpstreamExchange e = exchange;
        if (e != null) {
            e.failedWith(t);
        }
        ctx.close();
    }
}
