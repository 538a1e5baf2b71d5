package io.vllmrouter.examples.server.exchange;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;

/**
 * The proxy's own answers: OpenAI's error shape {@code {"error":{"message","type","param","code"}}}
 * (the one encoder of it, for HTTP answers and for the error event of a cut stream) and whole
 * responses with a body. Stateless.
 */
public final class Responses {

    public static final ObjectMapper JSON = new ObjectMapper();

    private Responses() {
    }

    /**
     * The error body. {@code code} is a string (the router's own errors) or a number (an error event
     * in a stream, as vLLM writes it there).
     */
    public static byte[] errorJson(String type, Object code, String message) {
        ObjectNode root = JSON.createObjectNode();
        ObjectNode error = root.putObject("error");
        error.put("message", message);
        error.put("type", type);
        error.putNull("param");
        if (code instanceof Integer n) {
            error.put("code", n);
        } else {
            error.put("code", String.valueOf(code));
        }
        return bytes(root);
    }

    /** A refusal or failure as a whole response; {@code retryAfterSeconds} &lt; 0 for none. */
    public static FullHttpResponse error(int status, String type, String code, String message, int retryAfterSeconds) {
        FullHttpResponse r = full(status, "application/json", errorJson(type, code, message));
        if (retryAfterSeconds >= 0) {
            r.headers().setInt(HttpHeaderNames.RETRY_AFTER, retryAfterSeconds);
        }
        return r;
    }

    /** A whole response whose body is {@code body}, with its length. */
    public static FullHttpResponse full(int status, String contentType, byte[] body) {
        FullHttpResponse r = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.wrappedBuffer(body));
        r.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        r.headers().setInt(HttpHeaderNames.CONTENT_LENGTH, body.length);
        return r;
    }

    /** A JSON document as a whole response. */
    public static FullHttpResponse json(int status, Object document) {
        return full(status, "application/json", bytes(document));
    }

    /** Marks {@code r} as the connection's last answer (HTTP/1.1; HTTP/2 drops the header). */
    public static FullHttpResponse closing(FullHttpResponse r) {
        r.headers().set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return r;
    }

    /** {@code d} seconds or milliseconds as people write them ("10", "0.5"). */
    static String seconds(java.time.Duration d) {
        return d.toMillis() % 1000 == 0 ? String.valueOf(d.toSeconds()) : String.valueOf(d.toMillis() / 1000.0);
    }

    static byte[] bytes(Object document) {
        try {
            return JSON.writeValueAsBytes(document);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    static String utf8(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
