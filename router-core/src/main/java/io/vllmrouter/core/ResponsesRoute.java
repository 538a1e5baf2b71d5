package io.vllmrouter.core;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.BodyChunk;
import io.vllmrouter.api.transport.UpstreamResponse;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.Flow;

/**
 * Where a Responses API request must go. vLLM keeps each stored response in the server process
 * that created it ({@code serving_responses.py}: an in-memory store, {@code VLLM_ENABLE_RESPONSES_API_STORE=1}),
 * so every request that names a response is served by that server:
 * {@code GET /v1/responses/{id}}, {@code DELETE /v1/responses/{id}},
 * {@code POST /v1/responses/{id}/cancel}, {@code GET /v1/responses/{id}/input_items}, and a
 * {@code POST /v1/responses} whose body names a {@code previous_response_id}.
 *
 * <pre>{@code
 * ResponsesRoute route = ResponsesRoute.of(request, affinity);     // null: not about a stored response
 * candidates = route.candidates(candidates);                       // the holder alone, when known
 * }</pre>
 *
 * <p>When the holder is known ({@link ResponsesAffinity}) and admitted, it is the only candidate.
 * When it is not (the response was created through another router replica, or was forgotten), the
 * candidate servers are asked in turn: a 404 from one is not an answer but "not here", it is not
 * held against that server and the next one is asked, until one answers otherwise or none is left
 * (then the last 404 goes back). A server found so is remembered. A create ({@code POST
 * /v1/responses}) whose answer is a success hands its body to {@link ResponseIdTap}, which learns
 * the new id from it, unless the request said {@code "store": false}.
 *
 * <p>One per request; its methods run on the request's attempt callbacks, one after another.
 */
final class ResponsesRoute {

    static final String PATH = "/v1/responses";

    private final ResponsesAffinity affinity;
    /** The response the request names (path or {@code previous_response_id}), or null. */
    private final String named;
    /** A create whose answer carries a new response id worth remembering. */
    private final boolean learnsNewId;
    /** Whether the named response's server was unknown: the request looks for it. */
    private boolean lookingUp;

    private ResponsesRoute(ResponsesAffinity affinity, String named, boolean learnsNewId) {
        this.affinity = affinity;
        this.named = named;
        this.learnsNewId = learnsNewId;
    }

    /** The route of {@code r}, or null when it is not a Responses API request about a stored response. */
    static ResponsesRoute of(RouterRequest r, ResponsesAffinity affinity) {
        String path = r.path();
        if (!path.startsWith(PATH)) {
            return null;
        }
        int query = path.indexOf('?');
        String p = query < 0 ? path : path.substring(0, query);
        if (p.equals(PATH)) {
            if (!r.method().equals("POST")) {
                return null;
            }
            Create c = create(r.body());
            return c.previous == null && !c.store ? null : new ResponsesRoute(affinity, c.previous, c.store);
        }
        if (p.length() <= PATH.length() + 1 || p.charAt(PATH.length()) != '/') {
            return null;
        }
        String rest = p.substring(PATH.length() + 1);
        int slash = rest.indexOf('/');
        String id = slash < 0 ? rest : rest.substring(0, slash);
        String sub = slash < 0 ? "" : rest.substring(slash);
        if (id.isEmpty() || !(sub.isEmpty() || sub.equals("/cancel") || sub.equals("/input_items"))) {
            return null;
        }
        return new ResponsesRoute(affinity, decode(id), false);
    }

    /**
     * {@code candidates} narrowed to the named response's server when it is known and among them;
     * otherwise all of them, and the request looks the response up.
     */
    List<Backend> candidates(List<Backend> candidates) {
        if (named == null) {
            return candidates;
        }
        String holder = affinity.serverOf(named);
        if (holder != null) {
            for (Backend b : candidates) {
                if (b.id().equals(holder)) {
                    lookingUp = false;
                    return List.of(b);
                }
            }
        }
        lookingUp = true;
        return candidates;
    }

    /**
     * Whether attempt {@code a}'s answer means "not on this server, ask the next": a 404 while looking
     * the response up, with a candidate not asked yet in {@code candidates}. Then the answer is
     * dropped and the attempt ends as a success (the server answered as it should).
     */
    boolean notHere(Attempt a, UpstreamResponse resp, List<Backend> candidates, Failures failures) {
        if (resp.status() != 404 || !lookingUp) {
            return false;
        }
        for (Backend c : candidates) {
            if (!failures.tried(c)) {
                resp.body().subscribe(StreamingBody.DISCARD);
                a.end(Attempt.Result.SUCCESS, null);
                return true;
            }
        }
        return false;
    }

    /**
     * {@code b} answered {@code resp}, whose body goes on as {@code body}: a success remembers that
     * {@code b} holds the named response, and a create's body is watched for the new id. Returns the
     * body to pass on.
     */
    Flow.Publisher<BodyChunk> answered(Backend b, UpstreamResponse resp, Flow.Publisher<BodyChunk> body) {
        int status = resp.status();
        if (status < 200 || status >= 300) {
            return body;
        }
        if (named != null && lookingUp) {
            affinity.learned(named, b.id());
        }
        if (!learnsNewId) {
            return body;
        }
        return new ResponseIdTap(body, Headers.isEventStream(resp.headers()), id -> affinity.learned(id, b.id()));
    }

    /** The fields of a create that matter here. */
    private record Create(String previous, boolean store) {
    }

    /**
     * {@code previous_response_id} and {@code store} (vLLM's default: true) of a create's top level;
     * a body that is not a JSON object gives neither (the server answers it).
     */
    private static Create create(byte[] body) {
        String previous = null;
        boolean store = true;
        try (JsonParser p = RouterJson.factory().createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return new Create(null, false);
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (name.equals("previous_response_id") && v == JsonToken.VALUE_STRING) {
                    previous = p.getText();
                } else if (name.equals("store") && (v == JsonToken.VALUE_FALSE || v == JsonToken.VALUE_TRUE)) {
                    store = v == JsonToken.VALUE_TRUE;
                } else {
                    p.skipChildren();
                }
            }
        } catch (IOException e) {
            return new Create(previous, false);
        }
        return new Create(previous, store);
    }

    /** A path segment with its %XX escapes decoded; as it is when they are malformed. */
    private static String decode(String segment) {
        if (segment.indexOf('%') < 0) {
            return segment;
        }
        try {
            return java.net.URLDecoder.decode(segment.replace("+", "%2B"), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IllegalArgumentException malformed) {
            return segment;
        }
    }
}
