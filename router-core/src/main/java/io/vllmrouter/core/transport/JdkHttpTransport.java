package io.vllmrouter.core.transport;

import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.HeaderMap;
import io.vllmrouter.api.transport.Transport;
import io.vllmrouter.api.transport.TransportException;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import java.io.IOException;
import java.net.ConnectException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The built-in {@link Transport}, on {@code java.net.http}: one shared {@link HttpClient} (HTTP/1.1,
 * keep-alive pool), bodies through {@code BodyHandlers.ofPublisher()} so bytes stream with demand.
 *
 * <pre>{@code
 * Transport transport = JdkHttpTransport.create(Duration.ofSeconds(5));   // owns its threads
 * Transport shared = new JdkHttpTransport(myHttpClient);                  // the host's client
 * }</pre>
 *
 * <p>Futures and body signals complete on the client's executor. Headers the JDK client refuses to
 * set (it writes {@code Date} and a few others itself on some versions) are left to the client.
 * Thread-safe.
 */
public final class JdkHttpTransport implements Transport {

    private final HttpClient client;
    /** The executor this transport made for its client, shut down on close; null for a given client. */
    private final ExecutorService ownedExecutor;

    /** A transport on the host's client, which it keeps owning (close does not touch it). */
    public JdkHttpTransport(HttpClient client) {
        this(Objects.requireNonNull(client, "client"), null);
    }

    private JdkHttpTransport(HttpClient client, ExecutorService ownedExecutor) {
        this.client = client;
        this.ownedExecutor = ownedExecutor;
    }

    /**
     * A transport with its own client: HTTP/1.1, no redirects, {@code connectTimeout}, a cached pool
     * of daemon threads ({@code vllm-router-client-N}) that {@link #close} shuts down.
     */
    public static JdkHttpTransport create(Duration connectTimeout) {
        Objects.requireNonNull(connectTimeout, "connectTimeout");
        AtomicInteger n = new AtomicInteger();
        ExecutorService executor = Executors.newCachedThreadPool(r -> {
            Thread th = new Thread(r, "vllm-router-client-" + n.incrementAndGet());
            th.setDaemon(true);
            return th;
        });
        HttpClient client = HttpClient.newBuilder()
                .version(HttpClient.Version.HTTP_1_1)
                .connectTimeout(connectTimeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .executor(executor)
                .build();
        return new JdkHttpTransport(client, executor);
    }

    /** The client requests go through; background probes may share it. */
    public HttpClient client() {
        return client;
    }

    @Override
    public CompletableFuture<UpstreamResponse> send(UpstreamRequest request) {
        HttpRequest httpRequest;
        try {
            httpRequest = toHttpRequest(request);
        } catch (IllegalArgumentException e) {
            return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.PROTOCOL,
                    "cannot send " + request + ": " + e.getMessage(), e));
        }
        CompletableFuture<HttpResponse<Flow.Publisher<List<ByteBuffer>>>> exchange =
                client.sendAsync(httpRequest, HttpResponse.BodyHandlers.ofPublisher());
        CompletableFuture<UpstreamResponse> result = new CompletableFuture<>();
        exchange.whenComplete((response, error) -> {
            if (error == null) {
                result.complete(UpstreamResponse.of(response.statusCode(), HeaderMap.copyOf(response.headers().map()),
                        chunks(response.body())));
            } else {
                result.completeExceptionally(map(request, unwrap(error)));
            }
        });
        result.whenComplete((r, error) -> {
            if (error instanceof CancellationException) {
                exchange.cancel(true);
            }
        });
        return result;
    }

    private static HttpRequest toHttpRequest(UpstreamRequest request) {
        HttpRequest.Builder rb = HttpRequest.newBuilder(request.uri());
        byte[] body = request.body();
        rb.method(request.method(), body.length == 0 ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofByteArray(body));
        for (Map.Entry<String, List<String>> e : request.headers().entrySet()) {
            for (String v : e.getValue()) {
                try {
                    rb.header(e.getKey(), v);
                } catch (IllegalArgumentException restricted) {
                    // a header the JDK client sets itself: it sends its own
                }
            }
        }
        return rb.build();
    }

    /** The JDK's exceptions as the router's kinds; a cancellation stays a cancellation. */
    private static Throwable map(UpstreamRequest request, Throwable t) {
        if (t instanceof CancellationException || t instanceof TransportException) {
            return t;
        }
        String what = request.method() + " " + request.uri() + ": " + TransportException.describe(t);
        if (t instanceof HttpConnectTimeoutException || t instanceof ConnectException
                || t.getCause() instanceof ConnectException) {
            return new TransportException(TransportException.Kind.CONNECT, what, t);
        }
        if (t instanceof HttpTimeoutException) {
            return new TransportException(TransportException.Kind.TIMEOUT, what, t);
        }
        if (t instanceof IOException) {
            return new TransportException(TransportException.Kind.RESET, what, t);
        }
        return new TransportException(TransportException.Kind.PROTOCOL, what, t);
    }

    /** The client's body items as chunks: heap buffers the client does not reuse, so nothing to release. */
    private static Flow.Publisher<BodyChunk> chunks(Flow.Publisher<List<ByteBuffer>> body) {
        return subscriber -> body.subscribe(new Flow.Subscriber<>() {
            @Override public void onSubscribe(Flow.Subscription s) { subscriber.onSubscribe(s); }
            @Override public void onNext(List<ByteBuffer> item) { subscriber.onNext(BodyChunk.of(item)); }
            @Override public void onError(Throwable t) { subscriber.onError(t); }
            @Override public void onComplete() { subscriber.onComplete(); }
        });
    }

    private static Throwable unwrap(Throwable t) {
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        return t;
    }

    @Override
    public void close() {
        if (ownedExecutor != null) {
            ownedExecutor.shutdownNow();
        }
    }

    @Override
    public String toString() {
        return "JdkHttpTransport[" + client.version() + "]";
    }
}
