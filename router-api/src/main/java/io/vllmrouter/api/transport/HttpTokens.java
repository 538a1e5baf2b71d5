package io.vllmrouter.api.transport;

/**
 * HTTP's {@code token} (RFC 9110, section 5.6.2): what a method and a header field name are made of.
 * For transports that write a request themselves and must not let a name split it.
 *
 * <pre>{@code
 * HttpTokens.isToken("X-Request-Id"); // true
 * HttpTokens.isToken("Bad Name");     // false: a space
 * }</pre>
 */
public final class HttpTokens {

    /** {@code tchar}: letters, digits and {@code !#$%&'*+-.^_`|~}. */
    private static final boolean[] TCHAR = new boolean[128];

    static {
        for (char c = '0'; c <= '9'; c++) {
            TCHAR[c] = true;
        }
        for (char c = 'a'; c <= 'z'; c++) {
            TCHAR[c] = true;
            TCHAR[c - 'a' + 'A'] = true;
        }
        for (char c : "!#$%&'*+-.^_`|~".toCharArray()) {
            TCHAR[c] = true;
        }
    }

    private HttpTokens() {
    }

    /** Whether {@code s} is a token: at least one character, each a {@code tchar}. */
    public static boolean isToken(CharSequence s) {
        int n = s.length();
        if (n == 0) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            if (c >= 128 || !TCHAR[c]) {
                return false;
            }
        }
        return true;
    }
}
