package io.vllmrouter.examples.server;

import io.netty.handler.codec.DateFormatter;
import io.netty.handler.codec.DefaultHeaders.NameValidator;
import io.netty.handler.codec.DefaultHeaders.ValueValidator;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpHeadersFactory;
import io.netty.util.AsciiString;

import java.util.AbstractMap.SimpleImmutableEntry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Calendar;
import java.util.Collections;
import java.util.Date;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;

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
 * comma-separated values, {@code contains(name, value, ignoreCase)} whole values. (A name's values
 * are also iterated in the order added, where Netty's table gives them newest first; nothing that
 * reads them here depends on the order.) Names and values
 * are checked by Netty's own validators, the same objects its default factory uses, so a header
 * Netty refuses is refused here with the same message. Not thread-safe, like Netty's.
 */
public final class FlatHttpHeaders extends HttpHeaders {

    /** Message headers, validated as Netty's default factory validates them. */
    public static final HttpHeadersFactory HEADERS = factory(DefaultHttpHeadersFactory.headersFactory());

    /** Trailers, validated as Netty's trailers are (no length, coding or trailer names among them). */
    public static final HttpHeadersFactory TRAILERS = factory(DefaultHttpHeadersFactory.trailersFactory());

    private static final CharSequence[] NONE = new CharSequence[0];

    private final NameValidator<CharSequence> names;
    private final ValueValidator<CharSequence> values;
    /** Name, value, name, value, ...: {@code size} pairs. */
    private CharSequence[] fields = NONE;
    private int size;

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

    // ---------------------------------------------------------------- reading

    private static boolean sameName(CharSequence a, CharSequence b) {
        return a.length() == b.length() && AsciiString.contentEqualsIgnoreCase(a, b);
    }

    /** The field index of the first value of {@code name} at or after pair {@code from}, or -1. */
    private int find(CharSequence name, int from) {
        CharSequence[] f = fields;
        for (int i = from * 2; i < size * 2; i += 2) {
            if (sameName(f[i], name)) {
                return i;
            }
        }
        return -1;
    }

    @Override
    public String get(String name) {
        return get((CharSequence) name);
    }

    @Override
    public String get(CharSequence name) {
        int i = find(name, 0);
        return i < 0 ? null : fields[i + 1].toString();
    }

    @Override
    public Integer getInt(CharSequence name) {
        String v = get(name);
        if (v == null) {
            return null;
        }
        try {
            return Integer.parseInt(v);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @Override
    public int getInt(CharSequence name, int defaultValue) {
        Integer v = getInt(name);
        return v == null ? defaultValue : v;
    }

    @Override
    public Short getShort(CharSequence name) {
        String v = get(name);
        if (v == null) {
            return null;
        }
        try {
            return Short.parseShort(v);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    @Override
    public short getShort(CharSequence name, short defaultValue) {
        Short v = getShort(name);
        return v == null ? defaultValue : v;
    }

    @Override
    public Long getTimeMillis(CharSequence name) {
        String v = get(name);
        Date d = v == null ? null : DateFormatter.parseHttpDate(v);
        return d == null ? null : d.getTime();
    }

    @Override
    public long getTimeMillis(CharSequence name, long defaultValue) {
        Long v = getTimeMillis(name);
        return v == null ? defaultValue : v;
    }

    @Override
    public List<String> getAll(String name) {
        return getAll((CharSequence) name);
    }

    @Override
    public List<String> getAll(CharSequence name) {
        int i = find(name, 0);
        if (i < 0) {
            return Collections.emptyList();
        }
        int next = find(name, i / 2 + 1);
        if (next < 0) {
            return Collections.singletonList(fields[i + 1].toString());
        }
        List<String> all = new ArrayList<>(4);
        for (; i >= 0; i = find(name, i / 2 + 1)) {
            all.add(fields[i + 1].toString());
        }
        return Collections.unmodifiableList(all);
    }

    @Override
    public Iterator<String> valueStringIterator(CharSequence name) {
        Iterator<CharSequence> it = valueCharSequenceIterator(name);
        return new Iterator<>() {
            @Override
            public boolean hasNext() {
                return it.hasNext();
            }

            @Override
            public String next() {
                return it.next().toString();
            }
        };
    }

    @Override
    public Iterator<CharSequence> valueCharSequenceIterator(CharSequence name) {
        return new Iterator<>() {
            private int next = find(name, 0);

            @Override
            public boolean hasNext() {
                return next >= 0;
            }

            @Override
            public CharSequence next() {
                if (next < 0) {
                    throw new NoSuchElementException();
                }
                CharSequence v = fields[next + 1];
                next = find(name, next / 2 + 1);
                return v;
            }
        };
    }

    @Override
    public boolean contains(String name) {
        return find(name, 0) >= 0;
    }

    @Override
    public boolean contains(CharSequence name) {
        return find(name, 0) >= 0;
    }

    @Override
    public boolean contains(String name, String value, boolean ignoreCase) {
        return contains((CharSequence) name, (CharSequence) value, ignoreCase);
    }

    /** Whether {@code name} has a value equal to {@code value} as a whole (Netty's table compares whole values here too). */
    @Override
    public boolean contains(CharSequence name, CharSequence value, boolean ignoreCase) {
        for (int i = find(name, 0); i >= 0; i = find(name, i / 2 + 1)) {
            CharSequence v = fields[i + 1];
            if (ignoreCase ? AsciiString.contentEqualsIgnoreCase(v, value) : AsciiString.contentEquals(v, value)) {
                return true;
            }
        }
        return false;
    }

    /** Whether {@code name} has {@code value} among its comma-separated values, each trimmed (Netty's rule), without an iterator. */
    @Override
    public boolean containsValue(CharSequence name, CharSequence value, boolean ignoreCase) {
        for (int i = find(name, 0); i >= 0; i = find(name, i / 2 + 1)) {
            if (listed(fields[i + 1], value, ignoreCase)) {
                return true;
            }
        }
        return false;
    }

    /** Netty's reading of a list: the pieces between commas, trimmed; none after a comma that ends it. */
    private static boolean listed(CharSequence list, CharSequence value, boolean ignoreCase) {
        int n = list.length();
        int from = 0;
        while (true) {
            int end = AsciiString.indexOf(list, ',', from);
            boolean last = end < 0;
            if (last) {
                end = n;
            }
            int a = from;
            int b = end;
            while (a < b && list.charAt(a) <= ' ') {
                a++;
            }
            while (b > a && list.charAt(b - 1) <= ' ') {
                b--;
            }
            if (b - a == value.length() && AsciiString.regionMatches(list, ignoreCase, a, value, 0, b - a)) {
                return true;
            }
            from = end + 1;
            if (last || from >= n) {
                return false;
            }
        }
    }

    @Override
    public List<Map.Entry<String, String>> entries() {
        if (size == 0) {
            return Collections.emptyList();
        }
        List<Map.Entry<String, String>> out = new ArrayList<>(size);
        for (int i = 0; i < size * 2; i += 2) {
            out.add(new SimpleImmutableEntry<>(fields[i].toString(), fields[i + 1].toString()));
        }
        return out;
    }

    @Override
    @Deprecated
    public Iterator<Map.Entry<String, String>> iterator() {
        return new Fields<>() {
            @Override
            Map.Entry<String, String> entry(CharSequence name, CharSequence value) {
                return new SimpleImmutableEntry<>(name.toString(), value.toString());
            }
        };
    }

    @Override
    public Iterator<Map.Entry<CharSequence, CharSequence>> iteratorCharSequence() {
        return new Fields<>() {
            @Override
            Map.Entry<CharSequence, CharSequence> entry(CharSequence name, CharSequence value) {
                return new SimpleImmutableEntry<>(name, value);
            }
        };
    }

    /** The fields in order, as entries of one kind; read only, as Netty's table's iterators are. */
    private abstract class Fields<E> implements Iterator<E> {
        private int next;

        abstract E entry(CharSequence name, CharSequence value);

        @Override
        public boolean hasNext() {
            return next < size;
        }

        @Override
        public E next() {
            if (next >= size) {
                throw new NoSuchElementException();
            }
            int at = next++ * 2;
            return entry(fields[at], fields[at + 1]);
        }

        @Override
        public void remove() {
            throw new UnsupportedOperationException("read only");
        }
    }

    @Override
    public boolean isEmpty() {
        return size == 0;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public Set<String> names() {
        if (size == 0) {
            return Collections.emptySet();
        }
        Set<String> out = new LinkedHashSet<>(size * 2);
        for (int i = 0; i < size * 2; i += 2) {
            out.add(fields[i].toString());
        }
        return out;
    }

    // ---------------------------------------------------------------- changing

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
    public HttpHeaders remove(String name) {
        return remove((CharSequence) name);
    }

    @Override
    public HttpHeaders remove(CharSequence name) {
        Objects.requireNonNull(name, "name");
        int kept = 0;
        CharSequence[] f = fields;
        for (int i = 0; i < size; i++) {
            if (!sameName(f[i * 2], name)) {
                f[kept * 2] = f[i * 2];
                f[kept * 2 + 1] = f[i * 2 + 1];
                kept++;
            }
        }
        if (kept < size) {
            Arrays.fill(f, kept * 2, size * 2, null);
            size = kept;
        }
        return this;
    }

    @Override
    public HttpHeaders clear() {
        Arrays.fill(fields, 0, size * 2, null);
        size = 0;
        return this;
    }

    @Override
    public HttpHeaders copy() {
        FlatHttpHeaders c = new FlatHttpHeaders(names, values);
        c.fields = size == 0 ? NONE : Arrays.copyOf(fields, size * 2);
        c.size = size;
        return c;
    }

    @Override
    public boolean equals(Object o) {
        if (o == this) {
            return true;
        }
        if (!(o instanceof FlatHttpHeaders other) || other.size != size) {
            return false;
        }
        for (int i = 0; i < size * 2; i++) {
            if (!AsciiString.contentEquals(fields[i], other.fields[i])) {
                return false;
            }
        }
        return true;
    }

    @Override
    public int hashCode() {
        int h = size;
        for (int i = 0; i < size * 2; i++) {
            h = 31 * h + AsciiString.hashCode(fields[i]);
        }
        return h;
    }

    /** A value as Netty's table converts it (dates in HTTP's format), checked by the value validator. */
    private CharSequence value(CharSequence name, Object value) {
        Objects.requireNonNull(value, "value");
        CharSequence v;
        if (value instanceof CharSequence cs) {
            v = cs;
        } else if (value instanceof Date d) {
            v = DateFormatter.format(d);
        } else if (value instanceof Calendar c) {
            v = DateFormatter.format(c.getTime());
        } else {
            v = value.toString();
        }
        try {
            values.validate(v);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Validation failed for header '" + name + "'", e); // as Netty's table says it
        }
        return v;
    }

    private void append(CharSequence name, CharSequence value) {
        if (size * 2 == fields.length) {
            fields = size == 0 ? new CharSequence[16] : Arrays.copyOf(fields, fields.length * 2);
        }
        fields[size * 2] = name;
        fields[size * 2 + 1] = value;
        size++;
    }
}
