package io.vllmrouter.core;

import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.spi.RequestSize;

/**
 * What routing needs from a request: the top-level {@code model}, {@code stream} and {@code user}
 * fields of its JSON body ({@link BodyFields}; the body is never re-serialised), the
 * affinity key ({@code user}, else the session header, {@value #SESSION_HEADER} by default), its
 * {@link RequestSize} (the body's length and its answer-token limit) and, only when a strategy asks,
 * the prompt's block hashes ({@link PromptHashes}) and tokens ({@link RequestTokens}).
 *
 * <p>A {@code multipart/form-data} body (vLLM's audio uploads) routes by its {@code model} and
 * {@code stream} form fields ({@link MultipartFields}: the upload itself is neither parsed nor
 * copied). Other bodies whose {@code Content-Type} is set and not JSON are not parsed: they route as
 * "any model".
 */
record RequestInfo(String model, boolean stream, String affinityKey, PromptHashes prompt, RequestTokens tokens,
                   RequestSize size) {

    static final String SESSION_HEADER = "X-Session-Id";

    RequestInfo(String model, boolean stream, String affinityKey) {
        this(model, stream, affinityKey, PromptHashes.NONE, RequestTokens.NONE, RequestSize.UNKNOWN);
    }

    RequestInfo(String model, boolean stream, String affinityKey, PromptHashes prompt) {
        this(model, stream, affinityKey, prompt, RequestTokens.NONE, RequestSize.UNKNOWN);
    }

    static RequestInfo of(RouterRequest request) {
        return of(request, SESSION_HEADER);
    }

    static RequestInfo of(RouterRequest request, String sessionHeader) {
        byte[] body = request.body();
        String session = sessionHeader == null ? null : request.header(sessionHeader);
        String contentType = request.header("Content-Type");
        if (body.length > 0 && MultipartFields.isForm(contentType)) {
            MultipartFields.Fields form = MultipartFields.read(body, contentType);
            return new RequestInfo(form.model(), form.stream(), session);
        }
        if (body.length == 0 || !isJson(contentType)) {
            return new RequestInfo(null, false, session);
        }
        BodyFields f = BodyFields.of(body);
        return new RequestInfo(f.model, f.stream, f.user != null ? f.user : session, new PromptHashes(body, f.model),
                new RequestTokens(body, f.model), RequestSize.of(body.length, f.answerTokens()));
    }

    /** No type, or one that names JSON in any case ({@code application/json}, {@code application/vnd.x+JSON}). */
    static boolean isJson(String contentType) {
        if (contentType == null) {
            return true;
        }
        for (int i = 0, last = contentType.length() - 4; i <= last; i++) {
            // a J first, then the rest: one comparison per character, not a region per position
            if ((contentType.charAt(i) | 0x20) == 'j' && contentType.regionMatches(true, i + 1, "son", 0, 3)) {
                return true;
            }
        }
        return false;
    }
}
