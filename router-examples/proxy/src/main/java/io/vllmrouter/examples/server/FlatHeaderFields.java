package io.vllmrouter.examples.server;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;

import java.util.AbstractMap.SimpleImmutableEntry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;

/**
 * The storage and reading side of {@link FlatHttpHeaders}: names and values in one array of pairs,
 * in the order added, found by scanning with names compared as Netty compares them (ASCII case
 * ignored); taking fields out and appending them. What may be written, and how values are checked,
 * is {@link FlatHttpHeaders}'s.
 */
abstract class FlatHeaderFields extends HttpHeaders {

    private static final CharSequence[] NONE = new CharSequence[0];

    /** Name, value, name, value, ...: {@code size} pairs; no array until the first. */
    private CharSequence[] fields = NONE;
    private int size;

    private static boolean sameName(CharSequence a, CharSequence b) {
        return a.length() == b.length() && AsciiString.contentEqualsIgnoreCase(a, b);
    }

    /** The index of the first name {@code name} at or after index {@code from} (a name's), or -1; its value is the next. */
    private int find(CharSequence name, int from) {
        CharSequence[] f = fields;
        for (int i = from; i < size * 2; i += 2) {
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
        return HeaderValues.number(get(name), Integer::valueOf);
    }

    @Override
    public int getInt(CharSequence name, int defaultValue) {
        Integer v = getInt(name);
        return v == null ? defaultValue : v;
    }

    @Override
    public Short getShort(CharSequence name) {
        return HeaderValues.number(get(name), Short::valueOf);
    }

    @Override
    public short getShort(CharSequence name, short defaultValue) {
        Short v = getShort(name);
        return v == null ? defaultValue : v;
    }

    @Override
    public Long getTimeMillis(CharSequence name) {
        return HeaderValues.millis(get(name));
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
        int next = find(name, i + 2);
        if (next < 0) {
            return Collections.singletonList(fields[i + 1].toString());
        }
        List<String> all = new ArrayList<>(4);
        all.add(fields[i + 1].toString());
        for (i = next; i >= 0; i = find(name, i + 2)) {
            all.add(fields[i + 1].toString());
        }
        return Collections.unmodifiableList(all);
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
                next = find(name, next + 2);
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
        for (int i = find(name, 0); i >= 0; i = find(name, i + 2)) {
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
        for (int i = find(name, 0); i >= 0; i = find(name, i + 2)) {
            if (HeaderValues.listed(fields[i + 1], value, ignoreCase)) {
                return true;
            }
        }
        return false;
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
        return new Fields<>(true);
    }

    @Override
    public Iterator<Map.Entry<CharSequence, CharSequence>> iteratorCharSequence() {
        return new Fields<>(false);
    }

    /** The fields in order, as entries of names and values as they are or as strings; read only, as Netty's are. */
    private final class Fields<E> implements Iterator<E> {
        private final boolean strings;
        private int next;

        Fields(boolean strings) {
            this.strings = strings;
        }

        @Override
        public boolean hasNext() {
            return next < size;
        }

        @Override
        @SuppressWarnings("unchecked")
        public E next() {
            if (next >= size) {
                throw new NoSuchElementException();
            }
            CharSequence name = fields[next * 2];
            CharSequence value = fields[next++ * 2 + 1];
            return (E) (strings ? new SimpleImmutableEntry<>(name.toString(), value.toString())
                    : new SimpleImmutableEntry<>(name, value));
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
    public boolean equals(Object o) {
        if (o == this) {
            return true;
        }
        if (!(o instanceof FlatHeaderFields other) || other.size != size) {
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

    /** Appends a field already checked. */
    final void append(CharSequence name, CharSequence value) {
        if (size * 2 == fields.length) {
            fields = size == 0 ? new CharSequence[16] : Arrays.copyOf(fields, fields.length * 2);
        }
        fields[size * 2] = name;
        fields[size * 2 + 1] = value;
        size++;
    }

    /** A copy of the fields into {@code to}, which has none. */
    final void copyInto(FlatHeaderFields to) {
        to.fields = size == 0 ? NONE : Arrays.copyOf(fields, size * 2);
        to.size = size;
    }
}
