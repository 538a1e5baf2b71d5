package io.vllmrouter.core;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import io.vllmrouter.api.spi.PromptBlocks;
import java.io.IOException;

/**
 * A request's prompt block hashes ({@link PromptBlocks}), computed from the JSON body on the first
 * call and kept for the request's retries: the body is read a second time only for a strategy that
 * asks. The body is a chat request ({@code messages}) or a completions request ({@code prompt});
 * anything else, or a body that does not have the expected shape, gives no blocks (never an error:
 * the request was already accepted).
 *
 * <p>Thread-safe: racing first calls compute the same array and one of them is kept.
 */
final class PromptHashes {

    static final PromptHashes NONE = new PromptHashes(null, null);

    private final byte[] body;
    private final String model;
    /** The last result and the block size it was computed for. */
    private volatile Computed computed;

    private record Computed(int blockChars, long[] hashes) {
    }

    PromptHashes(byte[] body, String model) {
        this.body = body;
        this.model = model;
    }

    long[] hashes(int blockChars) {
        if (body == null || blockChars < 1) {
            return PromptBlocks.NONE;
        }
        Computed c = computed;
        if (c != null && c.blockChars == blockChars) {
            return c.hashes;
        }
        int maxChars = (int) Math.min(Integer.MAX_VALUE - 16, (long) blockChars * PromptBlocks.MAX_BLOCKS);
        CharSequence text = text(body, maxChars);
        long[] h = text == null ? PromptBlocks.NONE
                : PromptBlocks.hash(text, blockChars, PromptBlocks.MAX_BLOCKS, PromptBlocks.seed(model));
        computed = new Computed(blockChars, h);
        return h;
    }

    /** The canonical prompt text of the body, at most about {@code maxChars}; null when there is none. */
    static CharSequence text(byte[] body, int maxChars) {
        StringBuilder out = new StringBuilder(Math.min(body.length, maxChars) + 16);
        try (JsonParser p = RouterJson.factory().createParser(body)) {
            if (p.nextToken() != JsonToken.START_OBJECT) {
                return null;
            }
            JsonToken t;
            while ((t = p.nextToken()) == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (name.equals("messages") && v == JsonToken.START_ARRAY) {
                    messages(p, out, maxChars);
                    return out;
                } else if (name.equals("prompt")) {
                    prompt(p, v, out, maxChars);
                    return out;
                } else {
                    p.skipChildren();
                }
            }
            return null;
        } catch (IOException | RuntimeException e) {
            return null;  // not the shape a prompt has: route without blocks
        }
    }

    private static void messages(JsonParser p, StringBuilder out, int maxChars) throws IOException {
        while (p.nextToken() == JsonToken.START_OBJECT && out.length() < maxChars) {
            String role = null;
            StringBuilder text = new StringBuilder();
            while (p.nextToken() == JsonToken.FIELD_NAME) {
                String name = p.currentName();
                JsonToken v = p.nextToken();
                if (name.equals("role") && v == JsonToken.VALUE_STRING) {
                    role = p.getText();
                } else if (name.equals("content")) {
                    content(p, v, text);
                } else {
                    p.skipChildren();
                }
            }
            PromptBlocks.appendMessage(out, role, text);
        }
    }

    private static void content(JsonParser p, JsonToken v, StringBuilder text) throws IOException {
        if (v == JsonToken.VALUE_STRING) {
            text.append(p.getText());
        } else if (v == JsonToken.START_ARRAY) {
            while (p.nextToken() == JsonToken.START_OBJECT) {
                String type = null;
                String partText = null;
                while (p.nextToken() == JsonToken.FIELD_NAME) {
                    String name = p.currentName();
                    JsonToken pv = p.nextToken();
                    if (name.equals("type") && pv == JsonToken.VALUE_STRING) {
                        type = p.getText();
                    } else if (name.equals("text") && pv == JsonToken.VALUE_STRING) {
                        partText = p.getText();
                    } else {
                        p.skipChildren();
                    }
                }
                if ("text".equals(type) && partText != null) {
                    text.append(partText);
                } else {
                    text.append("<|").append(type).append("|>");
                }
            }
        } else {
            p.skipChildren();
        }
    }

    private static void prompt(JsonParser p, JsonToken v, StringBuilder out, int maxChars) throws IOException {
        if (v == JsonToken.VALUE_STRING) {
            out.append(p.getText());
        } else if (v == JsonToken.START_ARRAY) {
            JsonToken first = p.nextToken();
            if (first == JsonToken.VALUE_STRING) {
                out.append(p.getText());
            } else if (first == JsonToken.START_ARRAY) {
                prompt(p, first, out, maxChars);  // a list of token lists: the first one
            } else {
                for (JsonToken t = first; t == JsonToken.VALUE_NUMBER_INT && out.length() < maxChars; t = p.nextToken()) {
                    out.append(p.getText()).append(',');  // token ids
                }
            }
        }
    }
}
