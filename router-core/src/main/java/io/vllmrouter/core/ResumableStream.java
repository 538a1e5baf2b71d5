package io.vllmrouter.core;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.RouterRequest;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Flow;

/**
 * A streamed chat or text completion that survives its backend failing mid-answer
 * ({@code stream_failover}): a publisher between the backends' SSE bodies and the caller's
 * {@link StreamingBody}.
 *
 * <pre>{@code
 * ResumableStream s = ResumableStream.forRequest(settings, request, info, resumer); // null: not resumable
 * byte[] sent = s.body();      // the request as sent upstream: continuous usage asked for
 * s.subscribe(callerBody);
 * s.start(firstBackendBody);   // later, on failure: resumer.resume(...), then s.resumed(next) or s.giveUp(why)
 * }</pre>
 *
 * <p>Events pass on one by one as they complete ({@link SseParser}, one pass over a buffer of at
 * most one event, {@link SseParser#MAX_EVENT_BYTES}): a partial event is held until its end, so a cut
 * never leaves half an event with the caller. {@link SseSplice} notes what they carry. When the
 * backend fails before the answer is complete — a reset, the end of the body, an in-band error event
 * (not passed on), an event too long to hold — it asks its {@link Resumer} for a continuation: the
 * request re-sent with the text and reasoning so far and the token limits reduced by the tokens
 * produced, on another backend, whose events are spliced into the same stream. An answer whose
 * {@code [DONE]} or final {@code finish_reason} was passed on is complete: if its backend then goes
 * away, the caller gets the rest of the end ({@code [DONE]}, and the usage chunk it asked for) and
 * nothing is generated again. When it cannot resume, the caller sees the failure.
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

        /** The caller left while a continuation was being started: stop it (its call, its first-token wait). */
        default void callerLeft() {
        }
    }

    /** Request keys whose output a continuation cannot honour (structured outputs, several answers, tools, token details). */
    private static final List<String> NEVER = List.of("tools", "functions", "tool_choice", "top_logprobs",
            "prompt_logprobs", "structured_outputs", "prompt_embeds");

    private final ObjectNode request;
    private final byte[] body;
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
    private SseParser parser = new SseParser(true);

    /** What the caller has seen, and the rewriting of a continuation's events. */
    private final SseSplice splice;

    private ResumableStream(ObjectNode request, boolean chat, Resumer resumer) throws IOException {
        JsonNode options = request.get("stream_options");
        // vLLM's reading: stream_options present means include_usage unless it says false.
        boolean usage = options != null && options.isObject()
                && (!options.has("include_usage") || options.get("include_usage").asBoolean(false));
        boolean continuous = usage && options.path("continuous_usage_stats").asBoolean(false);
        this.splice = new SseSplice(chat, usage, continuous);
        ObjectNode asked = request.putObject("stream_options");
        asked.put("include_usage", true);
        asked.put("continuous_usage_stats", true);
        this.request = request;
        this.body = RouterJson.mapper().writeValueAsBytes(request);
        this.resumer = Objects.requireNonNull(resumer, "resumer");
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
     * Whether a request can be resumed (docs/resilience.md): a streamed chat or text completion
     * without tools, several choices, log probabilities, echo, beam search, token-array prompts or
     * structured output ({@code response_format} other than text, {@code structured_outputs},
     * {@code guided_*}: a continuation would restart the grammar mid-output).
     */
    static boolean eligible(JsonNode body, boolean chat) {
        if (!(body instanceof ObjectNode o) || !o.path("stream").asBoolean(false)) {
            return false;
        }
        if (o.path("n").asInt(1) > 1 || o.path("best_of").asInt(1) > 1 || o.path("echo").asBoolean(false)
                || o.path("use_beam_search").asBoolean(false)) {
            return false;
        }
        for (String key : NEVER) {
            if (o.hasNonNull(key)) {
                return false;
            }
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            if (e.getKey().startsWith("guided_") && !e.getValue().isNull()) {
                return false;
            }
        }
        JsonNode format = o.get("response_format");
        if (format != null && !format.isNull() && !"text".equals(format.path("type").asText())) {
            return false;
        }
        JsonNode lp = o.get("logprobs");
        if (lp != null && !lp.isNull() && !(lp.isBoolean() && !lp.asBoolean())) {
            return false;
        }
        if (chat) {
            JsonNode m = o.get("messages");
            return m != null && m.isArray() && !m.isEmpty() && !o.path("continue_final_message").asBoolean(false);
        }
        JsonNode p = o.get("prompt");
        return p != null && (p.isTextual() || (p.isArray() && p.size() == 1 && p.get(0).isTextual()));
    }

    /** The request to send upstream: the caller's, asking for usage in every chunk (to count tokens exactly). */
    byte[] body() {
        return body;
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
                boolean continuing;
                synchronized (ResumableStream.this) {
                    cancelled = true;
                    s = upstream;
                    continuing = resuming;
                }
                if (s != null) {
                    s.cancel();
                } else if (continuing) {
                    resumer.callerLeft(); // no body to cancel yet: the continuation's call is
                }
            }
        });
    }

    private void subscribeUpstream(Flow.Publisher<BodyChunk> body) {
        int gen;
        synchronized (this) {
            gen = ++generation;
            upstreamAsked = false;
            parser = new SseParser(true);
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
                    item.release(); // a body given up: its chunks are dropped
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
                if (gen == generation()) {
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

    /**
     * Whether the stream's reader cancelled it (the caller left, or its deadline passed): no
     * continuation is wanted any more.
     */
    boolean abandoned() {
        return cancelled();
    }

    /**
     * One upstream chunk: its complete events go on as one item; a partial event waits. The chunk's
     * bytes are read here (events are rewritten), so it is released at once.
     */
    private void chunk(BodyChunk item) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Flow.Subscriber<? super BodyChunk> d;
        Flow.Subscription askMore = null;
        Flow.Subscription failed = null;
        IOException[] failure = {null};
        synchronized (this) {
            SseParser p = parser;
            for (ByteBuffer b : item.buffers()) {
                try {
                    p.scan(b, (kind, end) -> {
                        try {
                            byte[] event = splice.event(kind, p.raw(), p.data());
                            if (event != null) {
                                out.write(event, 0, event.length);
                            }
                            return true;
                        } catch (InBandError e) {
                            failure[0] = e;
                            return false;
                        }
                    });
                } catch (SseParser.EventTooLarge e) {
                    failure[0] = e;
                }
                if (failure[0] != null) {
                    break;
                }
            }
            item.release();
            d = downstream;
            upstreamAsked = false;
            if (out.size() > 0) {
                demand--;
            }
            if (failure[0] != null) {
                generation++;       // the cancel's echo from this body is ignored
                failed = upstream;
            } else if ((demand > 0 || out.size() == 0) && !cancelled && upstream != null) {
                upstreamAsked = true;
                askMore = upstream;
            }
        }
        if (out.size() > 0 && d != null) {
            d.onNext(BodyChunk.of(ByteBuffer.wrap(out.toByteArray())));
        }
        if (failed != null) {
            failed.cancel();
            upstreamFailed(failure[0]);
        } else if (askMore != null) {
            askMore.request(1);
        }
    }

    private void upstreamFailed(Throwable t) {
        byte[] body;
        byte[] tail = null;
        synchronized (this) {
            if (cancelled || finished || resuming) {
                return;
            }
            generation++;           // later signals of this body are ignored
            upstream = null;
            upstreamAsked = false;
            if (splice.complete()) {
                tail = splice.tail();
                body = null;
            } else {
                resuming = true;
                body = splice.continuationBody(request);
            }
        }
        if (tail != null) {
            end(tail);
            return;
        }
        if (body == null || !resumer.resume(body, t)) {
            finish(t);
        }
    }

    /** A complete answer's backend went away: the caller gets the end it is owed, then a normal end. */
    private void end(byte[] tail) {
        Flow.Subscriber<? super BodyChunk> d;
        synchronized (this) {
            d = downstream;
        }
        if (tail.length > 0 && d != null) {
            d.onNext(BodyChunk.of(ByteBuffer.wrap(tail)));
        }
        finish(null);
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
        } else if (error instanceof io.vllmrouter.api.InBandErrorException) {
            // The splice held the backend's error event back for a continuation that did not come:
            // the caller has not seen it, so the failure must not say it has (a host adds its own).
            d.onError(new IOException(error.getMessage(), error));
        } else {
            d.onError(error);
        }
    }
}
