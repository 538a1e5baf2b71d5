package io.vllmrouter.examples.server;

import io.netty.handler.codec.DefaultHeaders.NameValidator;
import io.netty.handler.codec.DefaultHeaders.ValueValidator;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;

import java.util.Objects;

/**
 * HTTP headers in one flat array of names and values, in the order they were added, found by
 * scanning: what a message of a dozen headers, made once, read by a few names and written out in
 * order, costs least as. Netty's {@code DefaultHttpHeaders} keeps a hash table of linked entries,
 * an object per header and a 16-slot table per message (three per forwarded request, and a trailer
 * table for every body's end, nearly always empty); this one allocates nothing until its first
 * header, then one array.
 *
 * <p>It behaves as Netty's table does where the proxy and Netty's codecs read it: names match
 * ignoring ASCII case; a name's values come in the order added; {@code set} replaces every value of
 * the name and moves it to the end; {@code get} is the first value; {@code containsValue} reads
 * comma-separated values, {@code contains(name, value, ignoreCase)} whole values; iterators are read
 * only. Names and values are checked by Netty's own validators, the same objects its default
 * factory uses, so a header Netty refuses is refused here with the same message. Not thread-safe,
 * like Netty's.
 *
 * <p>Where it differs, nothing here depends on it: a name's values are iterated in the order added
 * (Netty's table gives them newest first); {@code getTimeMillis} answers null for a value that is
 * not a date (Netty's throws); {@code equals} asks for the same fields in the same order, spelled
 * alike.
 */
public final class FlatHttpHeaders extends FlatHeaderFields {

    /** Message headers, validated as Netty's default factory validates them. */
    public static final HttpHeadersFactory HEADERS = factory(DefaultHttpHeadersFactory.headersFactory());

    /** Trailers, validated as Netty's trailers are (no length, coding or trailer names among them). */
    public static final HttpHeadersFactory TRAILERS = factory(DefaultHttpHeadersFactory.trailersFactory());

    private final NameValidator<CharSequence> names;
    private final ValueValidator<CharSequence> values;

    private FlatHttpHeaders(NameValidator<CharSequence> names, ValueValidator<CharSequence> values) {
        this.names = names;
        this.values = values;
    }

    private static HttpHeadersFactory factory(DefaultHttpHeadersFactory like) {
        NameValidator<CharSequence> n = like.getNameValidator();
        ValueValidator<CharSequence> v = like.getValueValidator();
        return new HttpHeadersFactory() {
            @Override
            public HttpHeaders newHeaders() {
                return new FlatHttpHeaders(n, v);
            }

            @Override
            public HttpHeaders newEmptyHeaders() {
                return new FlatHttpHeaders(n, v);
            }
        };
    }

    @Override
    public HttpHeaders add(String name, Object value) {
        return add((CharSequence) name, value);
    }

    @Override
    public HttpHeaders add(CharSequence name, Object value) {
        names.validateName(name);
        append(name, value(name, value));
        return this;
    }

    @Override
    public HttpHeaders add(String name, Iterable<?> values) {
        return add((CharSequence) name, values);
    }

    @Override
    public HttpHeaders add(CharSequence name, Iterable<?> values) {
        names.validateName(name);
        for (Object v : values) {
            append(name, value(name, v));
        }
        return this;
    }

    @Override
    public HttpHeaders add(HttpHeaders headers) {
        if (headers == this) {
            throw new IllegalArgumentException("can't add to itself."); // as Netty's table refuses it
        }
        return super.add(headers);
    }

    @Override
    public HttpHeaders set(HttpHeaders headers) {
        return headers == this ? this : super.set(headers);
    }

    @Override
    public HttpHeaders setAll(HttpHeaders headers) {
        return headers == this ? this : super.setAll(headers);
    }

    @Override
    public HttpHeaders addInt(CharSequence name, int value) {
        return add(name, Integer.toString(value));
    }

    @Override
    public HttpHeaders addShort(CharSequence name, short value) {
        return add(name, Short.toString(value));
    }

    @Override
    public HttpHeaders set(String name, Object value) {
        return set((CharSequence) name, value);
    }

    @Override
    public HttpHeaders set(CharSequence name, Object value) {
        names.validateName(name);
        CharSequence v = value(name, value);
        remove(name);
        append(name, v);
        return this;
    }

    @Override
    public HttpHeaders set(String name, Iterable<?> values) {
        return set((CharSequence) name, values);
    }

    /** Replaces the name's values with these, up to the first null (as Netty's table does). */
    @Override
    public HttpHeaders set(CharSequence name, Iterable<?> values) {
        names.validateName(name);
        Objects.requireNonNull(values, "values");
        remove(name);
        for (Object v : values) {
            if (v == null) {
                break;
            }
            append(name, value(name, v));
        }
        return this;
    }

    @Override
    public HttpHeaders setInt(CharSequence name, int value) {
        return set(name, Integer.toString(value));
    }

    @Override
    public HttpHeaders setShort(CharSequence name, short value) {
        return set(name, Short.toString(value));
    }

    @Override
    public HttpHeaders copy() {
        FlatHttpHeaders c = new FlatHttpHeaders(names, values);
        copyInto(c);
        return c;
    }

    /** A value as Netty's table converts it, checked by the value validator (its refusal worded as Netty's table words it). */
    private CharSequence value(CharSequence name, Object value) {
        CharSequence v = HeaderValues.text(value);
        try {
            values.validate(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Validation failed for header '" + name + "'", e);
        }
        return v;
    }
}
