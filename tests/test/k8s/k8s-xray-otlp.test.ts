// tools: helm collector
// The Kubernetes switch to X-Ray's OTLP endpoint (deploy/k8s/components/xray-otlp; Helm: collector.xrayExporter):
// the Collector DaemonSet loads the repo's xray-otlp.yaml overlay as its last --config, XRAY_EXPORTER puts
// otlp_http/xray in the pipeline, and the real Collector validates what the pod mounts with the pod's env.
// Without the component nothing changes (awsxray, two configs).
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { ROOT, find, kustomize, kustomizeWithComponent, runStatus, workloads, type K8sObject } from "./k8s-helpers.js";
import { findCollector } from "@tracemesh/devkit";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-k8s-xray-otlp-"));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function collectorOf(objects: K8sObject[]) {
  const ds = workloads(objects).find((w) => w.object.kind === "DaemonSet" && w.object.metadata.name === "otel-collector")!;
  const container = ds.pod.containers[0]!;
  const configMap = find(objects, "ConfigMap", ds.pod.volumes!.find((v) => v.configMap)!.configMap!.name)!;
  const system = find(objects, "ConfigMap", "tracemesh-system-config")!.data as Record<string, string>;
  const env: Record<string, string> = { PATH: process.env.PATH ?? "" };
  for (const e of container.env ?? []) {
    const ref = e.valueFrom?.configMapKeyRef;
    env[e.name] = e.value ?? (ref ? system[ref.key]! : e.valueFrom?.fieldRef ? "placeholder-from-downward-api" : "placeholder-from-secret");
  }
  return { args: container.args ?? [], data: configMap.data as Record<string, string>, env };
}

describe("X-Ray's OTLP endpoint on Kubernetes", { timeout: 120_000 }, () => {
  test("default (kind overlay): awsxray, config.yaml + k8s.yaml", { timeout: 60_000 }, () => {
    const { args, env, data } = collectorOf(kustomize("deploy/k8s/overlays/kind"));
    assert.deepEqual(args, ["--config=/conf/config.yaml", "--config=/conf/k8s.yaml"]);
    assert.equal(env.XRAY_EXPORTER, "awsxray");
    assert.equal(data["xray-otlp.yaml"], fs.readFileSync(path.join(ROOT, "deploy/collector/xray-otlp.yaml"), "utf8"), "the ConfigMap carries the repo's overlay");
  });

  test("with the component: otlp_http/xray, the overlay loaded last, and the real Collector validates it", { timeout: 60_000 }, () => {
    const { args, env, data } = collectorOf(kustomizeWithComponent("kind", "xray-otlp"));
    assert.deepEqual(args, ["--config=/conf/config.yaml", "--config=/conf/k8s.yaml", "--config=/conf/xray-otlp.yaml"]);
    assert.equal(env.XRAY_EXPORTER, "otlp_http/xray");
    const dir = fs.mkdtempSync(path.join(tmp, "conf-"));
    for (const [file, text] of Object.entries(data)) fs.writeFileSync(path.join(dir, file), text);
    const otelcol = findCollector();
    const configs = args.map((a) => `--config=${path.join(dir, path.basename(a.slice("--config=".length)))}`);
    const envArgs = Object.entries({ ...env, AWS_EC2_METADATA_DISABLED: "true" }).map(([k, v]) => `${k}=${v}`);
    const validated = runStatus("env", ["-i", ...envArgs, otelcol, "validate", ...configs]);
    assert.equal(validated.status, 0, `otelcol validate failed:\n${validated.stderr}`);
    // The pipeline the pod runs names otlp_http/xray, signed by sigv4auth/xray for service xray.
    const printed = runStatus("env", ["-i", ...envArgs, otelcol, "print-config", ...configs]);
    assert.equal(printed.status, 0, printed.stderr);
    assert.match(printed.stdout, /exporters:\s*\n\s*- otlp_http\/honeycomb\s*\n\s*- otlp_http\/xray\s*\n\s*- span_metrics\s*\n\s*- service_graph\s*\n\s*- debug/);
    assert.match(printed.stdout, /traces_endpoint: https:\/\/xray\.us-east-1\.amazonaws\.com\/v1\/traces/);
    assert.match(printed.stdout, /sigv4auth\/xray:[\s\S]*?service: xray/);
  });
});
