package io.vllmrouter.examples.kvevents;

import java.util.Arrays;

/**
 * A {@code long -> long} hash map in two arrays, open addressing with linear probing, at most half
 * full, deletion by backward shift (no tombstones). For one thread: the index's owner uses it to map
 * vLLM's block hashes to the router's keys. A key of 0 is stored as another value
 * ({@link #slotKey}); a value of 0 means absent.
 */
final class LongLongMap {

    static final int MIN_CAPACITY = 16;
    private static final long ZERO_KEY = 0x9E3779B97F4A7C15L;

    private long[] keys;
    private long[] values;
    private int size;

    LongLongMap() {
        this(MIN_CAPACITY);
    }

    LongLongMap(int capacity) {
        keys = new long[capacity];
        values = new long[capacity];
    }

    private static long slotKey(long k) {
        return k == 0 ? ZERO_KEY : k;
    }

    private static int bucket(long k, int mask) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ h >>> 32) & mask;
    }

    /** The value of {@code key}, 0 when absent. */
    long get(long key) {
        long k = slotKey(key);
        int mask = keys.length - 1;
        for (int i = bucket(k, mask); ; i = (i + 1) & mask) {
            long x = keys[i];
            if (x == k) {
                return values[i];
            }
            if (x == 0) {
                return 0;
            }
        }
    }

    /** Bytes after inserting one more key: the arrays doubled when that would pass half full. */
    long bytesAfterInsert() {
        return size + 1 > keys.length / 2 ? bytesFor(keys.length * 2) : bytes();
    }

    /** Sets {@code key} to {@code value} (not 0). */
    void put(long key, long value) {
        if (size + 1 > keys.length / 2) {
            rehash(keys.length * 2);
        }
        long k = slotKey(key);
        int mask = keys.length - 1;
        for (int i = bucket(k, mask); ; i = (i + 1) & mask) {
            long x = keys[i];
            if (x == k) {
                values[i] = value;
                return;
            }
            if (x == 0) {
                keys[i] = k;
                values[i] = value;
                size++;
                return;
            }
        }
    }

    void remove(long key) {
        long k = slotKey(key);
        int mask = keys.length - 1;
        int i = bucket(k, mask);
        while (keys[i] != k) {
            if (keys[i] == 0) {
                return;
            }
            i = (i + 1) & mask;
        }
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            long x = keys[j];
            if (x == 0) {
                break;
            }
            int home = bucket(x, mask);
            boolean stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) {
                keys[i] = x;
                values[i] = values[j];
                i = j;
            }
        }
        keys[i] = 0;
        values[i] = 0;
        size--;
        if (keys.length > MIN_CAPACITY && size < keys.length / 8) {
            rehash(keys.length / 2);
        }
    }

    private void rehash(int capacity) {
        long[] oldKeys = keys;
        long[] oldValues = values;
        keys = new long[capacity];
        values = new long[capacity];
        int mask = capacity - 1;
        for (int s = 0; s < oldKeys.length; s++) {
            long x = oldKeys[s];
            if (x != 0) {
                int i = bucket(x, mask);
                while (keys[i] != 0) {
                    i = (i + 1) & mask;
                }
                keys[i] = x;
                values[i] = oldValues[s];
            }
        }
    }

    int size() {
        return size;
    }

    void clear() {
        keys = new long[MIN_CAPACITY];
        values = new long[MIN_CAPACITY];
        size = 0;
    }

    long bytes() {
        return bytesFor(keys.length);
    }

    static long bytesFor(int capacity) {
        return 2L * (16 + 8L * capacity) + 24;
    }

    @Override
    public String toString() {
        return "LongLongMap[" + size + "/" + keys.length + "]" + (size < 4 ? Arrays.toString(keys) : "");
    }
}
