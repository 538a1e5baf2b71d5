package io.vllmrouter.api.spi;

/**
 * How big a request is, as far as the router can tell without a tokenizer: {@link RouteContext#size()}.
 *
 * @param promptTokens    estimated prompt tokens: the JSON body's length in bytes over 4 (field names
 *                        and chat framing included, so short prompts count a little high); 0 when unknown
 * @param maxOutputTokens the request's own limit on answer tokens ({@code max_completion_tokens},
 *                        else {@code max_tokens}, else the Responses API's {@code max_output_tokens});
 *                        -1 when it sets none
 */
public record RequestSize(int promptTokens, int maxOutputTokens) {

    /** Nothing known: no prompt estimate, no limit. */
    public static final RequestSize UNKNOWN = new RequestSize(0, -1);

    /** Bytes of JSON body per estimated prompt token. */
    public static final int BYTES_PER_TOKEN = 4;

    public RequestSize {
        if (promptTokens < 0 || maxOutputTokens < -1 || maxOutputTokens == 0) {
            throw new IllegalArgumentException("size: prompt_tokens=" + promptTokens + " max_output_tokens="
                    + maxOutputTokens + " (expected: prompt_tokens >= 0, max_output_tokens >= 1 or -1)");
        }
    }

    /** The estimate for a body of {@code bodyBytes} bytes with answer limit {@code maxOutputTokens} (-1: none). */
    public static RequestSize of(long bodyBytes, int maxOutputTokens) {
        int prompt = (int) Math.min(Integer.MAX_VALUE, Math.max(0, bodyBytes) / BYTES_PER_TOKEN);
        return new RequestSize(prompt, maxOutputTokens > 0 ? maxOutputTokens : -1);
    }

    /**
     * The answer length to expect: the request's limit when it is below {@code typical} (the length
     * of recent answers), else {@code typical}. A limit is a ceiling, not a forecast: most answers
     * stop well before a generous {@code max_tokens}.
     */
    public double expectedOutputTokens(double typical) {
        return maxOutputTokens > 0 && maxOutputTokens < typical ? maxOutputTokens : typical;
    }
}
