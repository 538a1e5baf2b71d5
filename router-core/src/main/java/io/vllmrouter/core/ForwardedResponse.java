package io.vllmrouter.core;

import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.RouterResponse;
import java.io.InputStream;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Flow;

/** A backend's answer on its way to the caller; the body streams from {@link StreamingBody}. */
final class ForwardedResponse implements RouterResponse {

    private final long contentLength;
    private final int status;
    private final Map<String, List<String>> headers;
    private final StreamingBody body;
    private final String backendId;
    private final int attempts;
    private final String requestId;

    ForwardedResponse(int status, Map<String, List<String>> headers, long contentLength, StreamingBody body,
                      String backendId, int attempts, String requestId) {
        this.contentLength = contentLength;
        this.status = status;
        this.headers = headers;
        this.body = body;
        this.backendId = backendId;
        this.attempts = attempts;
        this.requestId = requestId;
    }

    @Override public int status() { return status; }
    @Override public Map<String, List<String>> headers() { return headers; }
    @Override public long contentLength() { return contentLength; }
    @Override public InputStream body() { return body; }
    @Override public Flow.Publisher<BodyChunk> bodyPublisher() { return body.publisher(); }
    @Override public String backendId() { return backendId; }
    @Override public int attempts() { return attempts; }
    @Override public String requestId() { return requestId; }

    @Override
    public void close() {
        body.close();
    }

    @Override
    public String toString() {
        return "RouterResponse[" + status + " from " + backendId + ", attempts=" + attempts + ", id=" + requestId + "]";
    }
}
