package io.vllmrouter.core;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Token ids of recent prompts by a 64-bit key of their content, at most {@code maxTokens} ids in
 * all; the oldest entries leave first. Lock-free: a concurrent map and a queue of keys in insertion
 * order; the bound may be passed by the entries of racing inserts until the next insert trims.
 */
final class TokenCache {

    private final long maxTokens;
    private final ConcurrentHashMap<Long, int[]> entries = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<Long> order = new ConcurrentLinkedQueue<>();
    private final AtomicLong tokens = new AtomicLong();

    TokenCache(long maxTokens) {
        this.maxTokens = maxTokens;
    }

    int[] get(long key) {
        return entries.get(key);
    }

    void put(long key, int[] ids) {
        if (ids.length > maxTokens) {
            return;
        }
        int[] old = entries.put(key, ids);
        if (old == null) {
            order.add(key);
            tokens.addAndGet(ids.length);
        } else {
            tokens.addAndGet(ids.length - old.length);
        }
        while (tokens.get() > maxTokens) {
            Long k = order.poll();
            if (k == null) {
                break;
            }
            int[] gone = entries.remove(k);
            if (gone != null) {
                tokens.addAndGet(-gone.length);
            }
        }
    }

    int size() {
        return entries.size();
    }

    long tokens() {
        return tokens.get();
    }
}
