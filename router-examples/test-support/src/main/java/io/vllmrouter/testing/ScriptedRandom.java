package io.vllmrouter.testing;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A random source whose {@code nextInt(bound)} answers come from a script, and which records the
 * bounds it was asked for; {@code nextLong()} answers come from a second script ({@link #withLongs}).
 * Any other use, or running off a script, fails the test.
 */
public final class ScriptedRandom implements RandomGenerator {

    private final Deque<Integer> script = new ArrayDeque<>();
    private final Deque<Long> longScript = new ArrayDeque<>();
    /** The bounds {@code nextInt} was called with, in order. */
    public final List<Integer> bounds = new ArrayList<>();

    public ScriptedRandom(int... answers) {
        for (int a : answers) {
            script.add(a);
        }
    }

    @Override
    public int nextInt(int bound) {
        bounds.add(bound);
        Integer answer = script.poll();
        if (answer == null) {
            throw new AssertionError("unexpected nextInt(" + bound + "): script exhausted");
        }
        if (answer < 0 || answer >= bound) {
            throw new AssertionError("scripted " + answer + " out of [0, " + bound + ")");
        }
        return answer;
    }

    /** Adds {@code answers} to the script of {@code nextLong()}; returns this. */
    public ScriptedRandom withLongs(long... answers) {
        for (long a : answers) {
            longScript.add(a);
        }
        return this;
    }

    @Override
    public long nextLong() {
        Long answer = longScript.poll();
        if (answer == null) {
            throw new AssertionError("unexpected nextLong(): script exhausted");
        }
        return answer;
    }

    /** Whether every scripted answer was used. */
    public boolean exhausted() {
        return script.isEmpty() && longScript.isEmpty();
    }
}
