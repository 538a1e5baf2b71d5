package io.vllmrouter.examples.server.door;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollSocketChannel;

import java.util.concurrent.TimeUnit;

/**
 * How long ago the kernel last sent bytes of an answer on a client's connection: what the socket
 * had taken may still be on its way to a client that reads slowly, and a connection is idle only
 * once that is over. On Linux from {@code tcp_info} (a system call: asked only when an idle wait
 * ends); a client that stopped reading (its window closed) is sent nothing, so its time runs on.
 * Elsewhere not known: as long ago as can be.
 */
final class LastSent {

    private LastSent() {
    }

    static long nanosAgo(Channel ch) {
        if (ch instanceof EpollSocketChannel socket && socket.isActive()) {
            return TimeUnit.MILLISECONDS.toNanos(socket.tcpInfo().lastDataSent());
        }
        return Long.MAX_VALUE;
    }
}
