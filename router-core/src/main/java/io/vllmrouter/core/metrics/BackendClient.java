package io.vllmrouter.core.metrics;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.vllmrouter.api.ModelInfo;
import io.vllmrouter.api.transport.TransportException;
import java.io.IOException;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpResponse.BodyHandler;
import java.net.http.HttpResponse.BodyHandlers;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The router's calls to a backend other than forwarding: {@code /metrics}, {@code /v1/models},
 * {@code /health}.
 *
 * <pre>{@code
 * BackendClient backends = new BackendClient(sharedHttpClient);
 * backends.scrapeMetrics(URI.create("http://gpu-1:8000"), null, Duration.ofSeconds(2))
 *         .whenComplete((load, error) -> ...);
 * }</pre>
 *
 * <p>Every call is asynchronous on the shared {@link HttpClient} and never blocks the caller. Each
 * is bounded twice by {@code timeout}: {@link HttpRequest#timeout} (connect and response headers)
 * and a deadline on the whole call including the body, because the client's own timeout stops
 * at the headers and a backend that sends headers and then stalls would otherwise hold the future
 * forever. On either deadline the future fails with {@link HttpTimeoutException} and the exchange
 * is cancelled. Cancelling a returned future cancels the exchange too. So one hung backend never
 * delays another.
 *
 * <p>Failures name the method and URL. A returned future fails with the exception itself (not
 * wrapped in {@link CompletionException}): {@link HttpTimeoutException} (also
 * {@link HttpConnectTimeoutException}), {@link ConnectException}, another {@link IOException} for
 * transport errors, unexpected status and unreadable bodies, or {@link MetricsFormatException}.
 *
 * <p>Bodies are small and parsed on the thread that completes the exchange (the client's
 * executor, or the JDK's delayed-completion thread after a deadline); dependent stages of the
 * returned futures run there too, so they must not block. Thread-safe.
 */
public final class BackendClient implements BackendProbe {

    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient client;

    /** @param client the shared client; its executor completes the futures */
    public BackendClient(HttpClient client) {
        this.client = Objects.requireNonNull(client, "client");
    }

    /**
     * {@code GET base/metrics}. Completes with the figures, or exceptionally with
     * {@link java.net.http.HttpTimeoutException}, an {@link java.io.IOException} (connect error or
     * non-200 status, named in the message) or {@link MetricsFormatException}. A valid page that
     * carries none of the figures is not an error: it gives {@link LoadMetrics} with NaNs.
     *
     * @param base    the backend's base URL, http or https; a trailing slash is ignored
     * @param apiKey  sent as {@code Authorization: Bearer}; null or empty sends none
     * @param timeout bound on the whole call, &gt; 0
     */
    @Override
    public CompletableFuture<LoadMetrics> scrapeMetrics(URI base, String apiKey, Duration timeout) {
        HttpRequest request = request(base, "/metrics", apiKey, timeout, "text/plain; version=0.0.4");
        return call(request, timeout, BodyHandlers.ofString(), response -> {
            requireOk(request, response);
            return PrometheusParser.parseLoad(response.body());
        });
    }

    /**
     * {@code GET base/v1/models}: the {@code data} entries, in order, as an unmodifiable list. The
     * answer must be 200 and JSON of OpenAI's shape {@code {"object":"list","data":[{"id":...}]}};
     * otherwise the future fails with an {@link IOException} that says what was wrong.
     */
    @Override
    public CompletableFuture<List<ModelInfo>> fetchModels(URI base, String apiKey, Duration timeout) {
        HttpRequest request = request(base, "/v1/models", apiKey, timeout, "application/json");
        return call(request, timeout, BodyHandlers.ofString(), response -> {
            requireOk(request, response);
            return models(request, response.body());
        });
    }

    /**
     * {@code GET base/health}. Completes normally with the HTTP status (any status: the caller
     * judges) or exceptionally on connect errors and timeouts. The body is read and dropped.
     */
    @Override
    public CompletableFuture<Integer> checkHealth(URI base, String apiKey, Duration timeout) {
        HttpRequest request = request(base, "/health", apiKey, timeout, "*/*");
        return call(request, timeout, BodyHandlers.discarding(), HttpResponse::statusCode);
    }

    private static HttpRequest request(URI base, String path, String apiKey, Duration timeout, String accept) {
        Objects.requireNonNull(base, "base");
        Objects.requireNonNull(timeout, "timeout");
        String scheme = base.getScheme();
        if (scheme == null || !(scheme.equals("http") || scheme.equals("https")) || base.getHost() == null) {
            throw new IllegalArgumentException("base: " + base + " (expected: http:// or https:// URL with a host)");
        }
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout: " + timeout + " (expected: > 0)");
        }
        String s = base.toString();
        if (s.endsWith("/")) {
            s = s.substring(0, s.length() - 1);
        }
        HttpRequest.Builder builder = HttpRequest.newBuilder(URI.create(s + path))
                .GET()
                .timeout(timeout)
                .header("Accept", accept);
        if (apiKey != null && !apiKey.isEmpty()) {
            builder.header("Authorization", "Bearer " + apiKey);
        }
        return builder.build();
    }

    @FunctionalInterface
    private interface Reader<B, T> {
        T read(HttpResponse<B> response) throws IOException, MetricsFormatException;
    }

    private <B, T> CompletableFuture<T> call(HttpRequest request, Duration timeout, BodyHandler<B> handler,
                                             Reader<B, T> reader) {
        CompletableFuture<HttpResponse<B>> exchange = client.sendAsync(request, handler);
        CompletableFuture<T> result = new CompletableFuture<>();
        exchange.handle((response, error) -> {
            if (error != null) {
                throw new CompletionException(transportError(request, timeout, unwrap(error)));
            }
            try {
                return reader.read(response);
            } catch (IOException | MetricsFormatException e) {
                throw new CompletionException(e);
            }
        }).orTimeout(timeout.toNanos(), TimeUnit.NANOSECONDS).whenComplete((value, error) -> {
            if (error == null) {
                result.complete(value);
                return;
            }
            Throwable cause = unwrap(error);
            if (cause instanceof TimeoutException) {
                exchange.cancel(true);
                cause = new HttpTimeoutException(describe(request) + ": no complete response within " + timeout);
            }
            result.completeExceptionally(cause);
        });
        result.whenComplete((value, error) -> {
            if (error instanceof CancellationException) {
                exchange.cancel(true);
            }
        });
        return result;
    }

    private static Throwable transportError(HttpRequest request, Duration timeout, Throwable error) {
        String what = describe(request);
        Throwable mapped;
        if (error instanceof HttpConnectTimeoutException) {
            mapped = new HttpConnectTimeoutException(what + ": connect timed out after " + timeout);
        } else if (error instanceof HttpTimeoutException) {
            mapped = new HttpTimeoutException(what + ": no response within " + timeout);
        } else if (error instanceof ConnectException) {
            // in words: "connection refused", "unknown host" (the JDK reports both as a ConnectException)
            mapped = new ConnectException(what + ": " + TransportException.describe(error));
        } else if (error instanceof IOException) {
            mapped = new IOException(what + ": " + TransportException.describe(error), error);
        } else {
            return error;
        }
        if (mapped.getCause() == null) {
            mapped.initCause(error);
        }
        return mapped;
    }

    private static Throwable unwrap(Throwable error) {
        while ((error instanceof CompletionException || error instanceof ExecutionException)
                && error.getCause() != null) {
            error = error.getCause();
        }
        return error;
    }

    private static String describe(HttpRequest request) {
        return request.method() + " " + request.uri();
    }

    private static void requireOk(HttpRequest request, HttpResponse<String> response) throws IOException {
        if (response.statusCode() != 200) {
            String body = response.body() == null ? "" : response.body().strip();
            if (body.length() > 200) {
                body = body.substring(0, 200) + "...";
            }
            throw new IOException(describe(request) + ": HTTP " + response.statusCode() + " (expected: 200)"
                    + (body.isEmpty() ? "" : ": " + body));
        }
    }

    private static List<ModelInfo> models(HttpRequest request, String body) throws IOException {
        JsonNode root;
        try {
            root = JSON.readTree(body);
        } catch (JsonProcessingException e) {
            throw new IOException(describe(request) + ": body is not JSON: " + e.getOriginalMessage(), e);
        }
        JsonNode data = root == null ? null : root.get("data");
        if (data == null || !data.isArray()) {
            throw new IOException(describe(request) + ": expected an object with a \"data\" array"
                    + " ({\"object\":\"list\",\"data\":[{\"id\":...}]}), got " + abbreviate(body));
        }
        List<ModelInfo> models = new ArrayList<>(data.size());
        for (int i = 0; i < data.size(); i++) {
            JsonNode entry = data.get(i);
            JsonNode id = entry.get("id");
            if (!(entry instanceof ObjectNode) || id == null || !id.isTextual()) {
                throw new IOException(describe(request) + ": data[" + i + "] has no string \"id\": "
                        + abbreviate(entry.toString()));
            }
            models.add(new ModelInfo(id.textValue(), entry.toString()));
        }
        return List.copyOf(models);
    }

    private static String abbreviate(String s) {
        String t = s == null ? "" : s.strip();
        if (t.isEmpty()) {
            return "an empty body";
        }
        return t.length() > 120 ? t.substring(0, 120) + "..." : t;
    }
}
