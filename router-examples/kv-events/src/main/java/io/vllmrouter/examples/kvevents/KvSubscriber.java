package io.vllmrouter.examples.kvevents;

import java.io.IOException;
import java.lang.System.Logger.Level;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * Follows one data-parallel rank of one server: a ZMQ SUB socket connected to its publisher, and,
 * when configured, a DEALER socket to its replay ROUTER, on a thread of its own.
 *
 * <p>vLLM's {@code ZmqEventPublisher} ({@code vllm/distributed/kv_events.py}) sends each batch as
 * three frames: the topic, the sequence number (8 bytes, big-endian, counting from 0 in each
 * publisher process) and the msgpack payload. Rank {@code r} binds the configured port plus
 * {@code r} ({@code offset_endpoint_port}), for the replay socket too. A replay request is the first
 * sequence number wanted, 8 bytes big-endian; the ROUTER answers with every buffered batch from
 * there as {@code (seq, payload)} and ends with seq -1 and an empty payload.
 *
 * <p>Sequence numbers: the next one is applied; one already seen means the publisher started over
 * (a restart: the rank's entries are dropped and rebuilt from this batch on); one past the next is a
 * gap, filled from the replay socket when there is one, else the rank's entries are dropped (no
 * longer trusted) and rebuilt from new events. The first batch after joining replays from 0 when it
 * can, to learn the blocks stored before. Batches go to the index's owner thread in order; nothing
 * here touches a request thread. Connections and disconnections are logged once each (JeroMQ
 * reconnects by itself, backing off to {@value #RECONNECT_MAX_MS} ms), not per event.
 */
final class KvSubscriber {

    private static final System.Logger LOG = System.getLogger(KvSubscriber.class.getName());

    static final int RECONNECT_MAX_MS = 5_000;
    /** How long one replay may take before it counts as failed. */
    static final int REPLAY_TIMEOUT_MS = 2_000;
    private static final int POLL_MS = 100;

    private final KvIndex index;
    private final KvIndex.Server server;
    private final int rank;
    private final ZContext zmq;
    private final String endpoint;
    private final String replayEndpoint;
    private final Thread thread;
    private volatile boolean running = true;
    /** Subscriber thread only. */
    private long last = -1;
    private boolean connected;
    private boolean badPayloadLogged;

    KvSubscriber(KvIndex index, KvIndex.Server server, int rank, ZContext zmq) {
        this.index = index;
        this.server = server;
        this.rank = rank;
        this.zmq = zmq;
        this.endpoint = offset(server.source.endpoint(), rank);
        this.replayEndpoint = server.source.replayEndpoint() == null ? null : offset(server.source.replayEndpoint(), rank);
        this.thread = new Thread(this::run, "vllm-router-kv-events-" + rank + "-" + endpoint);
        thread.setDaemon(true);
    }

    /** The endpoint of rank {@code rank}: the port plus the rank, as vLLM binds it. */
    static String offset(String endpoint, int rank) {
        if (rank == 0) {
            return endpoint;
        }
        URI u = URI.create(endpoint);
        return "tcp://" + u.getHost() + ":" + (u.getPort() + rank);
    }

    void start() {
        thread.start();
    }

    void stop() {
        running = false;
    }

    void join() {
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String who() {
        return server.who(rank);
    }

    private void run() {
        ZMQ.Socket sub = zmq.createSocket(SocketType.SUB);
        ZMQ.Socket monitor = null;
        ZMQ.Socket replay = null;
        try {
            sub.setReconnectIVLMax(RECONNECT_MAX_MS);
            sub.setRcvHWM(100_000);
            sub.subscribe(ZMQ.SUBSCRIPTION_ALL);
            String monitorAddress = "inproc://kv-events-monitor-" + System.identityHashCode(this);
            sub.monitor(monitorAddress, ZMQ.EVENT_CONNECTED | ZMQ.EVENT_DISCONNECTED);
            monitor = zmq.createSocket(SocketType.PAIR);
            monitor.connect(monitorAddress);
            sub.connect(endpoint);
            ZMQ.Poller poller = zmq.createPoller(2);
            poller.register(sub, ZMQ.Poller.POLLIN);
            poller.register(monitor, ZMQ.Poller.POLLIN);
            while (running && !index.closed()) {
                if (poller.poll(POLL_MS) < 0) {
                    break;
                }
                if (poller.pollin(1)) {
                    connection(ZMQ.Event.recv(monitor, ZMQ.DONTWAIT));
                }
                if (!poller.pollin(0)) {
                    continue;
                }
                List<byte[]> frames = receive(sub);
                if (frames.size() < 3) {
                    index.figures.badPayloads.increment();
                    continue;
                }
                long seq = seq(frames.get(1));
                if (replayEndpoint != null && replay == null) {
                    replay = zmq.createSocket(SocketType.DEALER);
                    replay.setLinger(0);
                    replay.connect(replayEndpoint);
                }
                replay = received(seq, frames.get(2), replay);
            }
            poller.close();
        } catch (RuntimeException e) {
            if (running && !index.closed()) {
                LOG.log(Level.WARNING, "KV events of " + who() + ": the subscriber stopped on an error", e);
            }
        } finally {
            zmq.destroySocket(sub);
            if (monitor != null) {
                zmq.destroySocket(monitor);
            }
            if (replay != null) {
                zmq.destroySocket(replay);
            }
        }
    }

    private void connection(ZMQ.Event e) {
        if (e == null) {
            return;
        }
        if (e.getEvent() == ZMQ.EVENT_CONNECTED && !connected) {
            connected = true;
            LOG.log(Level.INFO, "KV events of {0}: connected to {1}", who(), endpoint);
        } else if (e.getEvent() == ZMQ.EVENT_DISCONNECTED && connected) {
            connected = false;
            LOG.log(Level.WARNING, "KV events of {0}: disconnected from {1}; reconnecting (every {2} ms at most)",
                    who(), endpoint, RECONNECT_MAX_MS);
        }
    }

    /**
     * One batch with its sequence number; returns the replay socket to use from now on (a new one
     * after a replay that timed out, whose late answers must not mix with the next).
     */
    private ZMQ.Socket received(long seq, byte[] payload, ZMQ.Socket replay) {
        if (last < 0) {
            if (seq > 0 && replay != null) {
                replay = fill(0, seq, replay, false);
            }
        } else if (seq <= last) {
            index.figures.restarts.increment();
            LOG.log(Level.INFO, "KV events of {0}: sequence went from {1} back to {2} (the server restarted); "
                    + "its entries are rebuilt from its new events", who(), last, seq);
            index.post(() -> index.clearRank(server, rank, "restart"));
        } else if (seq > last + 1) {
            index.figures.gaps.increment();
            if (replay != null) {
                replay = fill(last + 1, seq, replay, true);
            } else {
                LOG.log(Level.INFO, "KV events of {0}: {1} batches missed and no kv_events_replay; its entries are "
                        + "rebuilt from new events", who(), seq - last - 1);
                index.post(() -> index.clearRank(server, rank, "gap"));
            }
        }
        deliver(seq, payload);
        return replay;
    }

    private void deliver(long seq, byte[] payload) {
        last = seq;
        KvEvent.Batch batch;
        try {
            batch = KvEventDecoder.decode(payload);
        } catch (IOException e) {
            index.figures.badPayloads.increment();
            if (!badPayloadLogged) {
                badPayloadLogged = true;
                LOG.log(Level.WARNING, "KV events of {0}: message {1} is not an event batch ({2}); such messages are "
                        + "skipped (counted in kv_events_bad_payloads; not logged again)", who(), seq, e.getMessage());
            } else {
                LOG.log(Level.DEBUG, "KV events of {0}: batch {1} not decoded: {2}", who(), seq, e.getMessage());
            }
            return;
        }
        index.post(() -> index.apply(server, rank, batch));
    }

    /**
     * Asks the replay socket for batches {@code from} up to (not including) {@code until} and delivers
     * them. When the answer starts after {@code from} (the publisher's buffer no longer has it) or does
     * not end in time, the rank's entries are dropped first, as for a gap without replay.
     */
    private ZMQ.Socket fill(long from, long until, ZMQ.Socket replay, boolean gap) {
        index.figures.replays.increment();
        replay.sendMore(new byte[0]);
        replay.send(bytes(from));
        List<long[]> seqs = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        boolean ended = false;
        long deadline = System.nanoTime() + REPLAY_TIMEOUT_MS * 1_000_000L;
        ZMQ.Poller poller = zmq.createPoller(1);
        try {
            poller.register(replay, ZMQ.Poller.POLLIN);
            while (running && !ended) {
                long left = (deadline - System.nanoTime()) / 1_000_000L;
                if (left <= 0 || poller.poll(left) <= 0) {
                    break;
                }
                List<byte[]> frames = receive(replay);
                // DEALER: [empty delimiter, seq, payload]
                if (frames.size() < 3) {
                    continue;
                }
                long s = seq(frames.get(1));
                if (s < 0) {
                    ended = true;
                } else if (s < until) {
                    seqs.add(new long[] {s});
                    payloads.add(frames.get(2));
                }
            }
        } finally {
            poller.close();
        }
        boolean complete = ended && (seqs.isEmpty() ? from == until : seqs.get(0)[0] <= from);
        if (complete && gap) {
            LOG.log(Level.INFO, "KV events of {0}: {1} batches missed, replayed from kv_events_replay", who(),
                    until - from);
        }
        if (!complete) {
            index.figures.replayFailures.increment();
            if (gap || !seqs.isEmpty()) {
                LOG.log(Level.INFO, "KV events of {0}: replay from {1} {2}; entries rebuilt from new events",
                        who(), from, ended ? "no longer buffered" : "did not answer in time");
            }
            if (gap) {
                index.post(() -> index.clearRank(server, rank, "gap not replayed"));
            }
        }
        for (int i = 0; i < seqs.size(); i++) {
            long s = seqs.get(i)[0];
            if (s > last || last < 0) {
                deliver(s, payloads.get(i));
            }
        }
        if (!ended) {
            zmq.destroySocket(replay);
            ZMQ.Socket fresh = zmq.createSocket(SocketType.DEALER);
            fresh.setLinger(0);
            fresh.connect(replayEndpoint);
            return fresh;
        }
        return replay;
    }

    private static List<byte[]> receive(ZMQ.Socket socket) {
        List<byte[]> frames = new ArrayList<>(3);
        do {
            byte[] f = socket.recv(0);
            if (f == null) {
                break;
            }
            frames.add(f);
        } while (socket.hasReceiveMore());
        return frames;
    }

    static long seq(byte[] b) {
        long v = 0;
        for (byte x : b) {
            v = v << 8 | (x & 0xFF);
        }
        return b.length == 8 ? v : (b.length > 0 && b[0] < 0 ? -1 : v);
    }

    static byte[] bytes(long v) {
        byte[] b = new byte[8];
        for (int i = 7; i >= 0; i--) {
            b[i] = (byte) v;
            v >>>= 8;
        }
        return b;
    }
}
