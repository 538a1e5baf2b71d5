package io.vllmrouter.strategies;

/**
 * The prompt blocks one backend most likely holds in its prefix cache: a set of 64-bit block hashes
 * with least-recently-used eviction at a given capacity, in primitive arrays.
 *
 * <p>Layout: slot {@code i} holds a key and its neighbours in recency order, {@code prev} and
 * {@code next} (16 bytes); an open-addressing table of {@code int}s (slot + 1, 0 for empty, linear
 * probing, at most half full) finds a key's slot (8 to 16 bytes per slot). So an entry costs 24 to
 * 32 bytes; {@link #bytes()} counts the arrays as allocated, headers included. Every array is cut
 * into pages of {@value #PAGE} elements (32 KiB at most): no array is large enough for the garbage
 * collector to give it whole regions of its own (G1's "humongous" objects, which would waste up to
 * half the memory they take), growing adds pages instead of copying, and the heap the index uses
 * is the figure it reports. Slots grow up to the capacity, never beyond it.
 *
 * <p>Every method holds this object's monitor for the length of one lookup or one recording (a
 * few microseconds at most): locks are per backend, so picks for different prompts contend only
 * when they touch the same backend at the same instant, and there is no lock shared by all backends.
 */
final class BlockIndex {

    /** Elements per page: 32 KiB of {@code long}s, 16 KiB of {@code int}s. */
    static final int PAGE = 4096;
    private static final int PAGE_BITS = 12;
    private static final int PAGE_MASK = PAGE - 1;
    /** Bytes of an array header (with compressed class pointers, rounded up). */
    private static final int ARRAY_HEADER = 16;
    /** Bytes per slot: key, prev and next. */
    static final int SLOT_BYTES = 8 + 4 + 4;
    /** Bytes per entry at most: slot plus up to four table cells, plus a share of the page headers. */
    static final int MAX_ENTRY_BYTES = SLOT_BYTES + 4 * 4 + 1;
    /**
     * Fixed cost: the object, its four page directories, and the headers and directory references
     * of a first page of each array (later pages' are within {@link #MAX_ENTRY_BYTES}).
     */
    static final int OVERHEAD_BYTES = 96 + 4 * ARRAY_HEADER + 4 * (ARRAY_HEADER + 8);
    /** The object and its four page directories, without pages. */
    private static final int BASE_BYTES = 96 + 4 * ARRAY_HEADER;
    private static final int INITIAL_SLOTS = 64;

    final String id;
    /** 64-bit hash of {@link #id}, for rendezvous hashing. */
    final long idHash;

    private long epoch;
    private int capacity;
    /** Slots allocated (page 0 may be shorter than a page while the index is small). */
    private int slots;
    private long[][] keys = new long[0][];
    private int[][] prev = new int[0][];
    private int[][] next = new int[0][];
    private int[][] table = new int[0][];
    private int tableLength;
    private int size;
    /** Most and least recently used slots; -1 when empty. */
    private int head = -1;
    private int tail = -1;
    private volatile int publishedSize;
    private volatile long publishedBytes = BASE_BYTES;
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
        allocate(0);
        publish();
    }

    private void setCapacity(int c) {
        c = Math.max(1, c);
        if (c == capacity) {
            return;
        }
        capacity = c;
        if (slots > c) {
            // Keep the c most recent entries in exactly c slots.
            long[] keep = new long[Math.min(size, c)];
            int s = head;
            for (int i = 0; i < keep.length; i++) {
                keep[i] = key(s);
                s = next(s);
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
        if (size == slots && slots < capacity) {
            grow();
        }
        if (size < slots) {
            s = size++;
        } else {
            s = tail;
            unlink(s);
            tableRemove(key(s));
            evictions++;
        }
        setKey(s, key);
        tableInsert(key, s);
        linkFirst(s);
    }

    /**
     * More slots: a short last page is lengthened (page 0 doubling from {@value #INITIAL_SLOTS},
     * later ones at once to a whole page), a full one gets a new page after it; the table follows.
     */
    private void grow() {
        int room = capacity - slots;
        int pages = keys.length;
        int lastLength = pages == 0 ? PAGE : keys[pages - 1].length;
        int want;
        if (lastLength < PAGE) {
            int longer = pages == 1 ? Math.max(INITIAL_SLOTS, lastLength * 2) : PAGE;
            int length = Math.min(PAGE, Math.min(longer, lastLength + room));
            keys[pages - 1] = java.util.Arrays.copyOf(keys[pages - 1], length);
            prev[pages - 1] = java.util.Arrays.copyOf(prev[pages - 1], length);
            next[pages - 1] = java.util.Arrays.copyOf(next[pages - 1], length);
            want = slots + length - lastLength;
        } else {
            int length = Math.min(room, pages == 0 ? INITIAL_SLOTS : PAGE);
            keys = java.util.Arrays.copyOf(keys, pages + 1);
            prev = java.util.Arrays.copyOf(prev, pages + 1);
            next = java.util.Arrays.copyOf(next, pages + 1);
            keys[pages] = new long[length];
            prev[pages] = new int[length];
            next[pages] = new int[length];
            want = slots + length;
        }
        slots = want;
        int needTable = tableLengthFor(slots);
        if (needTable != tableLength) {
            newTable(needTable);
            for (int s = 0; s < size; s++) {
                tableInsert(key(s), s);
            }
        }
    }

    /** Empty arrays of {@code n} slots ({@code n <= PAGE} or whole pages plus a last one). */
    private void allocate(int n) {
        int pages = (n + PAGE - 1) / PAGE;
        keys = new long[pages][];
        prev = new int[pages][];
        next = new int[pages][];
        for (int i = 0; i < pages; i++) {
            int len = Math.min(PAGE, n - i * PAGE);
            keys[i] = new long[len];
            prev[i] = new int[len];
            next[i] = new int[len];
        }
        slots = n;
        size = 0;
        head = tail = -1;
        newTable(n == 0 ? 0 : tableLengthFor(n));
    }

    /** A power of two at least twice {@code n}, so the table is at most half full. */
    private static int tableLengthFor(int n) {
        return Integer.highestOneBit(Math.max(2, n) * 2 - 1) * 2;
    }

    private void newTable(int length) {
        tableLength = length;
        int pages = (length + PAGE - 1) / PAGE;
        table = new int[pages][];
        for (int i = 0; i < pages; i++) {
            table[i] = new int[Math.min(PAGE, length - i * PAGE)];
        }
    }

    private long key(int s) {
        return keys[s >>> PAGE_BITS][s & PAGE_MASK];
    }

    private void setKey(int s, long k) {
        keys[s >>> PAGE_BITS][s & PAGE_MASK] = k;
    }

    private int prev(int s) {
        return prev[s >>> PAGE_BITS][s & PAGE_MASK];
    }

    private int next(int s) {
        return next[s >>> PAGE_BITS][s & PAGE_MASK];
    }

    private void setPrev(int s, int v) {
        prev[s >>> PAGE_BITS][s & PAGE_MASK] = v;
    }

    private void setNext(int s, int v) {
        next[s >>> PAGE_BITS][s & PAGE_MASK] = v;
    }

    private int cell(int i) {
        return table[i >>> PAGE_BITS][i & PAGE_MASK];
    }

    private void setCell(int i, int v) {
        table[i >>> PAGE_BITS][i & PAGE_MASK] = v;
    }

    private void linkFirst(int s) {
        setPrev(s, -1);
        setNext(s, head);
        if (head >= 0) {
            setPrev(head, s);
        }
        head = s;
        if (tail < 0) {
            tail = s;
        }
    }

    private void unlink(int s) {
        int p = prev(s);
        int n = next(s);
        if (p >= 0) {
            setNext(p, n);
        } else {
            head = n;
        }
        if (n >= 0) {
            setPrev(n, p);
        } else {
            tail = p;
        }
    }

    private int find(long key) {
        if (tableLength == 0) {
            return -1;
        }
        int mask = tableLength - 1;
        for (int i = bucket(key, mask); ; i = (i + 1) & mask) {
            int v = cell(i);
            if (v == 0) {
                return -1;
            }
            if (key(v - 1) == key) {
                return v - 1;
            }
        }
    }

    private void tableInsert(long key, int slot) {
        int mask = tableLength - 1;
        int i = bucket(key, mask);
        while (cell(i) != 0) {
            i = (i + 1) & mask;
        }
        setCell(i, slot + 1);
    }

    /** Linear-probing deletion by backward shift: no tombstones, so lookups stay short. */
    private void tableRemove(long key) {
        int mask = tableLength - 1;
        int i = bucket(key, mask);
        while (key(cell(i) - 1) != key) {
            i = (i + 1) & mask;
        }
        int j = i;
        while (true) {
            j = (j + 1) & mask;
            int v = cell(j);
            if (v == 0) {
                break;
            }
            int home = bucket(key(v - 1), mask);
            // Move v back to the hole at i unless its home lies cyclically in (i, j].
            boolean stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
            if (!stays) {
                setCell(i, v);
                i = j;
            }
        }
        setCell(i, 0);
    }

    private static int bucket(long key, int mask) {
        return (int) (key ^ (key >>> 32)) & mask;
    }

    private void publish() {
        publishedSize = size;
        long bytes = BASE_BYTES;
        bytes += (long) slots * SLOT_BYTES + 3L * keys.length * ARRAY_HEADER + 3L * 8 * keys.length;
        bytes += 4L * tableLength + (long) table.length * (ARRAY_HEADER + 8);
        publishedBytes = bytes;
    }

    /** The bytes {@code slots} slots occupy at most (table and page headers included). */
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
        return "BlockIndex[" + id + ", " + size + "/" + capacity + " entries, " + publishedBytes + " bytes]";
    }
}
