package io.vllmrouter.examples.server.door;

import io.netty.channel.Channel;
import io.netty.channel.epoll.EpollSocketChannel;

import java.util.concurrent.TimeUnit;

/**
 * How long ago the kernel last sent bytes on a client's connection: what the socket had taken may
 * still be on its way to a client that reads slowly, and an HTTP/1.1 connection is idle, or one
 * the proxy ended is reset, only once that is over. On Linux from {@code tcp_info} (a system call:
 * asked only when such a wait ends); a client that stopped reading (its window closed) is sent
 * nothing, so its time runs on. Elsewhere not known: as long ago as can be. Only where the proxy
 * itself sends nothing else meanwhile: on an HTTP/2 connection it answers the client's
 * {@code PING}s, except once its side is shut down.
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
