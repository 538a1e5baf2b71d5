package io.vllmrouter.core;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * A backend failed mid-answer and said so inside its stream: a {@code data:} event holding an
 * {@code "error"} object, which vLLM's serving layer sends (followed by {@code data: [DONE]}) when the
 * engine fails while generating. It is the backend's failure like a reset, never a normal end.
 */
final class InBandError extends io.vllmrouter.api.InBandErrorException {

    private static final long serialVersionUID = 1L;

    InBandError(String message) {
        super(message);
    }

    /** From the event's JSON when it was read ({@code {"error": {"message", "type", "code"}}}), or null. */
    static InBandError of(JsonNode event) {
        JsonNode e = event == null ? null : event.path("error");
        if (e == null || !e.isObject()) {
            return new InBandError("the backend sent an error event");
        }
        StringBuilder b = new StringBuilder("the backend sent an error event");
        String type = e.path("type").asText("");
        String message = e.path("message").asText("");
        if (!type.isEmpty() || !message.isEmpty()) {
            b.append(" (");
            if (!type.isEmpty()) {
                b.append(type);
                if (!message.isEmpty()) {
                    b.append(": ");
                }
            }
            b.append(message.length() > 200 ? message.substring(0, 200) + "..." : message).append(')');
        }
        return new InBandError(b.toString());
    }
}
