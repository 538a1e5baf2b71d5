package io.vllmrouter.examples.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** A server's speed over time, and the vLLM histograms the engine feeds in simulated time. */
class SpeedDriftTest {

    @Test
    void factorsAreLinearBetweenPointsOneBeforeAndTheLastAfter() {
        SpeedDrift d = SpeedDrift.parse("30:1, 40:4");
        assertThat(d.factorAt(0)).isEqualTo(1);
        assertThat(d.factorAt(30_000)).isEqualTo(1);
        assertThat(d.factorAt(35_000)).isCloseTo(2.5, within(1e-12));
        assertThat(d.factorAt(40_000)).isEqualTo(4);
        assertThat(d.factorAt(1e9)).isEqualTo(4);
        assertThat(SpeedDrift.parse("10:3").factorAt(9_999)).as("a step").isEqualTo(1);
        assertThat(SpeedDrift.parse("10:3").factorAt(10_000)).isEqualTo(3);
        assertThat(SpeedDrift.parse(" ")).isSameAs(SpeedDrift.NONE);
        assertThat(SpeedDrift.NONE.factorAt(5)).isEqualTo(1);
    }

    @Test
    void badDriftsAreNamed() {
        assertThatThrownBy(() -> SpeedDrift.parse("30"))
                .hasMessage("drift: '30' (expected: SECONDS:FACTOR pairs separated by commas, such as 30:1,35:4)");
        assertThatThrownBy(() -> SpeedDrift.parse("30:0")).hasMessage("drift: factor 0.0 (expected: > 0)");
        assertThatThrownBy(() -> SpeedDrift.parse("30:1,20:2")).hasMessage("drift: time 20.0 (expected: seconds >= 0, increasing)");
    }

    @Test
    void aDriftSlowsDecodingAndPrefillFromItsTime() {
        ServiceModel m = new ServiceModel(20, 0, 10, 0);
        BatchEngine engine = new BatchEngine(m, 4, 10_000, 0, 5);
        engine.drift(SpeedDrift.parse("0.5:1,0.501:3"), 0);  // three times slower from half a second on
        Sequence before = new Sequence(10, 11, null, 0, "length");
        engine.submit(before);
        engine.advanceTo(1_000);
        // 20 ms prefill, then 10 tokens 10 ms apart.
        assertThat(before.firstTokenMs()).isCloseTo(20, within(1e-9));
        assertThat(before.finishMs()).isCloseTo(120, within(1e-9));
        Sequence after = new Sequence(10, 11, null, 1_000, "length");
        engine.submit(after);
        engine.advanceTo(5_000);
        assertThat(after.firstTokenMs()).isCloseTo(1_060, within(1e-6));
        assertThat(after.finishMs()).isCloseTo(1_060 + 10 * 30, within(1e-6));
    }

    @Test
    void theHistogramsHoldWhatVllmsWouldForTheSameRequests() {
        ServiceModel m = new ServiceModel(40, 0, 15, 0);
        BatchEngine engine = new BatchEngine(m, 1, 10_000, 0, 5);
        LatencyHistograms h = new LatencyHistograms(8192);
        engine.histograms(h);
        Sequence first = new Sequence(100, 65, null, 0, "length");
        Sequence second = new Sequence(200, 33, null, 0, "length");  // waits for the one slot
        engine.submit(first);
        engine.submit(second);
        engine.advanceTo(10_000);
        StringBuilder b = new StringBuilder();
        h.appendTo(b, "\"0\"", "\"m\"");
        String text = b.toString();
        // 64 + 32 token gaps of 15 ms.
        assertThat(sample(text, "vllm:inter_token_latency_seconds_count")).isEqualTo(96);
        assertThat(sample(text, "vllm:inter_token_latency_seconds_sum")).isCloseTo(96 * 0.015, within(1e-9));
        // Prefill 40 ms each, no queueing in it; the second waited 1,000 ms for the slot.
        assertThat(sample(text, "vllm:request_prefill_time_seconds_count")).isEqualTo(2);
        assertThat(sample(text, "vllm:request_prefill_time_seconds_sum")).isCloseTo(0.080, within(1e-9));
        assertThat(sample(text, "vllm:request_queue_time_seconds_sum")).isCloseTo(1.0, within(1e-9));
        assertThat(sample(text, "vllm:time_to_first_token_seconds_sum")).isCloseTo(0.040 + 1.040, within(1e-9));
        assertThat(sample(text, "vllm:request_prompt_tokens_sum")).isEqualTo(300);
        assertThat(sample(text, "vllm:request_generation_tokens_sum")).isEqualTo(98);
        assertThat(sample(text, "vllm:request_generation_tokens_count")).isEqualTo(2);
        assertThat(sample(text, "vllm:request_time_per_output_token_seconds_sum")).isCloseTo(0.030, within(1e-9));
        assertThat(text).contains("vllm:inter_token_latency_seconds_bucket{engine=\"0\",le=\"0.025\",model_name=\"m\"} 96.0")
                .contains("vllm:inter_token_latency_seconds_bucket{engine=\"0\",le=\"0.01\",model_name=\"m\"} 0.0")
                .contains("vllm:request_prompt_tokens_bucket{engine=\"0\",le=\"5000.0\",model_name=\"m\"} 2.0")
                .doesNotContain("le=\"10000.0\"");
    }

    private static double sample(String text, String name) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name) + "\\{[^}]*\\} (\\S+)$").matcher(text);
        assertThat(m.find()).as(name).isTrue();
        return Double.parseDouble(m.group(1));
    }
}
