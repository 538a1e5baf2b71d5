package io.vllmrouter.examples.server.upstream;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** How a backend's answer head is read: known names shared, every name in the spelling it came in. */
@Timeout(10)
class ResponseDecoderTest {

    private static List<String> names(HttpResponse r) {
        List<String> names = new ArrayList<>();
        r.headers().iteratorCharSequence().forEachRemaining(e -> names.add(e.getKey().toString()));
        return names;
    }

    private static HttpResponse read(EmbeddedChannel ch, String head) {
        ch.writeInbound(Unpooled.copiedBuffer(head, StandardCharsets.ISO_8859_1));
        HttpResponse r = ch.readInbound();
        Object last = ch.readInbound();
        assertThat(last).isInstanceOf(LastHttpContent.class);
        ((HttpContent) last).release();
        return r;
    }

    @Test
    void knownNamesAreSharedAndEveryNameKeepsItsSpelling() {
        EmbeddedChannel ch = new EmbeddedChannel(new ResponseDecoder());
        HttpResponse uvicorn = read(ch, "HTTP/1.1 200 OK\r\ndate: Mon, 07 Dec 2026 20:00:00 GMT\r\nserver: uvicorn\r\n"
                + "content-length: 2\r\ncontent-type: application/json\r\nx-request-id: r1\r\n\r\nok");
        HttpResponse nginx = read(ch, "HTTP/1.1 200 OK\r\nServer: nginx\r\nContent-Type: application/json\r\n"
                + "Content-Length: 2\r\nCONTENT-TYPE: text/plain\r\nContent-type: text/x\r\nX-Custom: 1\r\nETag: \"e\"\r\n\r\nok");
        HttpResponse again = read(ch, "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 0\r\n\r\n");

        assertThat(names(uvicorn)).containsExactly("date", "server", "content-length", "content-type", "x-request-id");
        assertThat(names(nginx)).containsExactly("Server", "Content-Type", "Content-Length", "CONTENT-TYPE", "Content-type",
                "X-Custom", "ETag");
        assertThat(uvicorn.headers().get("Content-Type")).isEqualTo("application/json");
        assertThat(nginx.headers().getAll("content-type")).containsExactly("application/json", "text/plain", "text/x");
        // the same name object answer after answer: no new name per header
        assertThat(name(again, 0)).isSameAs(name(uvicorn, 3));
        assertThat(name(nginx, 3)).isNotSameAs(name(nginx, 1));
        assertThat(ch.finishAndReleaseAll()).isFalse();
    }

    private static CharSequence name(HttpResponse r, int at) {
        int i = 0;
        for (Map.Entry<CharSequence, CharSequence> e : (Iterable<Map.Entry<CharSequence, CharSequence>>) r.headers()::iteratorCharSequence) {
            if (i++ == at) {
                return e.getKey();
            }
        }
        throw new AssertionError("no header " + at);
    }
}
