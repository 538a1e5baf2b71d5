package io.vllmrouter.core;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.async.ByteArrayFeeder;
import java.io.IOException;
import io.vllmrouter.api.BodyChunk;
import java.nio.ByteBuffer;
import java.util.concurrent.Flow;
import java.util.function.Consumer;

/**
 * Passes a {@code POST /v1/responses} answer through unchanged while reading the new response's id
 * from its first bytes: the top-level {@code id} of a JSON answer (vLLM's {@code ResponsesResponse},
 * {@code background} ones included, puts it first), or {@code response.id} of the first event of a
 * stream ({@code event: response.created}).
 *
 * <p>Each chunk is read in place (a duplicate of its buffers) before it goes on, at most
 * {@value #BUDGET} bytes in all, then nothing more: after the id, after a stream's first event, or
 * at the first byte that is not what vLLM writes, the tap is a plain pass-through. Chunks, demand,
 * cancellation and the end pass as they are; the bytes read are copied into the JSON reader only.
 *
 * <p>Threads: the upstream publisher calls {@code onNext} serially; {@code learned} runs there.
 */
final class ResponseIdTap implements Flow.Publisher<BodyChunk> {

    /** Bytes read at most before giving up. */
    static final int BUDGET = 64 * 1024;

    private final Flow.Publisher<BodyChunk> upstream;
    private final boolean eventStream;
    private final Consumer<String> learned;

    ResponseIdTap(Flow.Publisher<BodyChunk> upstream, boolean eventStream, Consumer<String> learned) {
        this.upstream = upstream;
        this.eventStream = eventStream;
        this.learned = learned;
    }

    @Override
    public void subscribe(Flow.Subscriber<? super BodyChunk> downstream) {
        upstream.subscribe(new Flow.Subscriber<>() {
            private final Reader reader = new Reader();

            @Override
            public void onSubscribe(Flow.Subscription s) {
                downstream.onSubscribe(s);
            }

            @Override
            public void onNext(BodyChunk item) {
                if (!reader.done) {
                    for (ByteBuffer b : item.buffers()) {
                        reader.read(b.duplicate());
                    }
                }
                downstream.onNext(item);
            }

            @Override
            public void onError(Throwable t) {
                downstream.onError(t);
            }

            @Override
            public void onComplete() {
                downstream.onComplete();
            }
        });
    }

    /** The scan of one answer's first bytes. */
    private final class Reader {
        private final JsonParser json;
        private boolean done;
        private int budget = BUDGET;
        private int depth;
        private String topField;
        // a stream: the line being read, whether it is a data line, whether the event has had data
        private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream(256);
        private boolean sawData;

        Reader() {
            JsonParser p;
            try {
                p = RouterJson.factory().createNonBlockingByteArrayParser();
            } catch (IOException e) {
                p = null;
            }
            json = p;
            done = p == null;
        }

        void read(ByteBuffer b) {
            int n = Math.min(b.remaining(), budget);
            budget -= n;
            byte[] bytes = new byte[n];
            b.get(bytes);
            if (eventStream) {
                streamBytes(bytes);
            } else {
                feed(bytes, 0, n);
            }
            if (budget == 0) {
                done = true;
            }
        }

        /** SSE: the data lines of the first event go to the JSON reader; a blank line ends the event. */
        private void streamBytes(byte[] bytes) {
            for (int i = 0; i < bytes.length && !done; i++) {
                byte c = bytes[i];
                if (c != '\n') {
                    line.write(c);
                    continue;
                }
                byte[] l = line.toByteArray();
                int len = l.length > 0 && l[l.length - 1] == '\r' ? l.length - 1 : l.length;
                line.reset();
                if (len == 0) {
                    done |= sawData;                  // the first event is over
                } else if (len >= 5 && l[0] == 'd' && l[1] == 'a' && l[2] == 't' && l[3] == 'a' && l[4] == ':') {
                    int from = len > 5 && l[5] == ' ' ? 6 : 5;
                    sawData = true;
                    feed(l, from, len);
                    feed(new byte[] {'\n'}, 0, 1);
                }
            }
        }

        private void feed(byte[] bytes, int from, int to) {
            if (done || from >= to) {
                return;
            }
            try {
                ((ByteArrayFeeder) json.getNonBlockingInputFeeder()).feedInput(bytes, from, to);
                JsonToken t;
                while (!done && (t = json.nextToken()) != null && t != JsonToken.NOT_AVAILABLE) {
                    token(t);
                }
            } catch (IOException | RuntimeException notVllmsAnswer) {
                done = true;
            }
        }

        private void token(JsonToken t) throws IOException {
            switch (t) {
                case START_OBJECT, START_ARRAY -> depth++;
                case END_OBJECT, END_ARRAY -> {
                    if (--depth == 0) {
                        done = true;                  // the whole object read, no id in it
                    }
                }
                case FIELD_NAME -> {
                    if (depth == 1) {
                        topField = json.currentName();
                    }
                }
                case VALUE_STRING -> {
                    boolean id = "id".equals(json.currentName());
                    if (id && (eventStream ? depth == 2 && "response".equals(topField) : depth == 1)) {
                        done = true;
                        learned.accept(json.getText());
                    }
                }
                default -> {
                }
            }
        }
    }
}
