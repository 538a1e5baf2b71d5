package io.vllmrouter.core;

import io.vllmrouter.api.transport.Transport;
import io.vllmrouter.api.transport.UpstreamRequest;
import io.vllmrouter.api.transport.UpstreamResponse;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

/**
 * A {@link Transport} for tests: answers per backend host as the test scripted it, and records
 * every request it was asked to send. Thread-safe.
 */
final class ScriptedTransport implements Transport {

    final Map<String, Function<UpstreamRequest, CompletableFuture<UpstreamResponse>>> answers =
            new ConcurrentHashMap<>();
    final List<UpstreamRequest> sent = new CopyOnWriteArrayList<>();

    /** How requests to the backend at {@code base} are answered. */
    void answer(String base, Function<UpstreamRequest, CompletableFuture<UpstreamResponse>> f) {
        answers.put(URI.create(base).getHost(), f);
    }

    @Override
    public CompletableFuture<UpstreamResponse> send(UpstreamRequest request) {
        sent.add(request);
        return answers.get(request.uri().getHost()).apply(request);
    }

    @Override
    public void close() {
    }
}
