package io.vllmrouter.examples.springboot;

import io.vllmrouter.api.ModelInfo;
import io.vllmrouter.api.RouterException;
import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.RouterStats;
import io.vllmrouter.api.VllmRouter;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.StreamingResponseBody;

import jakarta.servlet.http.HttpServletRequest;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Serves OpenAI's API through the router: {@code GET /v1/models} (and one model) from the router's
 * catalogue, and forwards chat completions, completions and embeddings. The response body is copied as it arrives and
 * flushed after every read, so a stream reaches the caller event by event; when the caller goes
 * away the write fails, the router's response is closed and that cancels the upstream request.
 */
@RestController
public class CompletionsController {

    /** Response headers not passed on: the servlet container sets its own framing. */
    private static final Set<String> HOP_BY_HOP = Set.of("connection", "transfer-encoding", "content-length", "keep-alive");

    private final VllmRouter router;

    public CompletionsController(VllmRouter router) {
        this.router = router;
    }

    @PostMapping({"/v1/chat/completions", "/v1/completions", "/v1/embeddings"})
    public ResponseEntity<StreamingResponseBody> forward(HttpServletRequest http, @RequestBody byte[] body,
                                                         @RequestHeader(value = "Authorization", required = false) String auth) {
        RouterRequest.Builder request = RouterRequest.post(http.getRequestURI(), body)
                .header("Content-Type", "application/json");
        if (auth != null) {
            request.header("Authorization", auth);
        }
        RouterResponse response;
        try {
            response = router.route(request.build());
        } catch (RouterException e) {
            String json = "{\"error\":{\"message\":" + quote(e.getMessage()) + ",\"type\":" + quote(e.errorType())
                    + ",\"param\":null,\"code\":" + quote(e.errorCode()) + "}}";
            return ResponseEntity.status(e.httpStatus()).contentType(MediaType.APPLICATION_JSON)
                    .body(out -> out.write(json.getBytes(java.nio.charset.StandardCharsets.UTF_8)));
        }
        HttpHeaders headers = new HttpHeaders();
        for (Map.Entry<String, List<String>> h : response.headers().entrySet()) {
            if (h.getKey() != null && !HOP_BY_HOP.contains(h.getKey().toLowerCase(java.util.Locale.ROOT))) {
                headers.put(h.getKey(), h.getValue());
            }
        }
        headers.set("X-Vllm-Router-Backend", response.backendId());
        StreamingResponseBody copy = out -> relay(response, out);
        return new ResponseEntity<>(copy, headers, HttpStatus.valueOf(response.status()));
    }

    /**
     * The models the eligible servers serve, in OpenAI's list shape (each model once, its server's own
     * entry): OpenAI clients and tools list models before they call one.
     */
    @GetMapping("/v1/models")
    public ResponseEntity<String> models() {
        StringBuilder data = new StringBuilder();
        Set<String> seen = new java.util.HashSet<>();
        for (ModelInfo m : router.models()) {
            if (seen.add(m.id())) {
                data.append(data.length() == 0 ? "" : ",").append(m.json());
            }
        }
        return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON)
                .body("{\"object\":\"list\",\"data\":[" + data + "]}");
    }

    /** One model's entry, or 404 in OpenAI's error shape when no eligible server serves it. */
    @GetMapping("/v1/models/{id}")
    public ResponseEntity<String> model(@PathVariable("id") String id) {
        for (ModelInfo m : router.models()) {
            if (m.id().equals(id)) {
                return ResponseEntity.ok().contentType(MediaType.APPLICATION_JSON).body(m.json());
            }
        }
        return ResponseEntity.status(HttpStatus.NOT_FOUND).contentType(MediaType.APPLICATION_JSON)
                .body("{\"error\":{\"message\":" + quote("The model '" + id + "' does not exist on any eligible server")
                        + ",\"type\":\"invalid_request_error\",\"param\":\"model\",\"code\":\"model_not_found\"}}");
    }

    @GetMapping("/load-stats")
    public RouterStats stats() {
        return router.stats();
    }

    private static void relay(RouterResponse response, OutputStream out) throws IOException {
        try (response; InputStream in = response.body()) {
            byte[] buffer = new byte[8192];
            int n;
            while ((n = in.read(buffer)) >= 0) {
                out.write(buffer, 0, n);
                out.flush();   // one SSE event (or more, when they came together) at a time
            }
        }
    }

    private static String quote(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
