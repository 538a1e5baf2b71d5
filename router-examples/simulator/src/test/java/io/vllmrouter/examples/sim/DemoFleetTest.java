package io.vllmrouter.examples.sim;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;

import static io.vllmrouter.examples.sim.SimTestSupport.*;
import static org.assertj.core.api.Assertions.assertThat;

class DemoFleetTest {

    @Test
    void startsThreeMixedServersAndTheLoadReachesThem() throws Exception {
        try (DemoFleet fleet = DemoFleet.start(42, 200)) {
            List<DemoFleet.Server> servers = fleet.servers();
            assertThat(servers).extracting(DemoFleet.Server::capacity).containsExactly(3, 5, 4);
            assertThat(servers).extracting(DemoFleet.Server::url).doesNotHaveDuplicates();
            assertThat(servers.get(1).models()).containsExactly(DemoFleet.MODEL, DemoFleet.SECOND_MODEL);
            for (DemoFleet.Server s : servers) {
                assertThat(s.url().getHost()).isEqualTo("127.0.0.1");
                JsonNode models = json(get(s.url(), "/v1/models").body());
                List<String> ids = StreamSupport.stream(models.path("data").spliterator(), false)
                        .map(n -> n.path("id").asText()).collect(Collectors.toList());
                assertThat(ids).isEqualTo(s.models());
            }

            // The fast server serves both models, so the load's mix all succeeds there.
            try (SyntheticLoad load = SyntheticLoad.start(servers.get(1).url(), 200, 7)) {
                assertThat(load.awaitCompleted(10, SAFETY)).isTrue();
                assertThat(load.succeeded()).isGreaterThanOrEqualTo(10);
                assertThat(load.failed()).isZero();
            }
            assertThat(metric(fleet.simulators().get(1), "vllm:prompt_tokens_total")).isPositive();
        }
    }

    @Test
    void loadCountsFailuresFromAServerThatDoesNotServeTheSecondModel() throws Exception {
        try (DemoFleet fleet = DemoFleet.start(1, 200);
             SyntheticLoad load = SyntheticLoad.start(fleet.servers().get(0).url(), 300, 3)) {
            assertThat(load.awaitCompleted(30, SAFETY)).isTrue();
            assertThat(load.failed()).isPositive();      // the 404s for demo-qwen-0.5b
            assertThat(load.succeeded()).isPositive();
        }
    }
}
