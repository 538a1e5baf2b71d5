package io.vllmrouter.strategies;

import java.util.Arrays;

/**
 * The prompt blocks one backend most likely holds in its prefix cache: a set of 64-bit block hashes
 * with least-recently-used eviction at a given capacity, in primitive arrays.
 *
 * <p>Layout: slot {@code i} holds {@code keys[i]} and its neighbours in recency order
 * {@code prev[i]}/{@code next[i]} (16 bytes); an open-addressing table of {@code int}s (slot + 1,
 * 0 for empty, linear probing, at most half full) finds a key's slot (8 to 16 bytes per slot). So
 * an entry costs 24 to 32 bytes; {@link #bytes()} counts the arrays as allocated. Arrays grow by
 * doubling up to the capacity, never beyond it.
 *
 * <p>Every method holds this object's monitor for the length of one lookup or one recording (a
 * few microseconds at most): locks are per backend, so picks for different prompts contend only
 * when they touch the same backend at the same instant, and there is no lock shared by all backends.
 */
final class BlockIndex {

    /** Bytes per slot in {@code keys}, {@code prev} and {@code next}. */
    static final int SLOT_BYTES = 8 + 4 + 4;
    /** Bytes per entry at most: slot plus two to four table cells. */
    static final int MAX_ENTRY_BYTES = SLOT_BYTES + 4 * 4;
    /** Fixed cost of the object and its four array headers. */
    static final int OVERHEAD_BYTES = 48 + 4 * 16;
    private static final int INITIAL_SLOTS = 64;

    final String id;
    /** 64-bit hash of {@link #id}, for rendezvous hashing. */
    final long idHash;

    private long epoch;
    private int capacity;
    private long[] keys = new long[0];
    private int[] prev = new int[0];
    private int[] next = new int[0];
    private int[] table = new int[0];
    private int size;
    /** Most and least recently used slots; -1 when empty. */
    private int head = -1;
    private int tail = -1;
    private volatile int publishedSize;
    private volatile long publishedBytes = OVERHEAD_BYTES;
    private long evictions;

    BlockIndex(String id, long epoch) {
        this.id = id;
        this.idHash = hash64(id);
        this.epoch = epoch;
    }

    /** Entries held (read without the lock: the figure after the last change). */
    int size() {
        return publishedSize;
    }

    /** Bytes of the arrays and the object, as allocated. */
    long bytes() {
        return publishedBytes;
    }

    synchronized long evictions() {
        return evictions;
    }

    synchronized int capacity() {
        return capacity;
    }

    /**
     * How many leading blocks of {@code hashes} this backend holds: the largest {@code k} such that
     * block {@code k - 1} is present. A block's hash covers everything before it, so presence is
     * treated as monotone (binary search); LRU eviction takes a prompt's later blocks first, which
     * keeps it so. An index of another epoch is emptied first.
     */
    synchronized int longestPrefix(long[] hashes, long epoch) {
        if (epoch != this.epoch) {
            reset(epoch);
            return 0;
        }
        if (size == 0) {
            return 0;
        }
        int lo = 0;
        int hi = hashes.length;
        while (lo < hi) {
            int mid = (lo + hi + 1) >>> 1;
            if (find(hashes[mid - 1]) >= 0) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    /**
     * Records that the backend now holds the first {@code count} blocks (at most {@code capacity}
     * of them), the first block most recently used, as vLLM frees a sequence's blocks from the end.
     * Evicts the least recently used beyond {@code capacity}.
     */
    synchronized void record(long[] hashes, int count, long epoch, int capacity) {
        if (epoch != this.epoch) {
            reset(epoch);
        }
        setCapacity(capacity);
        int n = Math.min(Math.min(count, hashes.length), this.capacity);
        for (int i = n - 1; i >= 0; i--) {
            touch(hashes[i]);
        }
        publish();
    }

    /** Forgets everything (backend restarted or left). */
    synchronized void clear() {
        reset(epoch);
    }

    /** Applies a new capacity at once, evicting and shrinking the arrays when it is lower. */
    synchronized void resize(int capacity) {
        setCapacity(capacity);
        publish();
    }

    private void reset(long newEpoch) {
        epoch = newEpoch;
        keys = new long[0];
        prev = new int[0];
        next = new int[0];
        table = new int[0];
        size = 0;
        head = tail = -1;
        publish();
    }

    private void setCapacity(int c) {
        c = Math.max(1, c);
        if (c == capacity) {
            return;
        }
        capacity = c;
        if (keys.length > c) {
            // Keep the c most recent entries in arrays of exactly c slots.
            long[] keep = new long[Math.min(size, c)];
            int s = head;
            for (int i = 0; i < keep.length; i++) {
                keep[i] = keys[s];
                s = next[s];
            }
            allocate(c);
            for (int i = keep.length - 1; i >= 0; i--) {
                touch(keep[i]);
            }
        }
    }

    /** Makes {@code key} the most recently used, inserting it (and evicting) when absent. */
    private void touch(long key) {
        int s = find(key);
        if (s >= 0) {
            if (s != head) {
                unlink(s);
                linkFirst(s);
            }
            return;
        }
        if (size == keys.length) {
            if (keys.length < capacity) {
                grow(Math.min(capacity, Math.max(INITIAL_SLOTS, keys.length * 2)));
            }
        }
        if (size < keys.length) {
            s = size++;
        } else {
            s = tail;
            unlink(s);
            tableRemove(keys[s]);
            evictions++;
        }
        keys[s] = key;
        tableInsert(key, s);
        linkFirst(s);
    }

    private void grow(int slots) {
        long[] oldKeys = keys;
        int[] oldNext = next;
        int oldHead = head;
        int n = size;
        long[] order = new long[n];
        int s = oldHead;
        for (int i = 0; i < n; i++) {
            order[i] = oldKeys[s];
            s = oldNext[s];
        }
        allocate(slots);
        for (int i = n - 1; i >= 0; i--) {
            int slot = size++;
            keys[slot] = order[i];
            tableInsert(order[i], slot);
            linkFirst(slot);
        }
    }

    private void allocate(int slots) {
        keys = new long[slots];
        prev = new int[slots];
        next = new int[slots];
        table = new int[Integer.highestOneBit(Math.max(2, slots) * 2 - 1) * 2];
        size = 0;
        head = tail = -1;
    }

    private void linkFirst(int s) {
        prev[s] = -1;
        next[s] = head;
        if (head >= 0) {
            prev[head] = s;
        }
        head = s;
        if (tail < 0) {
            tail = s;
        }
    }

    private void unlink(int s) {
        int p = prev[s];
        int n = next[s];
        if (p >= 0) {
            next[p] = n;
        } else {
            head = n;
        }
        if (n >= 0) {
            prev[n] = p;
        } else {
            tail = p;
        }
    }

    private int find(long key) {
        int[] t = table;
        if (t.length == 0) {
            return -1;
        }
        int mask = t.length - 1;
        for (int i = bucket(key, mask); ; i = (i + 1) & mask) {
            int v = t[i];
            if (v == 0) {
                return -1;
            }
            if (keys[v - 1] == key) {
                return v - 1;
            }
        }
    }

    private void tableInsert(long key, int slot) {
        int mask = table.length - 1;
        int i = bucket(key, mask);
        while (table[i] != 0) {
            i = (i + 1) & mask;
        }
        table[i] = slot + 1;
    }

    /** Linear-probing deletion by backward shift: no tombstones, so lookups stay short. */
    private void tableRemove(long key) {
        int mask = table.length - 1;
        int i = bucket(key, mask);
        while (keys[table[i] - 1] != key) {
            i = (i + 1) & mask;
        }
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            int v = table[j];
            if (v == 0) {
                break;
            }
            int home = bucket(keys[v - 1], mask);
            // Move v back to the hole at i unless its home lies cyclically in (i, j].
            boolean stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) {
                table[i] = v;
                i = j;
            }
        }
        table[i] = 0;
    }

    private static int bucket(long key, int mask) {
        return (int) (key ^ (key >>> 32)) & mask;
    }

    private void publish() {
        publishedSize = size;
        publishedBytes = OVERHEAD_BYTES + (long) keys.length * SLOT_BYTES + 4L * table.length;
    }

    /** The bytes {@code slots} slots occupy at most (table included). */
    static long bytesFor(long slots) {
        return OVERHEAD_BYTES + slots * MAX_ENTRY_BYTES;
    }

    static long hash64(String s) {
        long h = 0xcbf29ce484222325L;
        for (int i = 0; i < s.length(); i++) {
            h = (h ^ s.charAt(i)) * 0x100000001b3L;
        }
        return io.vllmrouter.api.spi.PromptBlocks.mix(h);
    }

    @Override
    public synchronized String toString() {
        return "BlockIndex[" + id + ", " + size + "/" + capacity + ", " + Arrays.toString(Arrays.copyOf(keys, Math.min(size, 4))) + "]";
    }
}
