package io.vllmrouter.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.vllmrouter.api.RouterRequest;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A request's headers as its builder collected them: immutable, and untouched by the builder's later use. */
@Timeout(value = 10, unit = TimeUnit.SECONDS)
class RouterRequestTest {

    @Test
    void aRequestKeepsItsHeadersWhenItsBuilderGoesOn() {
        RouterRequest.Builder b = RouterRequest.get("/v1/models").header("Accept", "application/json")
                .header("X-Tag", "a").header("X-Tag", "b");
        RouterRequest first = b.build();
        b.header("X-Tag", "c").header("X-Other", "d").headers(Map.of("Accept", List.of("text/plain")));
        RouterRequest second = b.build();

        assertThat(first.headers()).containsExactly(Map.entry("Accept", List.of("application/json")),
                Map.entry("X-Tag", List.of("a", "b")));
        assertThat(second.headers()).containsExactly(Map.entry("Accept", List.of("application/json", "text/plain")),
                Map.entry("X-Tag", List.of("a", "b", "c")), Map.entry("X-Other", List.of("d")));
        assertThat(first.header("x-tag")).isEqualTo("a");
    }

    @Test
    void headersCannotBeChangedThroughTheRequest() {
        RouterRequest r = RouterRequest.get("/health").header("X-Tag", "a").build();
        assertThatThrownBy(() -> r.headers().put("X-Other", List.of("b"))).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> r.headers().get("X-Tag").add("b")).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> RouterRequest.get("/health").header("X-Tag", null)).isInstanceOf(NullPointerException.class);
    }
}
