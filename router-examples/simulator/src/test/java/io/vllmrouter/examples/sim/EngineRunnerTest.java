package io.vllmrouter.examples.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The engine on its thread, driven the way handler threads drive it: no HTTP. */
class EngineRunnerTest {

    private final AtomicInteger steps = new AtomicInteger();
    /** Notified at the end of each engine step, after the engine published its figures. */
    private final Object stepEnded = new Object();
    private final List<EngineRunner> runners = new ArrayList<>();

    @AfterEach
    void stopAll() {
        runners.forEach(r -> {
            r.stop();
            r.join(2000);
        });
    }

    private EngineRunner start(SimConfig.Builder b) {
        SimConfig config = b.build();
        EngineRunner runner = new EngineRunner(config, new SimKvEvents(config.kvEvents()),
                new LatencyHistograms(config.maxModelLen()), () -> {
                    synchronized (stepEnded) {
                        steps.incrementAndGet();
                        stepEnded.notifyAll();
                    }
                });
        runners.add(runner);
        runner.start();
        return runner;
    }

    private static SimConfig.Builder fast() {
        return SimConfig.builder().timeScale(200).seed(3).defaultOutputTokens(6);
    }

    /** Waits for {@code seq} the way a whole answer's writer does. */
    private static EngineRunner.Progress untilEnded(EngineRunner runner, Sequence seq) {
        EngineRunner.Progress p = runner.progress(seq);
        while (!p.ended()) {
            runner.awaitChange(seq, p.produced());
            p = runner.progress(seq);
        }
        return p;
    }

    @Test
    void aSubmittedSequenceRunsToItsEndAndWakesItsWriter() {
        EngineRunner runner = start(fast());
        TokenText text = new TokenText(3, "hello", 0);
        Sequence seq = runner.submit(12, SimTokenizer.encode("hello"), text, 5, "length");
        EngineRunner.Progress end = untilEnded(runner, seq);
        assertThat(end).isEqualTo(new EngineRunner.Progress(5, true, true));
        assertThat(seq.finishReason()).isEqualTo("length");
        assertThat(seq.arrivalMs()).isLessThanOrEqualTo(seq.firstTokenMs());
        assertThat(steps.get()).as("each step wakes the state's waiters").isPositive();
        assertThat(runner.engine().generationTokensTotal()).isEqualTo(5);
    }

    @Test
    void generateHandsEachTokenOfTheSeededTextToTheSink() throws IOException {
        EngineRunner runner = start(fast());
        StringBuilder heard = new StringBuilder();
        Sequence seq = runner.generate("tell me", 4, 3, 42, heard::append, () -> false);
        TokenText same = new TokenText(3, "tell me", 42);
        assertThat(heard.toString()).isEqualTo(same.next() + same.next() + same.next());
        assertThat(seq.state()).isEqualTo(Sequence.FINISHED);
        assertThat(seq.finishReason()).as("cut by max tokens").isEqualTo("length");

        Sequence whole = runner.generate("tell me", 4, 0, 42, t -> { }, () -> false);
        assertThat(whole.outputTokens()).isEqualTo(6);
        assertThat(whole.finishReason()).as("the default length is a natural end").isEqualTo("stop");
    }

    @Test
    void anAbortAskedForEndsTheGenerationUnfinished() throws IOException {
        EngineRunner runner = start(fast().defaultOutputTokens(10_000).maxModelLen(20_000));
        AtomicInteger heard = new AtomicInteger();
        Sequence seq = runner.generate("long", 4, 0, 0, t -> heard.incrementAndGet(), () -> heard.get() >= 3);
        assertThat(seq.state()).isEqualTo(Sequence.ABORTED);
        assertThat(heard.get()).isBetween(3, 9_999);
    }

    /**
     * Waits until the engine's published figures show nothing running or waiting: they are
     * published at the end of a step, and a writer may see its sequence end before that.
     */
    private void awaitIdle(EngineRunner runner) throws InterruptedException {
        synchronized (stepEnded) {
            while (runner.engine().running() + runner.engine().waiting() > 0) {
                stepEnded.wait();
            }
        }
    }

    @Test
    void aSinkThatFailsAbortsItsSequence() throws InterruptedException {
        EngineRunner runner = start(fast().defaultOutputTokens(10_000).maxModelLen(20_000));
        assertThatThrownBy(() -> runner.generate("gone", 4, 0, 0, t -> {
            throw new IOException("client went away");
        }, () -> false)).isInstanceOf(IOException.class).hasMessage("client went away");
        // A sequence submitted after it ends after the engine has taken the abort in.
        Sequence probe = runner.submit(1, new int[] {1}, new TokenText(0, "", 0), 1, "length");
        untilEnded(runner, probe);
        assertThat(runner.engine().successTotal("abort")).isEqualTo(1);
        awaitIdle(runner);   // the test's timeout fails it if the aborted sequence stayed in the batch
    }

    @Test
    void stoppingEndsEveryWaitAndNothingCompletes() {
        EngineRunner runner = start(fast().defaultOutputTokens(10_000).maxModelLen(20_000));
        Sequence seq = runner.submit(4, new int[] {1, 2, 3, 4}, new TokenText(3, "x", 0), 10_000, "length");
        runner.awaitChange(seq, 0);
        runner.stop();
        EngineRunner.Progress p = untilEnded(runner, seq);
        assertThat(p.ended()).isTrue();
        assertThat(p.finished()).isFalse();
        runner.join(2000);
        assertThat(seq.state()).as("aborted by the engine thread as it ended").isEqualTo(Sequence.ABORTED);
    }

    @Test
    void streamWriterGetsEveryTokenWhenTheEngineFinishesBetweenItsReads() {
        // The engine thread ends the sequence right after the writer has read its count.
        Sequence seq = new Sequence(10, 20, null, 0, "length") {
            private boolean finishedAfterFirstRead;

            @Override
            public int produced() {
                int n = super.produced();
                if (!finishedAfterFirstRead) {
                    finishedAfterFirstRead = true;
                    setProduced(20);
                    setState(Sequence.FINISHED);
                }
                return n;
            }
        };
        seq.setState(Sequence.RUNNING);
        seq.setProduced(7);

        EngineRunner.Progress first = EngineRunner.Progress.of(seq, false);
        assertThat(first.ended()).as("ended with %s of 20 tokens", first.produced()).isFalse();
        EngineRunner.Progress last = EngineRunner.Progress.of(seq, false);
        assertThat(last).isEqualTo(new EngineRunner.Progress(20, true, true));
    }
}
