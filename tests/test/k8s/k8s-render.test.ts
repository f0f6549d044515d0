// tools: helm kubeconform
// Every way the manifests are rendered (kustomize overlays, the NetworkPolicy component, the load Job,
// the Helm chart with its features on and off) renders with the real tool, and every rendered object is
// valid against the Kubernetes 1.32 JSON schemas in strict mode (kubeconform, offline schemas from PyPI
// kubernetes-validate: unknown fields and wrong types fail).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import {
  CHART_DIR,
  OVERLAYS,
  SCHEMA_DIR,
  helmTemplate,
  kustomize,
  run,
  runStatus,
  tool,
  toYamlStream,
  type K8sObject,
} from "./k8s-helpers.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-k8s-render-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface KubeconformResult {
  resources: Array<{ filename: string; kind: string; name: string; status: string; msg: string }>;
  summary: { valid: number; invalid: number; errors: number; skipped: number };
}

/** kubeconform -strict over the objects; returns its JSON report (status non-zero when anything is invalid). */
function kubeconform(label: string, objects: K8sObject[]): { status: number; report: KubeconformResult } {
  const file = path.join(tmp, `${label}.yaml`);
  fs.writeFileSync(file, toYamlStream(objects));
  const schemaLocation = path.join(SCHEMA_DIR, "{{ .ResourceKind }}{{ .KindSuffix }}.json");
  const result = runStatus(tool("kubeconform", "31-kubeconform.sh"), ["-strict", "-summary", "-output", "json", "-schema-location", schemaLocation, file]);
  return { status: result.status, report: JSON.parse(result.stdout) as KubeconformResult };
}

function assertValid(label: string, objects: K8sObject[]): void {
  assert.ok(objects.length > 0, `${label} rendered nothing`);
  const { status, report } = kubeconform(label, objects);
  const bad = report.resources.filter((r) => r.status !== "statusValid");
  assert.deepEqual(bad, [], `${label}: kubeconform found problems`);
  // Nothing may be skipped for want of a schema (we use no CRDs).
  assert.equal(report.summary.skipped, 0, `${label}: kubeconform skipped resources`);
  assert.equal(report.summary.valid, objects.length, `${label}: not every object was validated`);
  assert.equal(status, 0);
}

const helmVariants: Record<string, Record<string, string>> = {
  defaults: {},
  "all-features": {
    "networkPolicies.enabled": "true",
    "loadgen.enabled": "true",
    "secrets.create": "true",
    "secrets.honeycombApiKey": "placeholder",
    "aws.irsa.collectorRoleArn": "arn:aws:iam::111122223333:role/tracemesh-otel-collector",
    "aws.irsa.fluentBitRoleArn": "arn:aws:iam::111122223333:role/tracemesh-fluent-bit",
  },
  "no-agents": { "collector.enabled": "false", "fluentBit.enabled": "false" },
};

describe("kustomize renders and validates", { timeout: 180_000 }, () => {
  test("the schema check itself rejects an unknown field (strict) and a wrong type", { timeout: 30_000 }, () => {
    const base = kustomize("deploy/k8s/overlays/kind");
    const deployment = structuredClone(base.find((o) => o.kind === "Deployment" && o.metadata.name === "api")!);
    const spec = deployment.spec as { template: { spec: { containers: Array<Record<string, unknown>> } }; replicas: unknown };
    spec.template.spec.containers[0].imagePullPolicyy = "IfNotPresent";
    const typo = kubeconform("negative-unknown-field", [deployment]);
    assert.notEqual(typo.status, 0);
    assert.match(typo.report.resources[0].msg, /imagePullPolicyy/);
    const wrongType = structuredClone(base.find((o) => o.kind === "Deployment" && o.metadata.name === "api")!);
    (wrongType.spec as { replicas: unknown }).replicas = "two";
    assert.notEqual(kubeconform("negative-type", [wrongType]).status, 0);
  });

  for (const overlay of OVERLAYS) {
    test(`overlay ${overlay}`, { timeout: 60_000 }, () => {
      const objects = kustomize(`deploy/k8s/overlays/${overlay}`);
      assertValid(`overlay-${overlay}`, objects);
      for (const kind of ["Namespace", "Deployment", "StatefulSet", "DaemonSet", "Service", "ConfigMap", "ClusterRole"]) {
        assert.ok(objects.some((o) => o.kind === kind), `${overlay} has no ${kind}`);
      }
    });
  }

  test("the network-policies component is in the kind, minikube, eks and ci overlays", { timeout: 60_000 }, () => {
    for (const overlay of [...OVERLAYS, "ci"]) {
      assert.ok(kustomize(`deploy/k8s/overlays/${overlay}`).filter((o) => o.kind === "NetworkPolicy").length >= 4, overlay);
    }
  });

  test("the load Job on its own", { timeout: 60_000 }, () => {
    const objects = kustomize("deploy/k8s/loadgen");
    assertValid("loadgen", objects);
    assert.deepEqual(objects.map((o) => o.kind).sort(), ["Job", "ServiceAccount"]);
  });

  test("the eks overlay uses IRSA and no static AWS keys", { timeout: 60_000 }, () => {
    const objects = kustomize("deploy/k8s/overlays/eks");
    for (const name of ["otel-collector", "fluent-bit"]) {
      const sa = objects.find((o) => o.kind === "ServiceAccount" && o.metadata.name === name)!;
      assert.match(sa.metadata.annotations?.["eks.amazonaws.com/role-arn"] ?? "", /^arn:aws:iam::[0-9]{12}:role\//);
      const ds = objects.find((o) => o.kind === "DaemonSet" && o.metadata.name === name)!;
      const text = JSON.stringify(ds);
      assert.doesNotMatch(text, /AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/, `${name} still mounts static keys on eks`);
    }
    assert.ok(objects.some((o) => o.kind === "NetworkPolicy"), "eks turns NetworkPolicies on");
  });
});

describe("helm lint and template", { timeout: 180_000 }, () => {
  const helm = () => tool("helm", "30-helm.sh");

  test("helm lint --strict, defaults and all features", { timeout: 60_000 }, () => {
    run(helm(), ["lint", "--strict", CHART_DIR]);
    const sets = Object.entries(helmVariants["all-features"]).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
    run(helm(), ["lint", "--strict", CHART_DIR, ...sets]);
  });

  for (const [name, sets] of Object.entries(helmVariants)) {
    test(`helm template (${name}) is schema-valid`, { timeout: 60_000 }, () => {
      const objects = helmTemplate(sets).filter((o) => o.kind !== "Secret" || name === "all-features");
      assertValid(`helm-${name}`, objects);
    });
  }

  test("values.schema.json rejects bad values", { timeout: 60_000 }, () => {
    for (const [key, value] of [["loadgen.parallelism", "0"], ["aws.region", "mars"], ["services.api.replicas", "many"], ["unknownKey", "1"]]) {
      const result = runStatus(helm(), ["template", "t", CHART_DIR, "--set", `${key}=${value}`]);
      assert.notEqual(result.status, 0, `--set ${key}=${value} was accepted`);
      assert.match(result.stderr, /values don't meet the specifications|schema/i);
    }
  });

  test("NOTES.txt tells how to reach the api and start the load Job", { timeout: 60_000 }, () => {
    // helm prints NOTES only from install/upgrade, which need a cluster; so a throw-away copy of the chart
    // renders NOTES.txt through `tpl` inside an ordinary template.
    const copy = path.join(tmp, "chart-notes");
    fs.cpSync(CHART_DIR, copy, { recursive: true });
    fs.renameSync(path.join(copy, "templates", "NOTES.txt"), path.join(copy, "files", "notes.tpl"));
    fs.writeFileSync(path.join(copy, "templates", "notes.yaml"), 'notes: |\n{{ tpl (.Files.Get "files/notes.tpl") . | indent 2 }}\n');
    const render = (sets: string[]) => run(helm(), ["template", "tracemesh", copy, "-n", "tracemesh", "--show-only", "templates/notes.yaml", ...sets]);
    const notes = render([]);
    assert.match(notes, /port-forward svc\/api 8080:8080/);
    assert.match(notes, /--set loadgen\.enabled=true/);
    assert.match(notes, /2 pods sharing 20 requests\/s/);
    assert.match(notes, /\/tracemesh\/kind\/application/);
    assert.match(notes, /tracemesh fault on activities-errors --value 50 --context <kube context>\n/);
    assert.match(render(["--set", "loadgen.enabled=true"]), /logs -f -l app\.kubernetes\.io\/name=loadgen/);
  });
});
