package io.vllmrouter.examples.kvevents;

import java.lang.System.Logger.Level;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.zeromq.SocketType;
import org.zeromq.ZContext;
import org.zeromq.ZMQ;

/**
 * Publishes KV-cache event batches as vLLM's {@code ZmqEventPublisher} does
 * ({@code vllm/distributed/kv_events.py}), for the simulator and for tests: a PUB socket bound on
 * 127.0.0.1, frames {@code (topic, seq as 8 bytes big-endian, payload)} with {@code seq} counting from
 * 0, the last {@code bufferSteps} payloads kept for replay, and an optional ROUTER replay socket that
 * answers a request for {@code start} (8 bytes big-endian) with every buffered batch from
 * {@code start} as {@code (identity, "", seq, payload)} and then {@code (identity, "", -1, "")}.
 *
 * <pre>{@code
 * try (KvEventPublisher pub = KvEventPublisher.bind(5557, 5558, 0, 10_000)) {
 *     pub.publish(encoder.encode(ts, events, 0));
 * }
 * }</pre>
 *
 * <p>{@link #publish} may be called from any thread and never blocks; one thread of its own sends
 * and serves replays, as vLLM's publisher thread does. The socket is an XPUB, which a subscriber sees
 * as vLLM's PUB, so that {@link #awaitSubscribers} can tell when a subscription has arrived (a PUB
 * drops what it sends before that).
 */
public final class KvEventPublisher implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(KvEventPublisher.class.getName());
    static final byte[] END_SEQ = KvSubscriber.bytes(-1);

    private final ZContext zmq = new ZContext();
    private final ZMQ.Socket pub;
    private final ZMQ.Socket replay;
    private final int port;
    private final int replayPort;
    private final int bufferSteps;
    private final byte[] topic;
    /** A payload to send (and buffer), to buffer only (lost on the way), or sequence numbers to skip. */
    private record Item(byte[] payload, boolean send, long skip) {
    }

    private final BlockingQueue<Item> queue = new LinkedBlockingQueue<>();
    private final ArrayDeque<Object[]> buffer = new ArrayDeque<>();
    private final Thread thread;
    private volatile boolean running = true;
    private long seq;
    private volatile long published;
    private int subscribers;

    private KvEventPublisher(int port, int replayPort, int rank, int bufferSteps, String topic) {
        this.bufferSteps = bufferSteps;
        this.topic = topic.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        pub = zmq.createSocket(SocketType.XPUB);
        pub.setXpubVerbose(true);     // every subscriber's subscription, not only the first to a topic
        pub.setSndHWM(100_000);
        pub.setLinger(0);
        this.port = bindPort(pub, port, rank);
        if (replayPort >= 0) {
            replay = zmq.createSocket(SocketType.ROUTER);
            replay.setLinger(0);
            this.replayPort = bindPort(replay, replayPort, rank);
        } else {
            replay = null;
            this.replayPort = -1;
        }
        thread = new Thread(this::run, "kv-event-publisher-" + this.port);
        thread.setDaemon(true);
    }

    /**
     * Binds on 127.0.0.1 and starts.
     *
     * @param port        the rank-0 port, or 0 for an ephemeral one
     * @param replayPort  the rank-0 replay port, 0 for an ephemeral one, or -1 for none
     * @param rank        the data-parallel rank: binds {@code port + rank} (and the replay port + rank)
     * @param bufferSteps batches kept for replay
     */
    public static KvEventPublisher bind(int port, int replayPort, int rank, int bufferSteps) {
        KvEventPublisher p = new KvEventPublisher(port, replayPort, rank, bufferSteps, "");
        p.thread.start();
        return p;
    }

    private static int bindPort(ZMQ.Socket s, int port, int rank) {
        if (port == 0) {
            return s.bindToRandomPort("tcp://127.0.0.1");
        }
        s.bind("tcp://127.0.0.1:" + (port + rank));
        return port + rank;
    }

    /** The PUB port bound. */
    public int port() {
        return port;
    }

    /** The replay port bound, or -1. */
    public int replayPort() {
        return replayPort;
    }

    /** Batches sent so far (the next sequence number). */
    public long published() {
        return published;
    }

    /** Queues one batch's payload; it gets the next sequence number. Any thread; never blocks. */
    public void publish(byte[] payload) {
        if (running) {
            queue.add(new Item(payload, true, 0));
        }
    }

    /**
     * Gives {@code payload} the next sequence number and keeps it for replay without sending it, as
     * if it was lost on the way (a subscriber past its high-water mark); for tests of gaps.
     */
    public void publishLost(byte[] payload) {
        queue.add(new Item(payload, false, 0));
    }

    /** Skips {@code n} sequence numbers: batches lost and no longer buffered either; for tests of gaps. */
    public void skip(long n) {
        queue.add(new Item(null, false, n));
    }

    private void run() {
        try {
            while (running) {
                if (replay != null) {
                    while (serveReplay()) {
                        // serve every waiting request
                    }
                }
                subscriptions();
                Item item = queue.poll(replay == null ? 100 : 5, TimeUnit.MILLISECONDS);
                if (item == null) {
                    continue;
                }
                if (item.payload() == null) {
                    seq += item.skip();
                    published = seq;
                    continue;
                }
                byte[] payload = item.payload();
                if (item.send()) {
                    pub.sendMore(topic);
                    pub.sendMore(KvSubscriber.bytes(seq));
                    pub.send(payload);
                }
                buffer.addLast(new Object[] {seq, payload});
                if (buffer.size() > bufferSteps) {
                    buffer.removeFirst();
                }
                seq++;
                published = seq;
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            if (running) {
                LOG.log(Level.WARNING, "KV event publisher stopped on an error", e);
            }
        }
    }

    /** Counts (un)subscriptions arrived on the XPUB socket. */
    private void subscriptions() {
        byte[] m;
        while ((m = pub.recv(ZMQ.DONTWAIT)) != null) {
            if (m.length > 0) {
                synchronized (this) {
                    subscribers += m[0] == 1 ? 1 : -1;
                    notifyAll();
                }
            }
        }
    }

    /** Waits until at least {@code n} subscribers have subscribed; returns whether they did in time. */
    public synchronized boolean awaitSubscribers(int n, java.time.Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (subscribers < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return false;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return true;
    }

    /** Serves one replay request if one is waiting; returns whether one was. */
    private boolean serveReplay() {
        byte[] identity = replay.recv(ZMQ.DONTWAIT);
        if (identity == null) {
            return false;
        }
        List<byte[]> rest = new java.util.ArrayList<>();
        while (replay.hasReceiveMore()) {
            rest.add(replay.recv(0));
        }
        if (rest.size() != 2) {
            return true;   // vLLM logs "Invalid replay request" and goes on
        }
        long start = KvSubscriber.seq(rest.get(1));
        for (Object[] entry : buffer) {
            if ((long) entry[0] >= start) {
                replay.sendMore(identity);
                replay.sendMore(new byte[0]);
                replay.sendMore(KvSubscriber.bytes((long) entry[0]));
                replay.send((byte[]) entry[1]);
            }
        }
        replay.sendMore(identity);
        replay.sendMore(new byte[0]);
        replay.sendMore(END_SEQ);
        replay.send(new byte[0]);
        return true;
    }

    /** Stops and unbinds. */
    @Override
    public void close() {
        running = false;
        try {
            thread.join(2_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        zmq.close();
    }
}
