// Shared by tests/test/k8s/k8s-*.test.ts: renders the manifests with the real tools (kubectl kustomize, helm,
// skaffold, kubeconform — installed by scripts/tools/3*.sh into $TRACEMESH_BIN) and gives typed access to
// the rendered objects. No cluster is involved: everything here is offline.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseAllDocuments } from "yaml";
import { TOOL_BIN, TOOL_CACHE } from "@tracemesh/devkit";

/** The repository root (this file runs from tests/dist/test/k8s/). */
export const ROOT = path.resolve(__dirname, "..", "..", "..", "..");
export const K8S_DIR = path.join(ROOT, "deploy", "k8s");
export const CHART_DIR = path.join(ROOT, "charts", "tracemesh");
export const OVERLAYS = ["kind", "minikube", "eks"] as const;
export type Overlay = (typeof OVERLAYS)[number];

export { TOOL_BIN };
export const SCHEMA_DIR = path.join(TOOL_CACHE, "k8s-schemas");

/** A rendered Kubernetes object; fields are read through the small accessors below. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    fieldRef?: { fieldPath: string };
    configMapKeyRef?: { name: string; key: string; optional?: boolean };
    secretKeyRef?: { name: string; key: string; optional?: boolean };
  };
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  hostPort?: number;
  protocol?: string;
}

export interface Container {
  name: string;
  image: string;
  args?: string[];
  command?: string[];
  env?: EnvVar[];
  ports?: ContainerPort[];
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  securityContext?: SecurityContext;
  readinessProbe?: Record<string, unknown>;
  livenessProbe?: Record<string, unknown>;
  startupProbe?: Record<string, unknown>;
  lifecycle?: { preStop?: { sleep?: { seconds: number }; exec?: unknown } };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean; subPath?: string; subPathExpr?: string }>;
}

export interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  runAsGroup?: number;
  privileged?: boolean;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type: string };
  procMount?: string;
  seLinuxOptions?: Record<string, string>;
  sysctls?: unknown[];
  windowsOptions?: Record<string, unknown>;
}

export interface PodSpec {
  containers: Container[];
  initContainers?: Container[];
  ephemeralContainers?: Container[];
  securityContext?: SecurityContext & { fsGroup?: number };
  volumes?: Array<{ name: string; hostPath?: { path: string }; emptyDir?: unknown; configMap?: { name: string; items?: Array<{ key: string; path: string }>; optional?: boolean }; secret?: unknown }>;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  serviceAccountName?: string;
  terminationGracePeriodSeconds?: number;
}

export interface Workload {
  object: K8sObject;
  pod: PodSpec;
  podLabels: Record<string, string>;
  podAnnotations: Record<string, string>;
}

/** Runs a command (bounded), returns stdout; throws with its stderr when it fails. */
export function run(command: string, args: string[], options: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): string {
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? ROOT,
    encoding: "utf8",
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
    env: options.env ?? process.env,
  });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(" ")} exited ${result.status}:\n${result.stderr}\n${result.stdout}`.trim());
  }
  return result.stdout;
}

/** Like run, but returns the exit status and both streams instead of throwing. */
export function runStatus(command: string, args: string[], options: { cwd?: string; timeoutMs?: number } = {}): { status: number; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd: options.cwd ?? ROOT, encoding: "utf8", timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** Path of a tool built by scripts/tools/*.sh; a clear error names the script when it is missing. */
export function tool(name: string, script: string): string {
  const file = path.join(TOOL_BIN, name);
  if (!fs.existsSync(file)) throw new Error(`${name} is not installed in ${TOOL_BIN}: run bash scripts/tools/${script}`);
  return file;
}

export function parseYamlStream(text: string): K8sObject[] {
  const docs = parseAllDocuments(text);
  const objects: K8sObject[] = [];
  for (const doc of docs) {
    if (doc.errors.length > 0) throw new Error(`YAML error: ${doc.errors[0].message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    objects.push(value as K8sObject);
  }
  return objects;
}

/** `kubectl kustomize DIR` (DIR absolute or relative to the repo root). */
export function kustomize(dir: string): K8sObject[] {
  return parseYamlStream(run("kubectl", ["kustomize", path.resolve(ROOT, dir)]));
}

/** An overlay with an optional component added (through a throw-away kustomization). */
export function kustomizeWithComponent(overlay: string, component: string): K8sObject[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-kustomize-"));
  try {
    fs.writeFileSync(
      path.join(dir, "kustomization.yaml"),
      [
        "apiVersion: kustomize.config.k8s.io/v1beta1",
        "kind: Kustomization",
        "resources:",
        // kustomize wants relative paths
        `  - ${path.relative(dir, path.join(K8S_DIR, "overlays", overlay))}`,
        "components:",
        `  - ${path.relative(dir, path.join(K8S_DIR, "components", component))}`,
        "",
      ].join("\n"),
    );
    return kustomize(dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `helm template` of the chart with --set pairs; the kube version matches the schemas we validate with. */
export function helmTemplate(sets: Record<string, string> = {}): K8sObject[] {
  const args = ["template", "tracemesh", CHART_DIR, "--namespace", "tracemesh", "--kube-version", "1.32.0"];
  for (const [key, value] of Object.entries(sets)) args.push("--set", `${key}=${value}`);
  return parseYamlStream(run(tool("helm", "30-helm.sh"), args));
}

export function toYamlStream(objects: K8sObject[]): string {
  return objects.map((o) => JSON.stringify(o)).join("\n---\n") + "\n";
}

/** Every object kind that carries a pod template, with that template. */
export function workloads(objects: K8sObject[]): Workload[] {
  const result: Workload[] = [];
  for (const object of objects) {
    const spec = object.spec as Record<string, unknown> | undefined;
    if (!spec) continue;
    let template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: PodSpec } | undefined;
    if (["Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet"].includes(object.kind)) {
      template = spec.template as typeof template;
    } else if (object.kind === "CronJob") {
      template = ((spec.jobTemplate as Record<string, unknown>).spec as Record<string, unknown>).template as typeof template;
    } else if (object.kind === "Pod") {
      template = { metadata: object.metadata, spec: object.spec as PodSpec };
    }
    if (!template) continue;
    result.push({
      object,
      pod: template.spec,
      podLabels: template.metadata?.labels ?? {},
      podAnnotations: template.metadata?.annotations ?? {},
    });
  }
  return result;
}

export function allContainers(pod: PodSpec): Container[] {
  return [...(pod.initContainers ?? []), ...pod.containers, ...(pod.ephemeralContainers ?? [])];
}

export function find(objects: K8sObject[], kind: string, name: string, namespace?: string): K8sObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
}

export function id(o: K8sObject): string {
  return `${o.kind}/${o.metadata.namespace ?? "-"}/${o.metadata.name}`;
}

/** CPU quantity → millicores; memory quantity → MiB. */
export function cpuMillis(quantity: string): number {
  return quantity.endsWith("m") ? Number(quantity.slice(0, -1)) : Number(quantity) * 1000;
}
export function memoryMiB(quantity: string): number {
  const units: Record<string, number> = { Ki: 1 / 1024, Mi: 1, Gi: 1024, k: 1e3 / 1048576, M: 1e6 / 1048576, G: 1e9 / 1048576 };
  const match = /^([0-9.]+)([A-Za-z]*)$/.exec(quantity);
  if (!match) throw new Error(`bad memory quantity ${quantity}`);
  const unit = match[2];
  if (unit === "") return Number(match[1]) / 1048576;
  if (!(unit in units)) throw new Error(`bad memory unit in ${quantity}`);
  return Number(match[1]) * units[unit];
}

/** The skaffold.yaml documents (one per module). */
export function skaffoldModules(): Array<{ metadata: { name: string }; build: { artifacts: Array<{ image: string; context?: string; docker?: { dockerfile?: string; buildArgs?: Record<string, string> } }> }; manifests?: { kustomize?: { paths: string[] } }; profiles?: Array<{ name: string; activation?: Array<{ kubeContext?: string }>; manifests?: { kustomize?: { paths: string[] } } }> }> {
  return parseYamlStream(fs.readFileSync(path.join(ROOT, "skaffold.yaml"), "utf8")) as unknown as ReturnType<typeof skaffoldModules>;
}

/** Image without tag or digest: `tracemesh/api:0.1.0` → `tracemesh/api`. */
export function imageName(image: string): string {
  const noDigest = image.split("@")[0];
  const slash = noDigest.lastIndexOf("/");
  const colon = noDigest.lastIndexOf(":");
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}
