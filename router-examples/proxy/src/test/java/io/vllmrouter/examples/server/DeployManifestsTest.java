package io.vllmrouter.examples.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import io.vllmrouter.core.config.ConfigLoader;
import io.vllmrouter.core.config.RouterConfig;
import io.vllmrouter.core.config.ServerConfig;
import io.vllmrouter.core.discovery.DiscoveryConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * What can be checked of deploy/ without a container engine or a cluster: every YAML parses, every
 * Kubernetes object has a known kind and apiVersion and its required fields, the ConfigMap's and the
 * compose file's TOML load with the router's own loader, and ports, paths and names agree across the
 * Dockerfile, compose.yaml and the manifests.
 */
@Timeout(60)
class DeployManifestsTest {

    static final Path DEPLOY = Path.of("deploy");
    static final Path K8S = DEPLOY.resolve("k8s");
    static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    static final String CONFIG_PATH = "/etc/vllm-router/servers.toml";
    static final int PORT = 8888;

    static final Map<String, String> API_VERSIONS = Map.of(
            "ConfigMap", "v1", "Service", "v1", "ServiceAccount", "v1",
            "Deployment", "apps/v1",
            "Role", "rbac.authorization.k8s.io/v1", "RoleBinding", "rbac.authorization.k8s.io/v1",
            "HorizontalPodAutoscaler", "autoscaling/v2",
            "Kustomization", "kustomize.config.k8s.io/v1beta1");

    static List<JsonNode> documents(Path file) throws IOException {
        List<JsonNode> out = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(file.toFile())) {
            while (it.hasNext()) {
                JsonNode n = it.next();
                if (n != null && !n.isNull() && !n.isMissingNode()) {
                    out.add(n);
                }
            }
        }
        return out;
    }

    /** Every Kubernetes object of k8s/, by kind (one of each here). */
    static Map<String, JsonNode> objects() throws IOException {
        Map<String, JsonNode> byKind = new HashMap<>();
        try (Stream<Path> files = Files.list(K8S)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList()) {
                for (JsonNode doc : documents(f)) {
                    String kind = doc.path("kind").asText();
                    assertThat(API_VERSIONS).as("kind %s in %s", kind, f).containsKey(kind);
                    assertThat(doc.path("apiVersion").asText()).as("apiVersion of %s", kind).isEqualTo(API_VERSIONS.get(kind));
                    if (!kind.equals("Kustomization")) {
                        assertThat(doc.path("metadata").path("name").asText()).as("metadata.name of %s in %s", kind, f).isNotBlank();
                    }
                    assertThat(byKind.put(kind, doc)).as("one %s", kind).isNull();
                }
            }
        }
        return byKind;
    }

    @Test
    void kubernetesObjectsAreCompleteAndAgree() throws IOException {
        Map<String, JsonNode> k = objects();
        assertThat(k.keySet()).contains("Deployment", "Service", "ConfigMap", "ServiceAccount", "Role", "RoleBinding",
                "HorizontalPodAutoscaler");

        // The kustomization lists every manifest.
        List<String> resources = new ArrayList<>();
        k.get("Kustomization").path("resources").forEach(r -> resources.add(r.asText()));
        try (Stream<Path> files = Files.list(K8S)) {
            assertThat(resources).containsExactlyInAnyOrderElementsOf(files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".yaml") && !n.equals("kustomization.yaml")).toList());
        }

        JsonNode deployment = k.get("Deployment");
        String name = deployment.path("metadata").path("name").asText();
        JsonNode spec = deployment.path("spec");
        JsonNode labels = spec.path("template").path("metadata").path("labels");
        spec.path("selector").path("matchLabels").fields().forEachRemaining(e ->
                assertThat(labels.path(e.getKey()).asText()).as("template label %s", e.getKey()).isEqualTo(e.getValue().asText()));
        JsonNode pod = spec.path("template").path("spec");
        JsonNode container = pod.path("containers").get(0);
        assertThat(container.path("image").asText()).isNotBlank();
        assertThat(container.path("ports").get(0).path("containerPort").asInt()).isEqualTo(PORT);
        String portName = container.path("ports").get(0).path("name").asText();
        for (String probe : new String[] {"readinessProbe", "livenessProbe"}) {
            JsonNode get = container.path(probe).path("httpGet");
            assertThat(get.path("path").asText()).as(probe).isEqualTo("/health");
            assertThat(get.path("port").asText()).as(probe).isIn(portName, String.valueOf(PORT));
        }
        Map<String, String> env = new HashMap<>();
        container.path("env").forEach(e -> env.put(e.path("name").asText(), e.path("value").asText()));
        assertThat(env).containsEntry("CONFIG_PATH", CONFIG_PATH).containsEntry("PORT", String.valueOf(PORT));

        // The config volume is the ConfigMap, mounted where CONFIG_PATH points, holding that file name.
        JsonNode configMap = k.get("ConfigMap");
        String volume = null;
        for (JsonNode v : pod.path("volumes")) {
            if (v.path("configMap").path("name").asText().equals(configMap.path("metadata").path("name").asText())) {
                volume = v.path("name").asText();
            }
        }
        assertThat(volume).as("a volume from the ConfigMap").isNotNull();
        String mountPath = null;
        for (JsonNode m : container.path("volumeMounts")) {
            if (m.path("name").asText().equals(volume)) {
                mountPath = m.path("mountPath").asText();
            }
        }
        assertThat(mountPath + "/servers.toml").isEqualTo(CONFIG_PATH);
        assertThat(configMap.path("data").has("servers.toml")).isTrue();

        // The Service reaches the container port.
        JsonNode service = k.get("Service");
        assertThat(service.path("spec").path("ports").get(0).path("targetPort").asText()).isIn(portName, String.valueOf(PORT));
        service.path("spec").path("selector").fields().forEachRemaining(e ->
                assertThat(labels.path(e.getKey()).asText()).isEqualTo(e.getValue().asText()));

        // RBAC: the pod's service account may list and watch EndpointSlices and get pods.
        String account = k.get("ServiceAccount").path("metadata").path("name").asText();
        assertThat(pod.path("serviceAccountName").asText()).isEqualTo(account);
        JsonNode binding = k.get("RoleBinding");
        assertThat(binding.path("roleRef").path("name").asText()).isEqualTo(k.get("Role").path("metadata").path("name").asText());
        assertThat(binding.path("subjects").get(0).path("name").asText()).isEqualTo(account);
        assertThat(rule(k.get("Role"), "discovery.k8s.io", "endpointslices")).contains("get", "list", "watch");
        assertThat(rule(k.get("Role"), "", "pods")).contains("get");

        // The autoscaler scales this Deployment; the pod runs as the image's non-root user.
        JsonNode target = k.get("HorizontalPodAutoscaler").path("spec").path("scaleTargetRef");
        assertThat(target.path("kind").asText() + "/" + target.path("name").asText()).isEqualTo("Deployment/" + name);
        assertThat(pod.path("securityContext").path("runAsNonRoot").asBoolean()).isTrue();
        assertThat(pod.path("securityContext").path("runAsUser").asInt()).isEqualTo(dockerUid());
    }

    @Test
    void theConfigMapHoldsAValidConfigurationWithDiscovery() throws IOException {
        String toml = objects().get("ConfigMap").path("data").path("servers.toml").asText();
        RouterConfig config = ConfigLoader.parse(toml, "configmap.yaml servers.toml", Map.of());
        assertThat(config.strategy()).isEqualTo("weighted-score");
        DiscoveryConfig discovery = DiscoveryConfig.parse(toml, "configmap.yaml servers.toml");
        assertThat(discovery.kind()).isEqualTo(DiscoveryConfig.Kind.KUBERNETES);
        assertThat(discovery.selector()).isEqualTo("kubernetes.io/service-name=vllm");
        assertThat(discovery.portName()).isEqualTo("http");
    }

    @Test
    void dockerfileAndComposeAgreeWithTheManifests() throws Exception {
        String docker = Files.readString(DEPLOY.resolve("Dockerfile"));
        assertThat(docker).containsPattern("(?m)^FROM maven:[^ ]*temurin-17 AS build$")
                .containsPattern("(?m)^FROM eclipse-temurin:17-jre$")
                .containsPattern("(?m)^EXPOSE " + PORT + "$")
                .contains("CONFIG_PATH=" + CONFIG_PATH)
                .contains("PORT=" + PORT)
                .containsPattern("(?m)^HEALTHCHECK .*\\n.*http://127\\.0\\.0\\.1:" + PORT + "/health");
        assertThat(dockerUid()).isGreaterThan(0);
        // Maven reads the whole reactor, so every module's pom is copied into the build stage, and
        // the sources of every module the jar is built from (the proxy's modules, test scope too:
        // -am builds those as well). Read from the poms, so that a new module cannot be forgotten.
        Map<String, Module> modules = reactor();
        for (Module m : modules.values()) {
            assertThat(docker).as("COPY of %s's pom", m.dir())
                    .containsPattern("(?m)^COPY " + Pattern.quote(m.pom()) + " " + Pattern.quote(m.dir().isEmpty() ? "./" : m.dir() + "/") + "$");
        }
        List<String> built = new ArrayList<>();
        collect("router-proxy", modules, built);
        assertThat(built).contains("router-examples/proxy", "router-core", "router-api");
        for (String dir : built) {
            assertThat(docker).as("COPY of %s", dir).containsPattern("(?m)^COPY " + Pattern.quote(dir) + " " + Pattern.quote(dir) + "$");
        }

        JsonNode compose = documents(DEPLOY.resolve("compose.yaml")).get(0);
        JsonNode services = compose.path("services");
        JsonNode router = services.path("router");
        assertThat(router.path("ports").get(0).asText()).endsWith(":" + PORT + ":" + PORT);
        assertThat(router.path("environment").path("CONFIG_PATH").asText()).isEqualTo(CONFIG_PATH);
        String mount = router.path("volumes").get(0).asText();
        assertThat(mount).contains(":" + CONFIG_PATH);
        Path hostFile = DEPLOY.resolve(mount.substring(0, mount.indexOf(':')));
        assertThat(router.path("build").path("dockerfile").asText()).isEqualTo("router-examples/proxy/deploy/Dockerfile");
        assertThat(DEPLOY.resolve(router.path("build").path("context").asText()).resolve("router-examples/proxy/deploy/Dockerfile"))
                .exists();

        // The router's file names the simulators by service name and the port they listen on.
        RouterConfig config = ConfigLoader.load(hostFile, Map.of());
        assertThat(config.servers()).hasSize(2);
        for (ServerConfig s : config.servers()) {
            JsonNode sim = services.path(s.url().getHost());
            assertThat(sim.isMissingNode()).as("a compose service named %s", s.url().getHost()).isFalse();
            List<String> command = new ArrayList<>();
            sim.path("command").forEach(c -> command.add(c.asText()));
            assertThat(command).startsWith("simulate").contains("--port", String.valueOf(s.url().getPort()), "0.0.0.0");
        }
    }

    /** A module of the build: its directory from the repository root ("" for the root) and the modules it depends on. */
    private record Module(String dir, List<String> dependsOn) {
        String pom() {
            return dir.isEmpty() ? "pom.xml" : dir + "/pom.xml";
        }
    }

    /** The reactor's modules by artifact id, from the root pom's {@code <modules>} down. */
    private static Map<String, Module> reactor() throws Exception {
        Map<String, Module> out = new HashMap<>();
        readModule(Path.of("../.."), "", out);
        assertThat(out).hasSizeGreaterThan(5);
        return out;
    }

    private static void readModule(Path root, String dir, Map<String, Module> out) throws Exception {
        Path pom = root.resolve(dir.isEmpty() ? "pom.xml" : dir + "/pom.xml");
        org.w3c.dom.Element project = javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder()
                .parse(pom.toFile()).getDocumentElement();
        String artifact = child(project, "artifactId").getTextContent().trim();
        List<String> deps = new ArrayList<>();
        org.w3c.dom.Element dependencies = child(project, "dependencies");
        for (org.w3c.dom.Element d : children(dependencies, "dependency")) {
            String group = child(d, "groupId").getTextContent().trim();
            if (group.equals("io.vllmrouter") || group.equals("${project.groupId}")) {
                deps.add(child(d, "artifactId").getTextContent().trim());
            }
        }
        out.put(artifact, new Module(dir, deps));
        for (org.w3c.dom.Element m : children(child(project, "modules"), "module")) {
            String name = m.getTextContent().trim();
            readModule(root, dir.isEmpty() ? name : dir + "/" + name, out);
        }
    }

    /** {@code artifact}'s directory and those of the modules it needs, in {@code into}. */
    private static void collect(String artifact, Map<String, Module> modules, List<String> into) {
        Module m = modules.get(artifact);
        assertThat(m).as("module %s in the reactor", artifact).isNotNull();
        if (into.contains(m.dir())) {
            return;
        }
        into.add(m.dir());
        m.dependsOn().forEach(d -> collect(d, modules, into));
    }

    private static org.w3c.dom.Element child(org.w3c.dom.Element parent, String name) {
        List<org.w3c.dom.Element> all = children(parent, name);
        return all.isEmpty() ? null : all.get(0);
    }

    private static List<org.w3c.dom.Element> children(org.w3c.dom.Element parent, String name) {
        List<org.w3c.dom.Element> out = new ArrayList<>();
        if (parent == null) {
            return out;
        }
        for (org.w3c.dom.Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof org.w3c.dom.Element e && e.getTagName().equals(name)) {
                out.add(e);
            }
        }
        return out;
    }

    private static List<String> rule(JsonNode role, String group, String resource) {
        List<String> verbs = new ArrayList<>();
        for (JsonNode r : role.path("rules")) {
            boolean g = false;
            boolean res = false;
            for (JsonNode x : r.path("apiGroups")) {
                g |= x.asText().equals(group);
            }
            for (JsonNode x : r.path("resources")) {
                res |= x.asText().equals(resource);
            }
            if (g && res) {
                r.path("verbs").forEach(v -> verbs.add(v.asText()));
            }
        }
        return verbs;
    }

    private static int dockerUid() throws IOException {
        Matcher m = Pattern.compile("(?m)^USER (\\d+)").matcher(Files.readString(DEPLOY.resolve("Dockerfile")));
        assertThat(m.find()).as("a numeric USER in the Dockerfile").isTrue();
        return Integer.parseInt(m.group(1));
    }
}
