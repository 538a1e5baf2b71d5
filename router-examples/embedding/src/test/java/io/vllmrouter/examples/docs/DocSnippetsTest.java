package io.vllmrouter.examples.docs;

import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.Timeout;

import javax.tools.Diagnostic;
import javax.tools.DiagnosticCollector;
import javax.tools.JavaCompiler;
import javax.tools.JavaFileObject;
import javax.tools.SimpleJavaFileObject;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;
import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Every {@code ```java} block in {@code docs/*.md} and the README compiles against the project as
 * it is, so the pages cannot drift from the code. A block that declares a type at its top level
 * (a line starting with {@code class}, {@code public final class}, ...) is compiled as a source
 * file; any other block is a fragment: its {@code import} lines go on top and the rest becomes
 * the body of a method {@code void snippet() throws Exception}. Fragments name every class they
 * use in their imports, as readers need; nothing is imported for them.
 *
 * <p>On failure the message names the file, the block's number and line, the compiler's errors
 * with their line in the Markdown file, and the source as compiled.
 */
class DocSnippetsTest {

    private static final Path ROOT = Path.of("..", "..");   // surefire runs in router-examples/embedding
    private static final Pattern BLOCK = Pattern.compile("(?m)^```java[ \\t]*\\n(.*?)^```", Pattern.DOTALL);
    private static final Pattern TOP_LEVEL_TYPE = Pattern.compile(
            "(?m)^(?:public\\s+|abstract\\s+|final\\s+|sealed\\s+)*(?:class|interface|record|enum)\\s+([A-Za-z_][A-Za-z0-9_]*)");

    record Snippet(Path file, int number, int line, String code) {
        String where() {
            return ROOT.relativize(file).toString().replace(File.separatorChar, '/') + " java block " + number
                    + " (line " + line + ")";
        }
    }

    @TestFactory
    @Timeout(300)
    Stream<DynamicTest> everyJavaBlockInTheDocsCompiles() throws IOException {
        List<Snippet> snippets = new ArrayList<>();
        List<Path> pages = new ArrayList<>();
        pages.add(ROOT.resolve("README.md"));
        try (Stream<Path> docs = Files.list(ROOT.resolve("docs"))) {
            docs.filter(p -> p.toString().endsWith(".md")).sorted().forEach(pages::add);
        }
        for (Path page : pages) {
            String text = Files.readString(page);
            Matcher m = BLOCK.matcher(text);
            int n = 0;
            while (m.find()) {
                int line = 1 + (int) text.substring(0, m.start(1)).chars().filter(c -> c == '\n').count();
                snippets.add(new Snippet(page, ++n, line, m.group(1)));
            }
        }
        assertThat(snippets).as("java blocks in README.md and docs/").hasSizeGreaterThan(5);
        return snippets.stream().map(s -> DynamicTest.dynamicTest(s.where(), () -> compile(s)));
    }

    /** The compilation unit for a block; {@code importLines} is -1 for a block compiled as it is. */
    record Source(String name, String text, int importLines) {
    }

    static Source source(Snippet s, String className) {
        Matcher type = TOP_LEVEL_TYPE.matcher(s.code());
        if (type.find()) {
            Matcher publicType = Pattern.compile("(?m)^public\\s+(?:abstract\\s+|final\\s+|sealed\\s+)*(?:class|interface|record|enum)\\s+([A-Za-z_][A-Za-z0-9_]*)")
                    .matcher(s.code());
            String name = publicType.find() ? publicType.group(1) : type.group(1);
            return new Source(name, s.code(), -1);
        }
        StringBuilder imports = new StringBuilder();
        StringBuilder body = new StringBuilder();
        int importLines = 0;
        boolean inBody = false;
        for (String line : s.code().split("\n", -1)) {
            if (!inBody && (line.startsWith("import ") || line.isBlank())) {
                imports.append(line).append('\n');
                importLines++;
            } else {
                inBody = true;
                body.append(line).append('\n');
            }
        }
        // Imports first (same line numbers as in the block), then the wrapper on one line, then the body.
        String text = imports + "class " + className + " { void snippet() throws Exception {\n" + body + "}}\n";
        return new Source(className, text, importLines);
    }

    private static void compile(Snippet s) throws IOException {
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        assertThat(compiler).as("a JDK (javax.tools) to compile the docs' snippets").isNotNull();
        String className = "DocSnippet" + s.number() + "_"
                + s.file().getFileName().toString().replaceAll("[^A-Za-z0-9]", "_");
        Source src = source(s, className);
        Path out = Files.createTempDirectory("doc-snippet");
        DiagnosticCollector<JavaFileObject> diagnostics = new DiagnosticCollector<>();
        JavaFileObject file = new SimpleJavaFileObject(URI.create("string:///" + src.name() + ".java"),
                JavaFileObject.Kind.SOURCE) {
            @Override
            public CharSequence getCharContent(boolean ignoreEncodingErrors) {
                return src.text();
            }
        };
        String classPath = System.getProperty("surefire.test.class.path");
        if (classPath == null || classPath.isBlank()) {
            classPath = System.getProperty("java.class.path");
        }
        try (StandardJavaFileManager files = compiler.getStandardFileManager(diagnostics, Locale.ROOT, StandardCharsets.UTF_8)) {
            StringWriter extra = new StringWriter();
            boolean ok = compiler.getTask(extra, files, diagnostics,
                    List.of("--release", "17", "-proc:none", "-classpath", classPath, "-d", out.toString()),
                    null, List.of(file)).call();
            if (!ok) {
                StringBuilder msg = new StringBuilder(s.where()).append(" does not compile:\n");
                for (Diagnostic<? extends JavaFileObject> d : diagnostics.getDiagnostics()) {
                    if (d.getKind() != Diagnostic.Kind.ERROR) {
                        continue;
                    }
                    long mdLine = d.getLineNumber() < 0 ? -1 : s.line() + lineInBlock(src, d.getLineNumber());
                    msg.append("  ").append(s.file().getFileName()).append(':').append(mdLine).append(": ")
                            .append(d.getMessage(Locale.ROOT)).append('\n');
                }
                msg.append(extra).append("--- compiled as ").append(src.name()).append(".java ---\n");
                String[] lines = src.text().split("\n", -1);
                for (int i = 0; i < lines.length; i++) {
                    msg.append(String.format(Locale.ROOT, "%4d  %s%n", i + 1, lines[i]));
                }
                fail(msg.toString());
            }
        } finally {
            try (Stream<Path> w = Files.walk(out)) {
                w.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /** The 0-based line in the block of line {@code compiledLine} (1-based) of the compiled source. */
    private static long lineInBlock(Source src, long compiledLine) {
        if (src.importLines() < 0 || compiledLine <= src.importLines()) {
            return compiledLine - 1;
        }
        return compiledLine == src.importLines() + 1 ? src.importLines() : compiledLine - 2;
    }
}
