package io.vllmrouter.core.discovery;

import io.vllmrouter.testing.FakeClock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.extension.ExtendWith;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

@Timeout(60)
@ExtendWith(QuietDiscoveryLogs.class)
class DnsDiscoveryTest {

    private static InetAddress ip(String a) throws UnknownHostException {
        return InetAddress.getByName(a);   // a literal: nothing is looked up
    }

    @Test
    void resolvesOnTheIntervalAndReportsOnlyChanges() throws Exception {
        FakeClock clock = new FakeClock();
        AtomicReference<Object> answer = new AtomicReference<>(List.of(ip("127.0.0.3"), ip("127.0.0.2"), ip("127.0.0.2")));
        List<String> asked = new ArrayList<>();
        DnsDiscovery.Resolver resolver = host -> {
            asked.add(host);
            Object a = answer.get();
            if (a instanceof UnknownHostException e) {
                throw e;
            }
            @SuppressWarnings("unchecked")
            List<InetAddress> list = (List<InetAddress>) a;
            return list;
        };
        DiscoveryConfig config = DiscoveryConfig.builder(DiscoveryConfig.Kind.DNS).host("vllm-headless.llm.svc")
                .port(8000).defaultCapacity(6).interval(Duration.ofSeconds(10)).build();
        List<List<String>> reported = new ArrayList<>();
        try (DnsDiscovery dns = new DnsDiscovery(config, clock, resolver)) {
            dns.start(servers -> reported.add(servers.stream().map(s -> s.id() + " x" + s.maxConcurrentRequests())
                    .collect(Collectors.toList())));
            clock.runDueTasks();
            assertThat(reported).containsExactly(List.of("http://127.0.0.2:8000 x6", "http://127.0.0.3:8000 x6"));

            clock.advance(Duration.ofSeconds(10));                        // same answer: nothing reported
            assertThat(reported).hasSize(1);

            answer.set(List.of(ip("127.0.0.3"), ip("127.0.0.4")));          // a pod left, another came
            clock.advance(Duration.ofSeconds(10));
            assertThat(reported.get(1)).containsExactly("http://127.0.0.3:8000 x6", "http://127.0.0.4:8000 x6");

            answer.set(new UnknownHostException("vllm-headless.llm.svc"));  // DNS trouble: the last list stays
            clock.advance(Duration.ofSeconds(10));
            assertThat(reported).hasSize(2);

            answer.set(List.of(ip("::1")));                                 // IPv6 in brackets
            clock.advance(Duration.ofSeconds(10));
            assertThat(reported.get(2)).containsExactly("http://[0:0:0:0:0:0:0:1]:8000 x6");
            assertThat(asked).hasSize(5).containsOnly("vllm-headless.llm.svc");
        }
        clock.advance(Duration.ofSeconds(60));
        assertThat(reported).hasSize(3);
    }

}
