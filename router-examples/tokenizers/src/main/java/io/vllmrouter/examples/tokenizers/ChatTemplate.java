package io.vllmrouter.examples.tokenizers;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import java.util.HashMap;
import java.util.Map;

/**
 * A model's chat template (Jinja, from {@code tokenizer_config.json} or {@code chat_template.jinja}),
 * rendered as transformers' {@code apply_chat_template} does for vLLM: with {@code messages},
 * {@code add_generation_prompt}, {@code tools}, the special tokens of the tokenizer config
 * ({@code bos_token}, {@code eos_token}, ...), the request's {@code chat_template_kwargs}, and
 * transformers' {@code raise_exception} helper. Rendered with HubSpot's Jinjava from a tree parsed
 * once (parsing at each call took about as long again as rendering); thread-safe, one rendering at a
 * time (the router calls it from one tokenizer thread).
 */
final class ChatTemplate {

    private final Map<String, Object> tokens;
    private final Jinjava jinja;
    private final Node tree;

    ChatTemplate(String template, Map<String, Object> specialTokens) {
        this.tokens = Map.copyOf(specialTokens);
        this.jinja = new Jinjava(JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true).build());
        jinja.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception", ChatTemplate.class,
                "raiseException", String.class));
        this.tree = jinja.newInterpreter().parse(template);
    }

    /** transformers' {@code raise_exception}: a template's refusal of its input. */
    public static String raiseException(String message) {
        throw new IllegalArgumentException("chat template: " + message);
    }

    /**
     * The prompt text.
     *
     * @throws IllegalArgumentException when the template refuses the messages or cannot be rendered
     */
    String render(Object messages, Object tools, boolean addGenerationPrompt, Map<String, Object> kwargs) {
        Map<String, Object> context = new HashMap<>(tokens);
        context.put("messages", messages);
        context.put("add_generation_prompt", addGenerationPrompt);
        if (tools != null) {
            context.put("tools", tools);
        }
        if (kwargs != null) {
            context.putAll(kwargs);
        }
        String out;
        JinjavaInterpreter interpreter;
        synchronized (this) {
            interpreter = new JinjavaInterpreter(jinja, new Context(jinja.getGlobalContext(), context), jinja.getGlobalConfig());
            JinjavaInterpreter.pushCurrent(interpreter);
            try {
                out = interpreter.render(tree);
            } catch (IllegalArgumentException e) {
                throw e;
            } catch (RuntimeException e) {
                throw new IllegalArgumentException("chat template: " + e.getMessage(), e);
            } finally {
                JinjavaInterpreter.popCurrent();
            }
        }
        for (TemplateError e : interpreter.getErrorsCopy()) {
            if (e.getSeverity() == TemplateError.ErrorType.FATAL) {
                Throwable cause = e.getException();
                while (cause != null && !(cause instanceof IllegalArgumentException)) {
                    cause = cause.getCause();
                }
                throw cause != null ? (IllegalArgumentException) cause
                        : new IllegalArgumentException("chat template: " + e.getMessage());
            }
        }
        return out;
    }
}
