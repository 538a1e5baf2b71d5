package io.vllmrouter.api.transport;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;

class HttpTokensTest {

    @Test
    void aTokenIsOneOrMoreOfRfc9110sTcharsAndNothingElse() {
        String tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
        for (char c = 0; c < 0x200; c++) {
            assertThat(HttpTokens.isToken(String.valueOf(c))).as("U+%04X", (int) c).isEqualTo(tchar.indexOf(c) >= 0);
        }
        assertThat(HttpTokens.isToken("X-Request-Id")).isTrue();
        assertThat(HttpTokens.isToken("M-SEARCH")).isTrue();
        assertThat(HttpTokens.isToken("")).isFalse();
        assertThat(HttpTokens.isToken("Bad Name")).isFalse();
        assertThat(HttpTokens.isToken("X:")).isFalse();
    }
}
