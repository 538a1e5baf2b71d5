package io.vllmrouter.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.RouterRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.Flow;

/**
 * A streamed chat or text completion that survives its backend failing mid-answer
 * ({@code stream_failover}): a publisher between the backends' SSE bodies and the caller's
 * {@link StreamingBody}.
 *
 * <p>Events pass on one by one as they complete (a partial event is held until its blank line, so
 * a cut never leaves half an event with the caller); on the way it keeps only the text passed on,
 * the number of content events (one token each), and the first event's {@code id}, {@code created}
 * and {@code model}. When the backend fails before {@code data: [DONE]}, it asks its {@link Resumer}
 * for a continuation — the request re-sent with the text so far (a final assistant message with
 * {@code continue_final_message}, or appended to a completion's prompt), {@code max_tokens}
 * reduced — on another backend, and splices that backend's events into the same stream: the same
 * {@code id}, {@code created} and {@code model}, no second role event, {@code usage} counting the
 * whole answer, one {@code [DONE]}. When it cannot resume, the caller sees the original failure.
 *
 * <p>Demand: one upstream chunk is asked at a time while the caller has demand; a chunk yields at
 * most one item downstream (its complete events). Upstream signals are serial per backend; the
 * caller's {@code request}/{@code cancel} may come from any thread, so state changes hold this
 * object's lock (one per request, never shared).
 */
final class ResumableStream implements Flow.Publisher<BodyChunk> {

    /** Starts continuations; implemented by the request's {@link Exchange}. */
    interface Resumer {
        /**
         * The current backend failed mid-stream: end its attempt and try {@code body} elsewhere,
         * calling {@link ResumableStream#resumed} with the new body or {@link ResumableStream#giveUp}.
         *
         * @return false when no resume is allowed (budget spent, caller gone)
         */
        boolean resume(byte[] body, Throwable cause);
    }

    private final ObjectNode request;
    private final boolean chat;
    private final Resumer resumer;

    private Flow.Subscriber<? super BodyChunk> downstream;
    private Flow.Subscription upstream;
    /** Which upstream body is current: signals of older ones are ignored. */
    private int generation;
    private long demand;
    private boolean upstreamAsked;
    private boolean cancelled;
    private boolean finished;
    private boolean resuming;
    private final ByteArrayOutputStream pending = new ByteArrayOutputStream(512);

    /** What the caller has seen, and the rewriting of a continuation's events. */
    private final SseSplice splice;

    /**
     * @param request the caller's request body, parsed; {@link #eligible} was true for it
     * @param chat    a chat completion (else a text completion)
     */
    ResumableStream(ObjectNode request, boolean chat, Resumer resumer) {
        this.request = request;
        this.chat = chat;
        this.resumer = Objects.requireNonNull(resumer, "resumer");
        this.splice = new SseSplice(chat);
    }

    /**
     * A stream for {@code request} that may resume elsewhere, or null when {@code stream_failover} is
     * off or the request cannot resume (not a streamed completion, not {@link #eligible}, unreadable).
     */
    static ResumableStream forRequest(Snapshot.Settings settings, RouterRequest request, RequestInfo info,
                                      Resumer resumer) {
        String path = request.path();
        boolean chat = path.startsWith("/v1/chat/completions");
        if (!settings.streamFailover() || !info.stream() || !(chat || path.startsWith("/v1/completions"))) {
            return null;
        }
        try {
            JsonNode node = RouterJson.mapper().readTree(request.body());
            if (!eligible(node, chat)) {
                return null;
            }
            return new ResumableStream((ObjectNode) node, chat, resumer);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    /**
     * Whether a request can be resumed: a streamed chat or text completion without tool calls,
     * several choices, log probabilities or token-array prompts (docs/resilience.md).
     */
    static boolean eligible(JsonNode body, boolean chat) {
        if (!(body instanceof ObjectNode) || !body.path("stream").asBoolean(false)) {
            return false;
        }
        if (body.path("n").asInt(1) > 1 || body.path("best_of").asInt(1) > 1 || body.hasNonNull("tools")
                || body.hasNonNull("functions") || body.hasNonNull("tool_choice") || body.path("echo").asBoolean(false)) {
            return false;
        }
        JsonNode lp = body.get("logprobs");
        if (lp != null && !lp.isNull() && !(lp.isBoolean() && !lp.asBoolean())) {
            return false;
        }
        if (body.hasNonNull("top_logprobs") || body.hasNonNull("prompt_logprobs")) {
            return false;
        }
        if (chat) {
            JsonNode m = body.get("messages");
            return m != null && m.isArray() && !m.isEmpty() && !body.path("continue_final_message").asBoolean(false);
        }
        JsonNode p = body.get("prompt");
        return p != null && (p.isTextual() || (p.isArray() && p.size() == 1 && p.get(0).isTextual()));
    }

    /** The first backend's body. */
    void start(Flow.Publisher<BodyChunk> body) {
        subscribeUpstream(body);
    }

    @Override
    public void subscribe(Flow.Subscriber<? super BodyChunk> subscriber) {
        synchronized (this) {
            downstream = subscriber;
        }
        subscriber.onSubscribe(new Flow.Subscription() {
            @Override
            public void request(long n) {
                Flow.Subscription s = null;
                synchronized (ResumableStream.this) {
                    if (n <= 0 || cancelled || finished) {
                        return;
                    }
                    demand = demand + n < 0 ? Long.MAX_VALUE : demand + n;
                    if (!upstreamAsked && upstream != null && !resuming) {
                        upstreamAsked = true;
                        s = upstream;
                    }
                }
                if (s != null) {
                    s.request(1);
                }
            }

            @Override
            public void cancel() {
                Flow.Subscription s;
                synchronized (ResumableStream.this) {
                    cancelled = true;
                    s = upstream;
                }
                if (s != null) {
                    s.cancel();
                }
            }
        });
    }

    private void subscribeUpstream(Flow.Publisher<BodyChunk> body) {
        int gen;
        synchronized (this) {
            gen = ++generation;
            upstreamAsked = false;
            pending.reset();
        }
        body.subscribe(new Flow.Subscriber<>() {
            @Override
            public void onSubscribe(Flow.Subscription s) {
                boolean ask;
                synchronized (ResumableStream.this) {
                    if (gen != generation || cancelled) {
                        ask = false;
                    } else {
                        upstream = s;
                        resuming = false;
                        ask = demand > 0 && !upstreamAsked;
                        upstreamAsked |= ask;
                    }
                }
                if (gen != generation || cancelled()) {
                    s.cancel();
                } else if (ask) {
                    s.request(1);
                }
            }

            @Override
            public void onNext(BodyChunk item) {
                if (gen == generation()) {
                    chunk(item);
                } else {
                    item.release();
                }
            }

            @Override
            public void onError(Throwable t) {
                if (gen == generation()) {
                    upstreamFailed(t);
                }
            }

            @Override
            public void onComplete() {
                if (gen != generation()) {
                    return;
                }
                if (doneSent()) {
                    finish(null);
                } else {
                    upstreamFailed(new IOException("the backend ended the stream before data: [DONE]"));
                }
            }
        });
    }

    private synchronized int generation() {
        return generation;
    }

    private synchronized boolean cancelled() {
        return cancelled;
    }

    private synchronized boolean doneSent() {
        return splice.doneSent();
    }

    /**
     * One upstream chunk: its complete events go on as one item; a partial event waits. The chunk's
     * bytes are copied (events are rewritten here), so it is released at once.
     */
    private void chunk(BodyChunk item) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Flow.Subscriber<? super BodyChunk> d;
        Flow.Subscription askMore = null;
        synchronized (this) {
            try {
                for (ByteBuffer b : item.buffers()) {
                    byte[] a = new byte[b.remaining()];
                    b.get(a);
                    pending.write(a, 0, a.length);
                }
            } finally {
                item.release();
            }
            byte[] buf = pending.toByteArray();
            int from = 0;
            int end;
            while ((end = indexOf(buf, from)) >= 0) {
                byte[] event = splice.event(new String(buf, from, end - from, StandardCharsets.UTF_8));
                if (event != null) {
                    out.write(event, 0, event.length);
                }
                from = end + 2;
            }
            pending.reset();
            pending.write(buf, from, buf.length - from);
            d = downstream;
            upstreamAsked = false;
            if (out.size() > 0) {
                demand--;
            }
            if ((demand > 0 || out.size() == 0) && !cancelled && upstream != null) {
                upstreamAsked = true;
                askMore = upstream;
            }
        }
        if (out.size() > 0 && d != null) {
            d.onNext(BodyChunk.of(ByteBuffer.wrap(out.toByteArray())));
        }
        if (askMore != null) {
            askMore.request(1);
        }
    }

    private static int indexOf(byte[] buf, int from) {
        for (int i = from; i + 1 < buf.length; i++) {
            if (buf[i] == '\n' && buf[i + 1] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private void upstreamFailed(Throwable t) {
        byte[] body;
        synchronized (this) {
            if (cancelled || finished) {
                return;
            }
            resuming = true;
            upstream = null;
            upstreamAsked = false;
            body = splice.continuationBody(request);
        }
        if (body == null || !resumer.resume(body, t)) {
            finish(t);
        }
    }

    /** The next backend answered: its body continues the stream. */
    void resumed(Flow.Publisher<BodyChunk> body) {
        subscribeUpstream(body);
    }

    /** No continuation could be had: the caller sees {@code cause}. */
    void giveUp(Throwable cause) {
        finish(cause);
    }

    private void finish(Throwable error) {
        Flow.Subscriber<? super BodyChunk> d;
        synchronized (this) {
            if (finished) {
                return;
            }
            finished = true;
            d = downstream;
        }
        if (d == null) {
            return;
        }
        if (error == null) {
            d.onComplete();
        } else {
            d.onError(error);
        }
    }
}
