package io.vllmrouter.examples.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Date;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The flat header table against Netty's own: the same operations on both, in random order over
 * names that differ in case, must leave the same headers in the same order and answer every read
 * alike; what Netty refuses is refused with the same message; the codecs read and write it alike.
 */
@Timeout(20)
class FlatHttpHeadersTest {

    private static final String[] NAMES = {"Content-Type", "content-type", "CONTENT-TYPE", "Connection", "connection",
            "Transfer-Encoding", "transfer-encoding", "X-Request-Id", "x-a", "X-B", "Date", "Content-Length"};
    private static final AsciiString[] ASCII_NAMES = {HttpHeaderNames.CONTENT_TYPE, HttpHeaderNames.CONNECTION,
            HttpHeaderNames.TRANSFER_ENCODING, AsciiString.cached("x-a"), HttpHeaderNames.CONTENT_LENGTH};
    private static final String[] VALUES = {"application/json", "close", "keep-alive", "chunked", "gzip, chunked",
            " Keep-Alive , Upgrade", "CLOSE", "1", "12", "v", "a,b", "text/event-stream; charset=utf-8", "trailing ", "a ,\tclose", "x,,chunked,", ",", "a,", "Upgrade,Keep-Alive"};

    private static HttpHeaders netty() {
        return DefaultHttpHeadersFactory.headersFactory().newHeaders();
    }

    private static HttpHeaders flat() {
        return FlatHttpHeaders.HEADERS.newHeaders();
    }

    /** Everything a reader can see of a table, as text. */
    private static List<String> seen(HttpHeaders h) {
        List<String> out = new ArrayList<>();
        out.add("size=" + h.size() + " empty=" + h.isEmpty());
        for (Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence(); it.hasNext(); ) {
            Map.Entry<CharSequence, CharSequence> e = it.next();
            out.add(e.getKey() + ": " + e.getValue());
        }
        for (Map.Entry<String, String> e : h) {
            out.add("s " + e.getKey() + ": " + e.getValue());
        }
        out.add("entries " + h.entries());
        // Netty's own set keeps a String and an AsciiString of one spelling apart: the distinct names compare
        out.add("names " + new java.util.TreeSet<>(h.names()));
        for (String n : NAMES) {
            out.add(n + " get=" + h.get(n) + " all=" + h.getAll(n) + " has=" + h.contains(n)
                    + " int=" + h.getInt(n) + " short=" + h.getShort(n));
            List<String> values = new ArrayList<>();
            h.valueStringIterator(n).forEachRemaining(values::add);
            h.valueCharSequenceIterator(n).forEachRemaining(v -> values.add("cs " + v));
            values.sort(null); // Netty's table gives them newest first, this one in the order added
            out.add(n + " values=" + values);
            for (String v : new String[]{"close", "chunked", "keep-alive", "a", "gzip, chunked", "", "x", "trailing"}) {
                out.add(n + "~" + v + " " + h.containsValue(n, v, true) + h.containsValue(n, v, false)
                        + h.contains(n, v, true) + h.contains(n, v, false));
            }
        }
        for (AsciiString n : ASCII_NAMES) {
            out.add(n + " get=" + h.get(n) + " all=" + h.getAll(n) + " has=" + h.contains(n));
        }
        out.add("keepalive " + h.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true));
        if (h.contains("Date") && h.get("Date").endsWith("GMT")) {
            out.add("time " + h.getTimeMillis("date") + " " + h.getTimeMillis("date", -7));
        }
        return out;
    }

    /** One operation; what it threw (a refused value), if anything, as text. */
    private static String apply(HttpHeaders h, int op, Random r) {
        try {
            change(h, op, r);
            return "ok";
        } catch (IllegalArgumentException e) {
            return said(e);
        }
    }

    private static void change(HttpHeaders h, int op, Random r) {
        String n = NAMES[r.nextInt(NAMES.length)];
        AsciiString an = ASCII_NAMES[r.nextInt(ASCII_NAMES.length)];
        String v = VALUES[r.nextInt(VALUES.length)];
        switch (op) {
            case 0 -> h.add(n, v);
            case 1 -> h.add(an, v);
            case 2 -> h.set(n, v);
            case 3 -> h.set(an, HttpHeaderValues.CLOSE);
            case 4 -> h.remove(n);
            case 5 -> h.remove(an);
            case 6 -> h.add(n, List.of(v, VALUES[r.nextInt(VALUES.length)]));
            case 7 -> h.set(n, List.of(v, "x"));
            case 8 -> h.addInt(n, r.nextInt(1000));
            case 9 -> h.setInt(an, r.nextInt(1000));
            case 10 -> h.setShort(n, (short) r.nextInt(100));
            case 11 -> h.add(n, 42L);
            case 12 -> h.set("Date", new Date(1_700_000_000_000L));
            case 13 -> h.clear();
            case 15 -> h.addShort(an, (short) r.nextInt(100));
            case 16 -> h.set(n, java.util.Arrays.asList(v, null, "after-null"));
            case 14 -> {
                Iterator<Map.Entry<CharSequence, CharSequence>> it = h.iteratorCharSequence();
                if (it.hasNext()) {
                    it.next();
                    try {
                        it.remove();
                    } catch (UnsupportedOperationException e) {
                        h.add("x-removal", e.getMessage()); // Netty's iterators are read only
                    }
                }
            }
            default -> h.add(an, v); // 17
        }
    }

    @Test
    void everyOperationLeavesWhatNettysTableLeaves() {
        Random r = new Random(7);
        int refused = 0;
        for (int round = 0; round < 2_000; round++) {
            HttpHeaders a = netty();
            HttpHeaders b = flat();
            int ops = 1 + r.nextInt(14);
            for (int i = 0; i < ops; i++) {
                int op = r.nextInt(18);
                if (op == 13 && r.nextInt(4) > 0) {
                    op = 0; // clear rarely
                }
                long seed = r.nextLong();
                String nettySaid = apply(a, op, new Random(seed));
                assertThat(apply(b, op, new Random(seed))).isEqualTo(nettySaid);
                assertThat(seen(b)).as("round %d after op %d", round, op).isEqualTo(seen(a));
                refused += nettySaid.equals("ok") ? 0 : 1;
            }
            HttpHeaders copy = b.copy();
            assertThat(seen(copy)).isEqualTo(seen(a));
            b.add("x-after-copy", "1");
            assertThat(copy.contains("x-after-copy")).isFalse();
            assertThat(seen(netty().set(copy))).isEqualTo(seen(a));
        }
        assertThat(refused).as("refusals among the operations").isGreaterThan(100);
    }

    @Test
    void refusesWhatNettyRefusesWithTheSameMessage() {
        String[][] bad = {{"", "v"}, {"bad name", "v"}, {"bad:name", "v"}, {"n\u00e9", "v"}, {"x", "a\r\nb"},
                {"x", " leading"}, {"x", "nul\u0000"}, {"x", "del\u007f"}};
        for (String[] nv : bad) {
            Throwable expected = catching(() -> netty().add(nv[0], nv[1]));
            assertThat(expected).as("%s: %s", nv[0], nv[1]).isInstanceOf(IllegalArgumentException.class);
            assertThat(said(catching(() -> flat().add(nv[0], nv[1])))).isEqualTo(said(expected));
            assertThat(said(catching(() -> flat().set(nv[0], nv[1])))).isEqualTo(said(expected));
            assertThat(said(catching(() -> flat().add(nv[0], List.of(nv[1]))))).isEqualTo(said(expected));
        }
        assertThatThrownBy(() -> flat().add("x", (Object) null)).isInstanceOf(NullPointerException.class);
        // a refused set leaves the name's earlier values in place, as Netty's does
        HttpHeaders h = flat().add("x", "1");
        assertThatThrownBy(() -> h.set("x", "a\nb")).isInstanceOf(IllegalArgumentException.class);
        assertThat(h.getAll("x")).containsExactly("1");
        // trailers: no length, coding or trailer names, as Netty's trailers
        for (String name : new String[]{"Content-Length", "transfer-encoding", "Trailer"}) {
            Throwable expected = catching(() -> DefaultHttpHeadersFactory.trailersFactory().newHeaders().add(name, "1"));
            assertThatThrownBy(() -> FlatHttpHeaders.TRAILERS.newHeaders().add(name, "1")).hasMessage(expected.getMessage());
        }
        assertThat(FlatHttpHeaders.TRAILERS.newHeaders().add("x-checksum", "1").get("X-Checksum")).isEqualTo("1");
    }

    /** The exception's kind and message, and its cause's. */
    private static String said(Throwable t) {
        return t == null ? "nothing" : t.getClass().getSimpleName() + ": " + t.getMessage() + " / " + said(t.getCause());
    }

    private static Throwable catching(Runnable r) {
        try {
            r.run();
            return null;
        } catch (RuntimeException e) {
            return e;
        }
    }

    @Test
    void nettysCodecsReadAndWriteItAsTheirOwn() {
        String request = "POST /v1/chat/completions HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
                + "X-A: 1\r\nx-a: 2\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                + "3\r\nabc\r\n0\r\nX-Trailer: t\r\n\r\n";
        Function<HttpHeadersFactory[], List<String>> decode = factories -> {
            EmbeddedChannel ch = new EmbeddedChannel(new HttpServerCodec(new io.netty.handler.codec.http.HttpDecoderConfig()
                    .setHeadersFactory(factories[0]).setTrailersFactory(factories[1])), new HttpObjectAggregator(1024));
            ch.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.ISO_8859_1));
            FullHttpRequest req = ch.readInbound();
            List<String> out = new ArrayList<>(seen(req.headers()));
            out.add("trailers " + seen(req.trailingHeaders()));
            out.add("body " + req.content().toString(StandardCharsets.ISO_8859_1) + " keep-alive " + HttpUtil.isKeepAlive(req)
                    + " chunked " + HttpUtil.isTransferEncodingChunked(req) + " length " + HttpUtil.getContentLength(req, -1L));
            req.release();
            ch.finishAndReleaseAll();
            return out;
        };
        List<String> flatRead = decode.apply(new HttpHeadersFactory[]{FlatHttpHeaders.HEADERS, FlatHttpHeaders.TRAILERS});
        assertThat(flatRead).isEqualTo(decode.apply(new HttpHeadersFactory[]{DefaultHttpHeadersFactory.headersFactory(),
                DefaultHttpHeadersFactory.trailersFactory()}));
        assertThat(flatRead).contains("X-A: 1", "x-a: 2").anyMatch(l -> l.startsWith("body abc keep-alive true"))
                .anyMatch(l -> l.startsWith("trailers") && l.contains("X-Trailer: t"));

        Function<HttpHeaders, String> encode = headers -> {
            headers.add("Content-Type", "application/json").add(HttpHeaderNames.CONTENT_LENGTH, "2").add("x-b", "1")
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            EmbeddedChannel ch = new EmbeddedChannel(new HttpResponseEncoder());
            ch.writeOutbound(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK,
                    Unpooled.copiedBuffer("ok", StandardCharsets.ISO_8859_1), headers, flat()));
            StringBuilder out = new StringBuilder();
            for (ByteBuf b; (b = ch.readOutbound()) != null; b.release()) {
                out.append(b.toString(StandardCharsets.ISO_8859_1));
            }
            ch.finishAndReleaseAll();
            return out.toString();
        };
        assertThat(encode.apply(flat())).isEqualTo(encode.apply(netty()))
                .isEqualTo("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\ncontent-length: 2\r\nx-b: 1\r\n"
                        + "connection: close\r\n\r\nok");
    }

    /** Every way to write a header, with a name of either kind: each must refuse what Netty's table refuses. */
    private static final List<java.util.function.BiConsumer<HttpHeaders, CharSequence>> WRITES = List.of(
            (h, n) -> h.add(n, "v"), (h, n) -> h.add(n.toString(), "v"), (h, n) -> h.add(n, List.of("v")),
            (h, n) -> h.add(n.toString(), List.of("v")), (h, n) -> h.set(n, "v"), (h, n) -> h.set(n.toString(), "v"),
            (h, n) -> h.set(n, List.of("v")), (h, n) -> h.set(n.toString(), List.of("v")), (h, n) -> h.addInt(n, 1),
            (h, n) -> h.setInt(n, 1), (h, n) -> h.addShort(n, (short) 1), (h, n) -> h.setShort(n, (short) 1),
            (h, n) -> h.add(unchecked(n)), (h, n) -> h.set(unchecked(n)), (h, n) -> h.setAll(unchecked(n)));

    private static HttpHeaders unchecked(CharSequence name) {
        return DefaultHttpHeadersFactory.headersFactory().withValidation(false).newHeaders().add("ok", "1").add(name, "v");
    }

    @Test
    void everyWriteRefusesABadNameAsNettyDoes() {
        String[] bad = {"", "bad name", "bad:name", "a\r\nb", "n\u00e9", "x\u0000", "tab\tname", "(x)"};
        int refused = 0;
        for (String b : bad) {
            for (CharSequence name : new CharSequence[]{b, new AsciiString(b)}) {
                for (int w = 0; w < WRITES.size(); w++) {
                    HttpHeaders n = netty();
                    HttpHeaders f = flat();
                    int at = w;
                    String nettySaid = said(catching(() -> WRITES.get(at).accept(n, name)));
                    assertThat(said(catching(() -> WRITES.get(at).accept(f, name)))).as("write %d of '%s'", w, b)
                            .isEqualTo(nettySaid);
                    assertThat(seen(f)).isEqualTo(seen(n));
                    refused += nettySaid.equals("nothing") ? 0 : 1;
                }
            }
        }
        assertThat(refused).isEqualTo(bad.length * 2 * WRITES.size());
    }

    @Test
    void copiesKeepTheirRulesAndItselfIsNoSource() {
        HttpHeaders copy = flat().add("x", "1").copy();
        assertThat(said(catching(() -> copy.add("x", "a\nb")))).isEqualTo(said(catching(() -> netty().add("x", "a\nb"))));
        HttpHeaders trailers = FlatHttpHeaders.TRAILERS.newHeaders().add("x-sum", "1").copy();
        assertThatThrownBy(() -> trailers.add("Content-Length", "1")).hasMessageContaining("prohibited trailing header");
        assertThat(copy).isEqualTo(flat().add("x", "1")).hasSameHashCodeAs(flat().add("x", "1"))
                .isNotEqualTo(flat().add("X", "1")).isNotEqualTo(flat().add("x", "2"));
        assertThat(flat().add("a", "1").add("b", "2")).isNotEqualTo(flat().add("b", "2").add("a", "1"));

        HttpHeaders h = flat().add("a", "1");
        assertThat(said(catching(() -> h.add(h)))).isEqualTo(said(catching(() -> {
            HttpHeaders n = netty().add("a", "1");
            n.add(n);
        })));
        assertThat(seen(h.set(h).setAll(h))).isEqualTo(seen(netty().add("a", "1")));
    }

    /** Requests that split a front door from its backend, read with each table: the same verdict and headers. */
    @Test
    void smugglingRequestsAreReadAsNettyReadsThem() {
        String[] heads = {
            "Transfer-Encoding : chunked\r\n",
            "Content-Length: 3\r\nTransfer-Encoding: chunked\r\n",
            "Content-Length: 3\r\nContent-Length: 4\r\n",
            "Content-Length: 3, 3\r\n",
            "Content-Length: +3\r\n",
            "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n",
            "Transfer-Encoding: chunked, identity\r\n",
            "Transfer-Encoding: CHUNKED\r\n",
            "Transfer-Encoding:\tchunked \r\n",
            "X-Folded: a\r\n b\r\nContent-Length: 3\r\n",
            "Content-Length: 3\r\nX-Bad\u0001: 1\r\n",
            "Content-Length: 3\r\nX-Value: a\u0001b\r\n",
            "Transfer-Encoding: chunked\r\n",
        };
        String body = "3\r\nabc\r\n0\r\nContent-Length: 9\r\n\r\n";
        for (String head : heads) {
            String request = "POST /v1/completions HTTP/1.1\r\nHost: a\r\n" + head + "\r\n"
                    + (head.contains("chunked") || head.contains("CHUNKED") ? body : "abc");
            assertThat(read(request, FlatHttpHeaders.HEADERS, FlatHttpHeaders.TRAILERS)).as(head)
                    .isEqualTo(read(request, DefaultHttpHeadersFactory.headersFactory(), DefaultHttpHeadersFactory.trailersFactory()));
        }
    }

    /** What the front door's decoder makes of a request: each message's kind, verdict, headers and content. */
    private static List<String> read(String request, HttpHeadersFactory headers, HttpHeadersFactory trailers) {
        EmbeddedChannel ch = new EmbeddedChannel(new HttpServerCodec(HttpDecoding.config(8192, 8192, 65536)
                .setHeadersFactory(headers).setTrailersFactory(trailers)));
        ch.writeInbound(Unpooled.copiedBuffer(request, StandardCharsets.ISO_8859_1));
        List<String> out = new ArrayList<>();
        for (Object m; (m = ch.readInbound()) != null; io.netty.util.ReferenceCountUtil.release(m)) {
            out.add(m.getClass().getSimpleName() + " " + ((io.netty.handler.codec.DecoderResultProvider) m).decoderResult());
            if (m instanceof io.netty.handler.codec.http.HttpMessage msg) {
                out.addAll(seen(msg.headers()));
            }
            if (m instanceof io.netty.handler.codec.http.LastHttpContent last) {
                out.add("trailers " + seen(last.trailingHeaders()));
            }
            if (m instanceof io.netty.handler.codec.http.HttpContent c) {
                out.add("content " + c.content().toString(StandardCharsets.ISO_8859_1));
            }
        }
        ch.finishAndReleaseAll();
        return out;
    }

    @Test
    void takesNoRoomUntilItsFirstHeader() {
        HttpHeaders h = flat();
        assertThat(h.isEmpty()).isTrue();
        assertThat(h.getAll("x")).isEmpty();
        assertThat(h.names()).isEmpty();
        assertThat(h.iteratorCharSequence().hasNext()).isFalse();
        for (int i = 0; i < 40; i++) {
            h.add("h" + i, Integer.toString(i));
        }
        assertThat(h.size()).isEqualTo(40);
        assertThat(h.get("H39")).isEqualTo("39");
        h.remove("h0");
        assertThat(h.iteratorCharSequence().next().getKey().toString()).isEqualTo("h1");
    }
}
