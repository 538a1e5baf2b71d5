package io.vllmrouter.strategies;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.random.RandomGenerator;

/**
 * A random source whose {@code nextInt(bound)} answers come from a script, and which records the
 * bounds it was asked for. Any other use, or running off the script, fails the test.
 */
final class ScriptedRandom implements RandomGenerator {

    private final Deque<Integer> script = new ArrayDeque<>();
    final List<Integer> bounds = new ArrayList<>();

    ScriptedRandom(int... answers) {
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

    @Override
    public long nextLong() {
        throw new AssertionError("unexpected nextLong()");
    }

    boolean exhausted() {
        return script.isEmpty();
    }
}
