package io.vllmrouter.core.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.tomlj.Toml;
import org.tomlj.TomlParseResult;
import org.tomlj.TomlTable;

/** {@code [servers]} read on its own: the entries, a bad one among good ones, and a URL given twice. */
class ServersTableTest {

    private final ParseMistakes mistakes = new ParseMistakes("servers.toml");
    private final ServersTable table = new ServersTable(mistakes);

    private static TomlTable servers(String toml) {
        TomlParseResult root = Toml.parse(toml);
        assertThat(root.errors()).isEmpty();
        return root.getTable("servers");
    }

    @Test
    void inlineAndArrayOfTablesEntriesAreReadInFileOrder() {
        table.read(servers("""
                [servers]
                servers = [
                  { url = "http://gpu-1:8000", max_concurrent_requests = 4, models = ["llama"], name = "one" },
                  { url = "http://gpu-2:8000" },
                ]
                """));
        mistakes.throwIfAny();
        List<ServerConfig> read = table.servers();
        assertThat(read).extracting(ServerConfig::id).containsExactly("http://gpu-1:8000", "http://gpu-2:8000");
        assertThat(read.get(0).maxConcurrentRequests()).isEqualTo(4);
        assertThat(read.get(0).models()).containsExactly("llama");
        assertThat(read.get(1).maxConcurrentRequests()).isEqualTo(ConfigKeys.DEFAULT_MAX_CONCURRENT_REQUESTS);

        ServersTable other = new ServersTable(new ParseMistakes("servers.toml"));
        other.read(servers("""
                [[servers.servers]]
                url = "http://gpu-3:8000"
                api_key = "k"
                """));
        assertThat(other.servers()).singleElement().satisfies(s -> assertThat(s.id()).isEqualTo("http://gpu-3:8000"));
    }

    @Test
    void aBadEntryIsAMistakeOfItsOwnAndTheOthersAreRead() {
        table.read(servers("""
                [servers]
                servers = [
                  { url = "http://gpu-1:8000", max_concurrent_requests = 0 },
                  { url = "http://gpu-2:8000" },
                  { max_concurrent_requests = 2 },
                  "http://gpu-4:8000",
                ]
                """));
        assertThat(table.servers()).extracting(ServerConfig::id).containsExactly("http://gpu-2:8000");
        ConfigException e = catchThrowableOfType(ConfigException.class, mistakes::throwIfAny);
        assertThat(e.mistakes()).extracting(ConfigException::key)
                .containsExactly("servers[0].max_concurrent_requests", "servers[2].url", "servers[3]");
        assertThat(e.mistakes()).extracting(ConfigException::line).containsExactly(3, 5, 2);
        assertThat(e.mistakes().get(1).value()).as("missing").isNull();
    }

    @Test
    void credentialsInAUrlAreNeverShown() {
        table.read(servers("""
                [servers]
                servers = [ { url = "http://admin:s3cret@gpu-1:8000" } ]
                """));
        ConfigException e = catchThrowableOfType(ConfigException.class, mistakes::throwIfAny);
        assertThat(e.value()).isEqualTo("\"http://***@gpu-1:8000\"");
        assertThat(e.getMessage()).doesNotContain("s3cret").doesNotContain("admin");
    }

    @Test
    void aUrlGivenTwiceNamesTheSecondEntryAndTheFirst() {
        table.read(servers("""
                [servers]
                servers = [
                  { url = "http://a:1" },
                  { url = "http://b:1" },
                  { url = "http://a:1/" },
                ]
                """));
        mistakes.throwIfAny();
        IllegalArgumentException refused = catchThrowableOfType(IllegalArgumentException.class,
                () -> RouterConfig.builder().servers(table.servers()).build());
        ConfigException e = table.duplicateUrl(refused);
        assertThat(e.key()).isEqualTo("servers[2].url");
        assertThat(e.line()).isEqualTo(5);
        assertThat(e.value()).isEqualTo("\"http://a:1/\"");
        assertThat(e.expected()).endsWith("; servers[0] has it already");
    }

    @Test
    void aServerKeyDirectlyUnderServersIsExplained() {
        ConfigException e = catchThrowableOfType(ConfigException.class, () -> table.read(servers("""
                [servers]
                url = "http://gpu-1:8000"
                """)));
        assertThat(e.key()).isEqualTo("servers.url");
        assertThat(e.expected()).contains("each server is a table inside servers = [ ... ]");
    }
}
