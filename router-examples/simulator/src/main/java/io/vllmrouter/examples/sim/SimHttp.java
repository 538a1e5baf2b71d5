package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;
import java.io.IOException;
import java.io.OutputStream;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;

/**
 * How the simulator answers over the JDK's HTTP server, the way vLLM's FastAPI server does: JSON
 * bodies, FastAPI's 405 with {@code Allow}, a stream's headers sent before any token, and the two
 * ways a handler ends a request early — {@link BadRequest} (an error answer) and {@link ResetStream}
 * (a cut connection). Stateless.
 */
final class SimHttp {

    private static final ObjectMapper MAPPER = new ObjectMapper();

    private SimHttp() {
    }

    static void sendJson(HttpExchange ex, int status, String json) throws IOException {
        send(ex, status, "application/json", json);
    }

    static void send(HttpExchange ex, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", contentType);
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    /** FastAPI's 405 (with {@code Allow}) unless {@code method} is {@code expected}. */
    static boolean requireMethod(HttpExchange ex, String method, String expected) throws IOException {
        if (method.equals(expected)) {
            return true;
        }
        ex.getResponseHeaders().set("Allow", expected);
        sendJson(ex, 405, "{\"detail\":\"Method Not Allowed\"}");
        return false;
    }

    /** A stream's headers, sent at once as vLLM does (before any token), and pushed to the client. */
    static void sseHeaders(HttpExchange ex) throws IOException {
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0);
        ex.getResponseBody().flush();
    }

    /** The request body as a JSON object; a {@link BadRequest} (400) for malformed JSON or another value. */
    static JsonNode readJson(HttpExchange ex) throws IOException {
        byte[] bytes = ex.getRequestBody().readAllBytes();
        JsonNode n;
        try {
            n = MAPPER.readTree(bytes);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw BadRequest.of("Malformed JSON in request body: " + e.getOriginalMessage());
        }
        if (n == null || !n.isObject()) {
            throw BadRequest.of("Request body: expected a JSON object");
        }
        return n;
    }

    /** The request body as a JSON object, or null after answering vLLM's 400 for one that is not. */
    static JsonNode jsonBody(HttpExchange ex) throws IOException {
        JsonNode n;
        try {
            n = MAPPER.readTree(ex.getRequestBody().readAllBytes());
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            n = null;
        }
        if (n == null || !n.isObject()) {
            sendJson(ex, 400, Json.error("Request body: expected a JSON object", "BadRequestError", null, 400));
            return null;
        }
        return n;
    }

    /** The first value of query parameter {@code name}, decoded, or null. */
    static String queryParam(HttpExchange ex, String name) {
        String q = ex.getRequestURI().getRawQuery();
        if (q == null) {
            return null;
        }
        for (String pair : q.split("&")) {
            int eq = pair.indexOf('=');
            String k = eq < 0 ? pair : pair.substring(0, eq);
            if (k.equals(name)) {
                return eq < 0 ? "" : URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8);
            }
        }
        return null;
    }

    /** vLLM's 404 body for a model the server does not serve. */
    static String modelNotFoundJson(String model) {
        return Json.error("The model `" + model + "` does not exist.", "NotFoundError", "model", 404);
    }

    /** vLLM's 404 for a model the server does not serve. */
    static void modelNotFound(HttpExchange ex, String model) throws IOException {
        sendJson(ex, 404, modelNotFoundJson(model));
    }

    /** A request the simulator refuses, with its status and JSON body: thrown out of a handler, answered by it. */
    static final class BadRequest extends RuntimeException {
        final int status;
        final String body;

        BadRequest(int status, String body) {
            super(body, null, false, false);
            this.status = status;
            this.body = body;
        }

        static BadRequest of(String message) {
            return new BadRequest(400, Json.error(message, "BadRequestError", null, 400));
        }
    }

    /**
     * Thrown out of the handler to cut a stream: the JDK server then closes the connection without
     * ending the chunked body, which the client sees as a reset mid-stream.
     */
    static final class ResetStream extends RuntimeException {
        ResetStream() {
            super("simulated reset mid-stream", null, false, false);
        }
    }
}
