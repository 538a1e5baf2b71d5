package io.vllmrouter.examples.sim;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class SimulateCommandTest {

    @Test
    void optionsBecomeTheConfig() {
        SimulateCommand cmd = new SimulateCommand();
        new CommandLine(cmd).parseArgs("--port", "0", "--model", "a", "--model", "b", "--max-num-seqs", "3",
                "--ttft-ms", "30", "--tpot-ms", "12", "--seed", "9", "--error-rate", "0.25", "--prefix-cache",
                "--time-scale", "5", "--data-parallel-size", "4", "--no-responses-store");
        SimConfig c = cmd.toConfig();
        assertThat(c.port()).isZero();
        assertThat(c.host()).isEqualTo("127.0.0.1");
        assertThat(c.models()).containsExactly("a", "b");
        assertThat(c.maxNumSeqs()).isEqualTo(3);
        assertThat(c.serviceModel().ttftBaseMs()).isEqualTo(30);
        assertThat(c.serviceModel().tpotBaseMs()).isEqualTo(12);
        assertThat(c.seed()).isEqualTo(9);
        assertThat(c.faults().errorRate()).isEqualTo(0.25);
        assertThat(c.prefixCache()).isTrue();
        assertThat(c.timeScale()).isEqualTo(5);
        assertThat(c.dataParallelSize()).isEqualTo(4);
        assertThat(c.responsesStore()).isFalse();
    }

    @Test
    void defaultsMatchVllmsPort() {
        SimulateCommand cmd = new SimulateCommand();
        new CommandLine(cmd).parseArgs();
        assertThat(cmd.toConfig().port()).isEqualTo(8000);
        assertThat(cmd.toConfig().models()).containsExactly(SimConfig.DEFAULT_MODEL);
        assertThat(cmd.toConfig().dataParallelSize()).isEqualTo(1);
        assertThat(cmd.toConfig().responsesStore()).isTrue();
    }

    @Test
    void badValueIsReportedWithItsName() {
        StringWriter err = new StringWriter();
        CommandLine cl = new CommandLine(new SimulateCommand());
        cl.setErr(new PrintWriter(err));
        int code = cl.execute("--max-num-seqs", "0");
        assertThat(code).isEqualTo(2);
        assertThat(err.toString()).contains("max_num_seqs: 0 (expected: >= 1)");
    }

    @Test
    void configValidationNamesTheValue() {
        assertThatThrownBy(() -> SimConfig.builder().timeScale(0)).hasMessage("time_scale: 0.0 (expected: > 0)");
        assertThatThrownBy(() -> SimConfig.builder().dataParallelSize(0)).hasMessage("data_parallel_size: 0 (expected: 1..1024)");
        assertThatThrownBy(() -> SimConfig.builder().models()).hasMessageContaining("models: []");
        assertThatThrownBy(() -> new Faults(1.5, false, 0)).hasMessage("error_rate: 1.5 (expected: 0..1)");
        assertThatThrownBy(() -> SimConfig.builder().defaultOutputTokens(100).maxModelLen(50).build())
                .hasMessageContaining("default_output_tokens: 100");
    }
}
