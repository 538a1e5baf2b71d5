package io.vllmrouter.examples.kvevents;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The blocks one server rank holds, by the router's key, with how many copies it holds in GPU
 * memory and in other media: written by one thread (the index's owner), read by any number of
 * request threads at the same time without a lock.
 *
 * <p>Open addressing with linear probing in two {@code long} arrays. A slot's value (the counts,
 * GPU in the low 32 bits, other media in the high 32) is stored before its key, both with release
 * semantics, and readers load the key then the value with acquire semantics, so a reader that finds
 * a key sees its counts. A removed key leaves a tombstone that no insert reuses, so a slot never
 * changes from one key to another under a reader; when live keys and tombstones fill half the
 * table, the owner copies the live keys into new arrays and publishes them through a volatile field
 * (a reader keeps the arrays it started with). A reader may see a count a moment old, which only
 * moves a routing hint by one event.
 */
final class BlockTable {

    private static final long EMPTY = 0;
    private static final long TOMBSTONE = 1;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);
    static final int MIN_CAPACITY = 16;

    /** One generation of the arrays. */
    static final class Slots {
        final long[] keys;
        final long[] counts;
        final int mask;

        Slots(int capacity) {
            keys = new long[capacity];
            counts = new long[capacity];
            mask = capacity - 1;
        }

        /** The counts of {@code key}, 0 when absent. Any thread. */
        long get(long key) {
            long k = slotKey(key);
            for (int i = bucket(k, mask); ; i = (i + 1) & mask) {
                long x = (long) SLOT.getAcquire(keys, i);
                if (x == k) {
                    return (long) SLOT.getAcquire(counts, i);
                }
                if (x == EMPTY) {
                    return 0;
                }
            }
        }
    }

    private volatile Slots slots = new Slots(MIN_CAPACITY);
    /** Owner only: live keys, and live keys plus tombstones. */
    private int live;
    private int used;

    /** The arrays to read; keep them for one lookup sequence. Any thread. */
    Slots slots() {
        return slots;
    }

    static boolean inGpu(long counts) {
        return (int) counts != 0;
    }

    static boolean held(long counts) {
        return counts != 0;
    }

    private static long slotKey(long k) {
        return k == EMPTY || k == TOMBSTONE ? k + 2 : k;
    }

    private static int bucket(long k, int mask) {
        long h = k * 0x9E3779B97F4A7C15L;
        return (int) (h ^ h >>> 32) & mask;
    }

    /** Bytes after adding a key that is not there yet (a rebuild when the table would pass half full). */
    long bytesAfterInsert() {
        Slots s = slots;
        if (used + 1 > (s.mask + 1) / 2) {
            return bytesFor(capacityFor(live + 1));
        }
        return bytes();
    }

    /**
     * One more copy of {@code key}, in GPU memory or another medium. Owner only.
     *
     * @return the counts after
     */
    long add(long key, boolean gpu) {
        long k = slotKey(key);
        Slots s = slots;
        int free = -1;
        int i = bucket(k, s.mask);
        for (; ; i = (i + 1) & s.mask) {
            long x = s.keys[i];
            if (x == k) {
                long c = s.counts[i] + (gpu ? 1 : 1L << 32);
                SLOT.setRelease(s.counts, i, c);
                return c;
            }
            if (x == EMPTY) {
                free = i;
                break;
            }
        }
        if (used + 1 > (s.mask + 1) / 2) {
            s = rebuild(capacityFor(live + 1));
            free = bucket(k, s.mask);
            while (s.keys[free] != EMPTY) {
                free = (free + 1) & s.mask;
            }
        }
        long c = gpu ? 1 : 1L << 32;
        SLOT.setRelease(s.counts, free, c);
        SLOT.setRelease(s.keys, free, k);
        live++;
        used++;
        return c;
    }

    /**
     * One copy fewer of {@code key} in GPU memory or another medium; the key leaves when none is left.
     * Owner only.
     *
     * @return the counts after (0: gone, or was not there)
     */
    long remove(long key, boolean gpu) {
        long k = slotKey(key);
        Slots s = slots;
        for (int i = bucket(k, s.mask); ; i = (i + 1) & s.mask) {
            long x = s.keys[i];
            if (x == EMPTY) {
                return 0;
            }
            if (x == k) {
                long c = s.counts[i];
                if (gpu && (int) c != 0) {
                    c -= 1;
                } else if (!gpu && (c >>> 32) != 0) {
                    c -= 1L << 32;
                } else {
                    return c;   // no copy in that medium: a removal for a copy we never saw
                }
                if (c != 0) {
                    SLOT.setRelease(s.counts, i, c);
                    return c;
                }
                SLOT.setRelease(s.counts, i, 0L);
                SLOT.setRelease(s.keys, i, TOMBSTONE);
                live--;
                if (s.mask + 1 > MIN_CAPACITY && live < (s.mask + 1) / 16) {
                    rebuild(capacityFor(live));
                }
                return 0;
            }
        }
    }

    /** The counts of {@code key}. Owner only (or any thread, as {@link Slots#get}). */
    long get(long key) {
        return slots.get(key);
    }

    int size() {
        return live;
    }

    /** Forgets every key. Owner only. */
    void clear() {
        slots = new Slots(MIN_CAPACITY);
        live = 0;
        used = 0;
    }

    long bytes() {
        return bytesFor(slots.mask + 1);
    }

    static long bytesFor(int capacity) {
        return 2L * (16 + 8L * capacity) + 32 + 16;
    }

    /** A power of two at which {@code n} keys fill a quarter of the table. */
    private static int capacityFor(int n) {
        int c = MIN_CAPACITY;
        while (c < 4L * n && c < (1 << 30)) {
            c <<= 1;
        }
        return c;
    }

    private Slots rebuild(int capacity) {
        Slots old = slots;
        Slots next = new Slots(capacity);
        for (int i = 0; i <= old.mask; i++) {
            long x = old.keys[i];
            if (x != EMPTY && x != TOMBSTONE) {
                int j = bucket(x, next.mask);
                while (next.keys[j] != EMPTY) {
                    j = (j + 1) & next.mask;
                }
                next.keys[j] = x;
                next.counts[j] = old.counts[i];
            }
        }
        used = live;
        slots = next;   // volatile: publishes the filled arrays
        return next;
    }
}
