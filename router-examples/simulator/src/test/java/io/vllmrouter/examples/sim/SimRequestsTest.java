package io.vllmrouter.examples.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

/** What the simulator reads from a request body, without a server. */
class SimRequestsTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private final SimConfig config = SimConfig.builder().models("m", "m-small").build();

    private static JsonNode body(String json) throws Exception {
        return JSON.readTree(json);
    }

    @Test
    void theModelNamedIsServedOrRefusedAsVllmDoes() throws Exception {
        assertThat(SimRequests.servedModel(config, body("{\"model\":\"m-small\"}"))).isEqualTo("m-small");
        assertThat(SimRequests.servedModel(config, body("{}"))).as("none named: the first").isEqualTo("m");
        assertThatThrownBy(() -> SimRequests.servedModel(config, body("{\"model\":\"gpt-9\"}")))
                .isInstanceOfSatisfying(SimHttp.BadRequest.class, e -> {
                    assertThat(e.status).isEqualTo(404);
                    assertThat(e.body).contains("The model `gpt-9` does not exist.").contains("NotFoundError");
                });
    }

    @Test
    void aChatPromptIsItsMessagesWithRolesAndTextParts() throws Exception {
        JsonNode b = body("""
                {"messages":[{"role":"system","content":"be brief"},
                             {"role":"user","content":[{"type":"text","text":"hi "},{"type":"text","text":"there"}]},
                             {"content":null}]}""");
        assertThat(SimRequests.chatPrompt(b)).isEqualTo("system: be brief\nuser: hi there\nuser: \n");
        assertThat(SimRequests.chatPrompt(b.get("messages"), 1)).isEqualTo("system: be brief\n");
        assertThatThrownBy(() -> SimRequests.chatPrompt(body("{\"messages\":[]}")))
                .isInstanceOfSatisfying(SimHttp.BadRequest.class, e -> assertThat(e.status).isEqualTo(400))
                .hasMessageContaining("a non-empty array of messages");
    }

    @Test
    void aCompletionsPromptIsTextTextsOrTokenIds() throws Exception {
        assertThat(SimRequests.completionPrompt(body("{\"prompt\":\"once upon\"}"))).isEqualTo("once upon");
        assertThat(SimRequests.completionPrompt(body("{\"prompt\":[\"a\",\"b\"]}"))).isEqualTo("ab");
        assertThat(SimRequests.promptIds(body("{\"prompt\":[5,6,7]}"), false)).containsExactly(5, 6, 7);
        assertThat(SimRequests.promptIds(body("{\"prompt\":\"12345678\"}"), false))
                .containsExactly(SimTokenizer.encode("12345678"));
        assertThatThrownBy(() -> SimRequests.completionPrompt(body("{}")))
                .isInstanceOf(SimHttp.BadRequest.class).hasMessageContaining("prompt: missing");
    }

    @Test
    void aChatRequestsIdsAreItsRenderedTemplate() throws Exception {
        JsonNode b = body("{\"messages\":[{\"role\":\"user\",\"content\":\"hello\"}]}");
        assertThat(SimRequests.promptIds(b, true)).containsExactly(SimTokenizer.encode(SimTokenizer.chatText(b)));
        assertThatThrownBy(() -> SimRequests.promptIds(body("{\"prompt\":\"x\"}"), true))
                .as("a chat request without messages").isInstanceOf(SimHttp.BadRequest.class);
    }
}
