package io.vllmrouter.examples.readme;

import static org.assertj.core.api.Assertions.assertThat;

import io.vllmrouter.api.RouterRequest;
import io.vllmrouter.api.RouterResponse;
import io.vllmrouter.api.VllmRouter;
import io.vllmrouter.core.VllmRouters;
import io.vllmrouter.examples.sim.SimConfig;
import io.vllmrouter.examples.sim.SimulatedVllm;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's embedding example is this test's code, and it works against a simulated vLLM. */
class ReadmeExampleTest {

    @TempDir
    Path dir;

    @Test
    void theReadmeExampleStreamsAChatCompletion() throws Exception {
        try (SimulatedVllm vllm = SimulatedVllm.start(SimConfig.builder().models("llama3.1:8b").timeScale(50).build())) {
            Path config = dir.resolve("servers.toml");
            Files.writeString(config, "[servers]\nservers = [ { url = \"" + vllm.baseUrl()
                    + "\", max_concurrent_requests = 4 } ]\n");
            PrintStream original = System.out;
            ByteArrayOutputStream captured = new ByteArrayOutputStream();
            System.setOut(new PrintStream(captured, true, StandardCharsets.UTF_8));
            try {
                readmeExample(config);
            } finally {
                System.setOut(original);
            }
            String out = captured.toString(StandardCharsets.UTF_8);
            assertThat(out).contains("\"object\":\"chat.completion.chunk\"").contains("data: [DONE]");
            assertThat(out).contains("totalServers=1");
        }
    }

    @Test
    void theReadmeShowsThisCode() throws Exception {
        Path readme = Path.of("..", "..", "README.md"); // surefire runs in the module's directory, router-examples/embedding
        Matcher m = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL).matcher(Files.readString(readme));
        String block = null;
        while (m.find()) {
            if (m.group(1).contains("VllmRouters.fromConfig")) {
                block = m.group(1);
            }
        }
        assertThat(block).as("README has the embedding example").isNotNull();
        String body = block.substring(block.indexOf("try (VllmRouter"))
                .replace("Path.of(\"servers.toml\")", "configFile");
        String source = Files.readString(Path.of("src/test/java/io/vllmrouter/examples/readme/ReadmeExampleTest.java"));
        for (String line : body.strip().split("\n")) {
            assertThat(source).as("README line in the tested code").contains(line.strip());
        }
    }

    /** The README's example, with the file name as a parameter. */
    private static void readmeExample(Path configFile) throws Exception {
        try (VllmRouter router = VllmRouters.fromConfig(configFile)) {
            byte[] body = """
                {"model": "llama3.1:8b", "stream": true,
                 "messages": [{"role": "user", "content": "Hello"}]}
                """.getBytes(StandardCharsets.UTF_8);
            try (RouterResponse response = router.route(
                    RouterRequest.post("/v1/chat/completions", body)
                            .header("Content-Type", "application/json").build())) {
                response.body().transferTo(System.out);   // SSE events arrive as vLLM produces them
            }
            System.out.println(router.stats().summary());
        }
    }
}
