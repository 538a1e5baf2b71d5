package io.vllmrouter.examples.server;

import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.transport.UpstreamResponse;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Flow;
import java.util.concurrent.TimeUnit;

/** For transport tests: requests read off a raw socket by a test backend, and a response's body read whole. */
public final class RawHttp {

    private RawHttp() {
    }

    /**
     * A request's line and headers read byte by byte up to its blank line; null when the connection
     * ends before its first byte.
     *
     * @throws EOFException when the connection ends within the head
     */
    public static String readHead(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (!b.toString().endsWith("\r\n\r\n")) {
            int c = in.read();
            if (c < 0) {
                if (b.length() == 0) {
                    return null;
                }
                throw new EOFException("closed before the end of a head");
            }
            b.append((char) c);
        }
        return b.toString();
    }

    /** The head's {@code Content-Length}, 0 when it has none. */
    public static int contentLength(String head) {
        for (String line : head.split("\r\n")) {
            if (line.regionMatches(true, 0, "content-length:", 0, 15)) {
                return Integer.parseInt(line.substring(15).trim());
            }
        }
        return 0;
    }

    /**
     * A response's whole body as UTF-8, asked for one chunk at a time, each released once read.
     *
     * @throws java.util.concurrent.ExecutionException when the body fails (its cause is the failure)
     */
    public static String readBody(UpstreamResponse r) throws Exception {
        CompletableFuture<String> done = new CompletableFuture<>();
        r.body().subscribe(new Flow.Subscriber<>() {
            final ByteArrayOutputStream out = new ByteArrayOutputStream();
            Flow.Subscription s;

            @Override public void onSubscribe(Flow.Subscription s) {
                this.s = s;
                s.request(1);
            }

            @Override public void onNext(BodyChunk item) {
                for (ByteBuffer b : item.buffers()) {
                    byte[] a = new byte[b.remaining()];
                    b.get(a);
                    out.writeBytes(a);
                }
                item.release();
                s.request(1);
            }

            @Override public void onError(Throwable t) {
                done.completeExceptionally(t);
            }

            @Override public void onComplete() {
                done.complete(out.toString(StandardCharsets.UTF_8));
            }
        });
        return done.get(20, TimeUnit.SECONDS);
    }
}
