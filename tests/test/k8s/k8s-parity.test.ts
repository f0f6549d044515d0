// tools: helm
// The Helm chart and the kustomize manifests must describe the same cluster: same objects (kind,
// namespace, name) and the same content, after removing only what legitimately differs — Helm's
// bookkeeping labels, its checksum annotations, and kustomize's hash suffix on generated ConfigMaps.
// Compared: defaults ↔ kind overlay + load Job (NetworkPolicies on in both); networkPolicies.enabled=false ↔ the kind
// overlay without the component's policies; X-Ray OTLP path ↔ kind + component; moderation on OpenTelemetry ↔ kind +
// component; IRSA ↔ eks.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { helmTemplate, id, kustomize, kustomizeWithComponent, type K8sObject } from "./k8s-helpers.js";

const GENERATED = ["otel-collector-config", "fluent-bit-config"];

/** Drops what differs by tool, not by meaning; returns a map id → object. */
function normalise(objects: K8sObject[]): Map<string, unknown> {
  const result = new Map<string, unknown>();
  for (const original of objects) {
    let text = JSON.stringify(original);
    // kustomize's generated names carry a content hash: otel-collector-config-<10 chars>.
    for (const name of GENERATED) text = text.replace(new RegExp(`"${name}-[a-z0-9]{10}"`, "g"), `"${name}"`);
    const o = JSON.parse(text) as K8sObject;
    const labels = o.metadata.labels ?? {};
    delete labels["helm.sh/chart"];
    delete labels["app.kubernetes.io/managed-by"];
    if (Object.keys(labels).length === 0) delete o.metadata.labels;
    const template = (o.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template;
    const annotations = template?.metadata?.annotations;
    if (annotations) {
      for (const key of Object.keys(annotations)) if (key.startsWith("checksum/")) delete annotations[key];
    }
    result.set(id(o), o);
  }
  return result;
}

function assertSame(helm: K8sObject[], kust: K8sObject[]): void {
  const h = normalise(helm);
  const k = normalise(kust);
  assert.deepEqual([...h.keys()].sort(), [...k.keys()].sort(), "Helm and kustomize render different sets of objects");
  for (const [key, value] of k) assert.deepEqual(h.get(key), value, `${key} differs between Helm and kustomize`);
}

describe("Helm ↔ kustomize parity", { timeout: 120_000 }, () => {
  test("chart defaults (+ loadgen) = kind overlay + deploy/k8s/loadgen", { timeout: 60_000 }, () => {
    assertSame(helmTemplate({ "loadgen.enabled": "true" }), [...kustomize("deploy/k8s/overlays/kind"), ...kustomize("deploy/k8s/loadgen")]);
  });

  test("networkPolicies.enabled=false = the kind overlay without the network-policies component", { timeout: 60_000 }, () => {
    const withoutPolicies = kustomize("deploy/k8s/overlays/kind").filter((o) => o.kind !== "NetworkPolicy");
    assertSame(helmTemplate({ "networkPolicies.enabled": "false" }), withoutPolicies);
  });

  test("collector.xrayExporter=otlp_http/xray = the xray-otlp component", { timeout: 60_000 }, () => {
    assertSame(helmTemplate({ "collector.xrayExporter": "otlp_http/xray" }), kustomizeWithComponent("kind", "xray-otlp"));
  });

  test("services.moderation.tracing=otel = the moderation-otel component", { timeout: 60_000 }, () => {
    assertSame(helmTemplate({ "services.moderation.tracing": "otel" }), kustomizeWithComponent("kind", "moderation-otel"));
  });

  test("IRSA values = eks overlay", { timeout: 60_000 }, () => {
    const eks = kustomize("deploy/k8s/overlays/eks");
    const roleOf = (name: string) => eks.find((o) => o.kind === "ServiceAccount" && o.metadata.name === name)!.metadata.annotations!["eks.amazonaws.com/role-arn"];
    const helm = helmTemplate({
      deploymentEnvironment: "eks",
      clusterName: "tracemesh-eks",
      "networkPolicies.enabled": "true",
      "aws.irsa.collectorRoleArn": roleOf("otel-collector"),
      "aws.irsa.fluentBitRoleArn": roleOf("fluent-bit"),
      "services.api.replicas": "2",
      "services.users.replicas": "2",
      "services.activities.replicas": "2",
      "services.notifications.replicas": "2",
      "services.moderation.replicas": "2",
    });
    assertSame(helm, eks);
  });

  test("the comparison notices a drifted field", { timeout: 60_000 }, () => {
    const kust = kustomize("deploy/k8s/overlays/kind");
    const helm = helmTemplate({ "services.users.resources.limits.memory": "300Mi" });
    assert.throws(() => assertSame(helm, kust), /Deployment\/tracemesh\/users differs/);
  });
});
