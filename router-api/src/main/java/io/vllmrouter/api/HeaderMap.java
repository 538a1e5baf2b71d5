package io.vllmrouter.api;

import java.util.AbstractMap;
import java.util.AbstractSet;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Objects;
import java.util.Set;
import java.util.function.BiConsumer;

/**
 * HTTP headers as an immutable map from each name, spelled as received, to its values, in the order
 * the names first came. A name repeated with the same spelling is one entry with all its values;
 * the same name spelled another way is another entry (HTTP names ignore case: {@link #first} and
 * {@link #contains} do too, while {@link #get} is the exact lookup {@link Map} promises).
 *
 * <p>Kept in two arrays rather than a hash table: a request or response has a dozen headers, read
 * in order, looked up by a few names, and made once per forwarded request, so scanning beats
 * hashing and the map costs two small arrays. Entries can also be read by position
 * ({@link #nameAt(int)}, {@link #valuesAt(int)}) without an iterator.
 *
 * <pre>{@code
 * HeaderMap h = HeaderMap.builder().add("Content-Type", "application/json").add("Accept", "*\/*").build();
 * h.first("content-type"); // "application/json"
 * }</pre>
 */
public final class HeaderMap extends AbstractMap<String, List<String>> {

    /** No headers. */
    public static final HeaderMap EMPTY = new HeaderMap(new String[0], new List<?>[0], 0);

    private final String[] names;
    private final List<?>[] values;
    private final int size;

    private HeaderMap(String[] names, List<?>[] values, int size) {
        this.names = names;
        this.values = values;
        this.size = size;
    }

    public static Builder builder() {
        return new Builder(8);
    }

    /** A builder with room for {@code expected} names before it grows. */
    public static Builder builder(int expected) {
        return new Builder(Math.max(1, expected));
    }

    /** {@code headers} as a {@code HeaderMap}: itself when it is one, else a copy (lists copied too). */
    public static HeaderMap copyOf(Map<String, List<String>> headers) {
        if (headers instanceof HeaderMap h) {
            return h;
        }
        return builder(headers.size()).addAll(headers).build();
    }

    /** The first value of the name, ignoring case, or {@code null}. */
    public String first(String name) {
        for (int i = 0; i < size; i++) {
            if (sameName(names[i], name) && !values[i].isEmpty()) {
                return (String) values[i].get(0);
            }
        }
        return null;
    }

    /** Whether a header of this name, ignoring case, is present. */
    public boolean contains(String name) {
        return indexOf(names, size, name) >= 0;
    }

    /** The name of entry {@code i} (0 to {@code size() - 1}), as spelled by whoever set it. */
    public String nameAt(int i) {
        Objects.checkIndex(i, size);
        return names[i];
    }

    /** The values of entry {@code i} (0 to {@code size() - 1}): immutable, never empty unless set empty. */
    @SuppressWarnings("unchecked")
    public List<String> valuesAt(int i) {
        Objects.checkIndex(i, size);
        return (List<String>) values[i];
    }

    /** A builder starting from these headers (they are not changed). */
    public Builder toBuilder() {
        Builder b = new Builder(size + 2);
        System.arraycopy(names, 0, b.names, 0, size);
        System.arraycopy(values, 0, b.values, 0, size);
        b.size = size;
        for (int i = 0; i < size; i++) {
            b.lengths |= 1L << names[i].length();
        }
        return b;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public boolean isEmpty() {
        return size == 0;
    }

    @Override
    public boolean containsKey(Object key) {
        return exact(key) >= 0;
    }

    @Override
    @SuppressWarnings("unchecked")
    public List<String> get(Object key) {
        int i = exact(key);
        return i < 0 ? null : (List<String>) values[i];
    }

    @Override
    @SuppressWarnings("unchecked")
    public void forEach(BiConsumer<? super String, ? super List<String>> action) {
        for (int i = 0; i < size; i++) {
            action.accept(names[i], (List<String>) values[i]);
        }
    }

    @Override
    public Set<Entry<String, List<String>>> entrySet() {
        return new AbstractSet<>() {
            @Override
            public Iterator<Entry<String, List<String>>> iterator() {
                return new Iterator<>() {
                    private int next;

                    @Override
                    public boolean hasNext() {
                        return next < size;
                    }

                    @Override
                    @SuppressWarnings("unchecked")
                    public Entry<String, List<String>> next() {
                        if (next >= size) {
                            throw new NoSuchElementException();
                        }
                        int i = next++;
                        return new SimpleImmutableEntry<>(names[i], (List<String>) values[i]);
                    }
                };
            }

            @Override
            public int size() {
                return size;
            }
        };
    }

    private int exact(Object key) {
        for (int i = 0; i < size; i++) {
            if (names[i].equals(key)) {
                return i;
            }
        }
        return -1;
    }

    private static int indexOf(String[] names, int size, String name) {
        for (int i = 0; i < size; i++) {
            if (sameName(names[i], name)) {
                return i;
            }
        }
        return -1;
    }

    /** Whether two header names are the same name (HTTP names ignore case); lengths first, the cheap no. */
    private static boolean sameName(String a, String b) {
        return a.length() == b.length() && a.equalsIgnoreCase(b);
    }

    /**
     * Builds a {@link HeaderMap}; not thread-safe. {@link #build()} hands its arrays to the map
     * without copying, and a later change copies them first, so building once costs no copy.
     */
    public static final class Builder {
        /** Past this many names, {@link #add} finds a name by hash, not by scanning. */
        private static final int SCAN_LIMIT = 16;

        private String[] names;
        private List<?>[] values;
        private int size;
        /** The arrays belong to a built map: the next change copies them. */
        private boolean shared;
        /** Exact name to position, kept only once there are more than {@link #SCAN_LIMIT} names. */
        private Map<String, Integer> index;
        /**
         * Bit {@code length % 64} is set for every name length added: a name whose length has no
         * bit is new without a scan, and headers rarely share a name's length.
         */
        private long lengths;

        private Builder(int capacity) {
            names = new String[capacity];
            values = new List<?>[capacity];
        }

        /** Adds a value under {@code name}, after any it already has under that exact spelling. */
        public Builder add(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            return put(name, List.of(value));
        }

        /** Adds values under {@code name} (copied), after any it already has under that exact spelling. */
        public Builder add(String name, List<String> more) {
            Objects.requireNonNull(name, "name");
            return put(name, List.copyOf(more));
        }

        /** Adds every entry of {@code headers}, each as {@link #add(String, List)}. */
        public Builder addAll(Map<String, List<String>> headers) {
            if (headers instanceof HeaderMap h) {
                for (int i = 0; i < h.size; i++) {
                    @SuppressWarnings("unchecked")
                    List<String> v = (List<String>) h.values[i];
                    put(h.names[i], v); // already immutable
                }
            } else {
                headers.forEach(this::add);
            }
            return this;
        }

        /** Makes {@code name: value} the only header of that name, whatever the case of the ones it replaces. */
        public Builder set(String name, String value) {
            Objects.requireNonNull(value, "value");
            remove(name);
            return put(name, List.of(value));
        }

        /** Removes every header of that name, ignoring case. */
        public Builder remove(String name) {
            Objects.requireNonNull(name, "name");
            int at = indexOf(names, size, name);
            if (at < 0) {
                return this;
            }
            own();
            int kept = at;
            for (int i = at; i < size; i++) {
                String n = names[i];
                if (!sameName(n, name)) {
                    names[kept] = n;
                    values[kept] = values[i];
                    kept++;
                }
            }
            Arrays.fill(names, kept, size, null);
            Arrays.fill(values, kept, size, null);
            size = kept;
            index = null;
            return this;
        }

        /** Whether a header of this name, ignoring case, has been added. */
        public boolean contains(String name) {
            return indexOf(names, size, name) >= 0;
        }

        public HeaderMap build() {
            shared = true;
            return new HeaderMap(names, values, size);
        }

        private Builder put(String name, List<String> list) {
            own();
            int at = find(name);
            if (at >= 0) {
                @SuppressWarnings("unchecked")
                List<String> before = (List<String>) values[at];
                List<String> all = new ArrayList<>(before.size() + list.size());
                all.addAll(before);
                all.addAll(list);
                values[at] = List.copyOf(all);
                return this;
            }
            if (size == names.length) {
                names = Arrays.copyOf(names, size * 2);
                values = Arrays.copyOf(values, size * 2);
            }
            names[size] = name;
            values[size] = list;
            if (index != null) {
                index.put(name, size);
            }
            size++;
            return this;
        }

        private int find(String name) {
            long bit = 1L << name.length(); // the shift takes the length modulo 64
            boolean seen = (lengths & bit) != 0;
            lengths |= bit;
            if (!seen) {
                return -1;
            }
            if (index == null && size > SCAN_LIMIT) {
                index = new HashMap<>(size * 2);
                for (int i = 0; i < size; i++) {
                    index.put(names[i], i);
                }
            }
            if (index != null) {
                Integer at = index.get(name);
                return at == null ? -1 : at;
            }
            for (int i = 0; i < size; i++) {
                if (names[i].equals(name)) {
                    return i;
                }
            }
            return -1;
        }

        private void own() {
            if (shared) {
                names = Arrays.copyOf(names, Math.max(names.length, size + 2));
                values = Arrays.copyOf(values, names.length);
                shared = false;
            }
        }
    }
}
