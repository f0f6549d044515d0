// The benchmark environment: the real Collector (config.yaml + local.yaml) exporting to a cheap
// Honeycomb/X-Ray sink, and two whole meshes side by side — one with the SDK off
// (OTEL_SDK_DISABLED=true), one tracing every request (100 % sampling) to the Collector — so each
// repetition can alternate between them and machine noise hits both alike. Benchmark 6 starts such a
// pair per Node runtime, all exporting to one Collector.
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { startCollector, startProcess, standInCollectorEnv, TOOL_CACHE, waitFor, type LocalCollector, type ManagedProcess } from "@tracemesh/devkit";
import {
  autoInstrumentationsRegister,
  entryPoint,
  GRPC_SERVICES,
  POD_MEMORY_LIMIT_MIB,
  startMesh,
  v8HeapArgs,
  type HeapSizing,
  type Mesh,
  type MeshService,
  type NodeCommand,
} from "@tracemesh/mesh";
import { runNodeScript } from "./node-script.js";

/** A helper process of ours (servers/*.js) that prints {"port":N} once listening. */
export interface Helper {
  process: ManagedProcess;
  port: number;
  stop(): Promise<void>;
}

export async function startHelper(name: string, script: string, env: NodeJS.ProcessEnv = {}): Promise<Helper> {
  const proc = startProcess(name, process.execPath, [path.join(__dirname, "servers", script)], {
    env: { ...process.env, OTEL_SDK_DISABLED: "true", ...env },
  });
  let port = 0;
  try {
    await waitFor(
      `${name} to listen`,
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`${name} exited ${proc.child.exitCode}: ${proc.output()}`);
        const line = proc.jsonLines().find((l) => typeof l.port === "number");
        port = line ? Number(line.port) : 0;
        return port > 0;
      },
      { timeoutMs: 10_000, intervalMs: 50 },
    );
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return { process: proc, port, stop: async () => void (await proc.stop(5000)) };
}

/** Where the traced meshes export: the real Collector, and the Honeycomb/X-Ray sink behind it. */
export interface TraceBackend {
  collector: LocalCollector;
  sink: Helper;
}

/** The same mesh twice, on the same Node: SDK off, and tracing to the Collector. */
export interface MeshPair {
  untraced: Mesh;
  traced: Mesh;
}

export interface BenchEnv extends TraceBackend, MeshPair {
  /** Benchmark 1's other configurations, when asked for (each a mesh of its own, side by side). */
  extra: Partial<Record<ExtraKind, { mesh: Mesh; collector?: LocalCollector }>>;
  stop(): Promise<void>;
}

export type MeshKind = "untraced" | "traced";
/**
 * Benchmark 1's other configurations: the OpenTelemetry Demo's way of tracing the same mesh; ours sampling 10 % of
 * the traces; ours with V8's heaps sized from this machine's memory (not the pods'); ours before the upgrade
 * (a baseline checkout of the project with its own SDK and Collector).
 */
export const EXTRA_KINDS = ["otel-demo", "sampled", "machine-heaps", "before"] as const;
export type ExtraKind = (typeof EXTRA_KINDS)[number];
export type OverheadKind = MeshKind | ExtraKind;
/** The head-sampling ratio of the "sampled" configuration. */
export const SAMPLED_RATIO = 0.1;

/** Runs the demo seed (users, activities, replies, likes through gRPC) against a mesh. */
export async function seed(mesh: Mesh): Promise<void> {
  await runNodeScript("seed", [entryPoint("seed")], {
    env: { ...process.env, ...mesh.clientEnv, OTEL_SDK_DISABLED: "true" },
    timeoutMs: 120_000,
    stdout: "ignore",
  });
}

/** Stops what was started, last first; errors are swallowed (a stop must not hide the error that caused it). */
export class Stops {
  private readonly list: Array<() => Promise<unknown>> = [];
  add(stop: () => Promise<unknown>): void {
    this.list.push(stop);
  }
  async run(): Promise<void> {
    for (const s of this.list.splice(0).reverse()) await s().catch(() => undefined);
  }
}

/**
 * The sink and the Collector in front of it; their stops go onto `stops`. The Collector writes no file of the
 * spans unless `fileExporter` (only benchmark 3 reads them back).
 */
export async function startTraceBackend(stops: Stops, log: (line: string) => void, opts: { fileExporter?: boolean } = {}): Promise<TraceBackend> {
  const sink = await startHelper("saas-sink", "saas-sink.js");
  stops.add(sink.stop);
  const sinkUrl = `http://127.0.0.1:${sink.port}`;
  const collector = await startCollector({ env: collectorEnv(sinkUrl), fileExporter: opts.fileExporter ?? false });
  stops.add(collector.stop);
  log(`Collector up (OTLP ${collector.otlpHttpUrl}${opts.fileExporter ? ", with the file exporter" : ""}); Honeycomb/X-Ray sink on ${sinkUrl}`);
  return { collector, sink };
}

/** The Collector's environment: the Honeycomb and X-Ray exporters pointed at the sink. */
export function collectorEnv(sinkUrl: string): NodeJS.ProcessEnv {
  return { ...standInCollectorEnv({ honeycombUrl: sinkUrl, honeycombKey: "bench-key", xrayEndpoint: sinkUrl }), DEBUG_VERBOSITY: "basic" };
}

/** An untraced and a traced mesh on `node` (default: this process's Node); their stops go onto `stops`. */
export async function startMeshPair(
  stops: Stops,
  backend: TraceBackend,
  opts: { sampleRatio: number; node?: NodeCommand },
): Promise<MeshPair> {
  const untraced = await startMesh({ env: { LOG_LEVEL: "warn" }, node: opts.node });
  stops.add(untraced.stop);
  const traced = await startTracedMesh(stops, backend, opts);
  return { untraced, traced };
}

/** Our traced mesh (sampling `sampleRatio` of the traces at the root); its stop goes onto `stops`. */
export async function startTracedMesh(stops: Stops, backend: TraceBackend, opts: { sampleRatio: number; node?: NodeCommand; heaps?: HeapSizing }): Promise<Mesh> {
  const traced = await startMesh({
    env: { LOG_LEVEL: "warn" },
    node: opts.node,
    heaps: opts.heaps,
    otel: {
      endpoint: backend.collector.otlpHttpUrl,
      env: {
        ...samplerEnv(opts.sampleRatio),
        OTEL_SERVICE_NAMESPACE: "bench",
      },
    },
  });
  stops.add(traced.stop);
  return traced;
}

/**
 * The mesh traced as the OpenTelemetry Demo traces its Node services: `--require
 * @opentelemetry/auto-instrumentations-node/register` with the metapackage's default instrumentation set
 * (all but fs and host-metrics: net, dns, http, grpc, ioredis, pino, undici…), the SDK's defaults (random
 * ids, W3C propagators, the batch processor, OTLP/HTTP protobuf) and OTEL_SERVICE_NAME per service;
 * none of our span processors or instrumentation options. Sampling as the traced mesh's.
 */
export async function startOtelDemoMesh(
  stops: Stops,
  backend: TraceBackend,
  opts: { sampleRatio: number; env?: NodeJS.ProcessEnv; heaps?: HeapSizing },
): Promise<Mesh> {
  const serviceEnv = Object.fromEntries([...GRPC_SERVICES, "api"].map((name) => [name, { OTEL_SERVICE_NAME: name }])) as Partial<Record<MeshService, NodeJS.ProcessEnv>>;
  const mesh = await startMesh({
    env: { LOG_LEVEL: "warn", ...opts.env },
    heaps: opts.heaps,
    serviceEnv,
    otel: {
      endpoint: backend.collector.otlpHttpUrl,
      preload: autoInstrumentationsRegister(),
      env: {
        ...samplerEnv(opts.sampleRatio),
        OTEL_SERVICE_NAMESPACE: "bench-otel-demo",
        // The default ("all") adds the cloud detectors, which probe metadata addresses outside this machine.
        OTEL_NODE_RESOURCE_DETECTORS: "env,host,os,process,serviceinstance,container",
      },
    },
  });
  stops.add(mesh.stop);
  return mesh;
}

export function samplerEnv(sampleRatio: number): NodeJS.ProcessEnv {
  return sampleRatio < 1
    ? { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: String(sampleRatio) }
    : { OTEL_TRACES_SAMPLER: "parentbased_always_on" };
}

/** Both meshes of a pair seeded with the demo data. */
export async function seedPair(pair: MeshPair): Promise<void> {
  await Promise.all([seed(pair.untraced), seed(pair.traced)]);
}

/**
 * The project as it was before a change (tools/bench/baseline.sh prepared it): its own mesh, telemetry and Collector
 * (its builder.yaml's build, its config.yaml + local.yaml without the file exporter, as ours runs), beside ours.
 * Its processes get heaps sized from the pods' limits too (one set of flags for all: its startMesh takes one), so
 * only the change differs.
 */
export async function startBaselineMesh(stops: Stops, dir: string, sinkUrl: string, opts: { sampleRatio: number }): Promise<{ mesh: Mesh; collector: LocalCollector }> {
  const hash = crypto.createHash("sha256").update(fs.readFileSync(path.join(dir, "deploy", "collector", "builder.yaml"))).digest("hex").slice(0, 16);
  const binary = path.join(TOOL_CACHE, "collector", hash, "otelcol-tracemesh");
  if (!fs.existsSync(binary)) throw new Error(`the baseline's Collector is not built (${binary}): bash tools/bench/baseline.sh REF builds it`);
  const configDir = path.join(dir, "deploy", "collector");
  const local = fs.readFileSync(path.join(configDir, "local.yaml"), "utf8");
  const configs = [path.join(configDir, "config.yaml"), path.join(configDir, "local.yaml")];
  // Its local.yaml put the file exporter in the pipeline: the same pipeline without it, in its component names.
  const exporters = /^\s+exporters: \[(.*)\]\s*$/m.exec(local)?.[1];
  if (exporters?.includes("file/traces")) {
    const overlayDir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-baseline-"));
    stops.add(async () => fs.rmSync(overlayDir, { recursive: true, force: true }));
    const overlay = path.join(overlayDir, "no-file.yaml");
    const list = exporters.split(",").map((x) => x.trim()).filter((x) => x !== "file/traces").join(", ");
    fs.writeFileSync(overlay, `service:\n  pipelines:\n    traces:\n      exporters: [${list}]\n`);
    configs.push(overlay);
  }
  const collector = await startCollector({ configs, binary, env: collectorEnv(sinkUrl) });
  stops.add(collector.stop);
  // Its mesh package where its layout kept it: tools/mesh since the layers were split, packages/mesh before.
  const meshEntry = ["tools", "packages"].map((top) => path.join(dir, top, "mesh", "dist", "src", "index.js")).find((f) => fs.existsSync(f));
  if (!meshEntry) throw new Error(`the baseline ${dir} has no built mesh (tools/mesh or packages/mesh)`);
  const { startMesh: startBaseline } = require(meshEntry) as { startMesh: typeof startMesh };
  const mesh = await startBaseline({
    env: { LOG_LEVEL: "warn" },
    node: { execPath: process.execPath, execArgv: v8HeapArgs(POD_MEMORY_LIMIT_MIB.users) },
    otel: { endpoint: collector.otlpHttpUrl, env: { ...samplerEnv(opts.sampleRatio), OTEL_SERVICE_NAMESPACE: "bench-before" } },
  });
  stops.add(mesh.stop);
  return { mesh, collector };
}

export async function startBenchEnv(opts: {
  seed: boolean;
  sampleRatio: number;
  extras: readonly ExtraKind[];
  /** The folder of the "before" configuration (tools/bench/baseline.sh), when extras has it. */
  baselineDir?: string;
  log: (line: string) => void;
}): Promise<BenchEnv> {
  const stops = new Stops();
  try {
    const backend = await startTraceBackend(stops, opts.log);
    const pair = await startMeshPair(stops, backend, { sampleRatio: opts.sampleRatio });
    const extra: BenchEnv["extra"] = {};
    for (const kind of opts.extras) {
      if (kind === "otel-demo") extra[kind] = { mesh: await startOtelDemoMesh(stops, backend, { sampleRatio: opts.sampleRatio }) };
      if (kind === "sampled") extra[kind] = { mesh: await startTracedMesh(stops, backend, { sampleRatio: SAMPLED_RATIO }) };
      if (kind === "machine-heaps") extra[kind] = { mesh: await startTracedMesh(stops, backend, { sampleRatio: opts.sampleRatio, heaps: "machine" }) };
      if (kind === "before") {
        if (!opts.baselineDir) throw new Error("the before configuration needs a baseline folder (tools/bench/baseline.sh)");
        extra[kind] = await startBaselineMesh(stops, opts.baselineDir, `http://127.0.0.1:${backend.sink.port}`, { sampleRatio: opts.sampleRatio });
      }
    }
    const extras = Object.entries(extra).map(([kind, x]) => `${kind} ${x.mesh.apiUrl}`);
    opts.log(`meshes up: untraced ${pair.untraced.apiUrl}, traced ${pair.traced.apiUrl}` + (extras.length ? `, ${extras.join(", ")}` : ""));
    if (opts.seed) {
      await Promise.all([seedPair(pair), ...Object.values(extra).map((x) => seed(x.mesh))]);
      opts.log("the meshes are seeded with the demo data");
    }
    return { ...backend, ...pair, extra, stop: () => stops.run() };
  } catch (err) {
    await stops.run();
    throw err;
  }
}

/** Signs up a user through the API; returns its bearer token. */
export async function signUp(apiUrl: string, handle: string): Promise<string> {
  const res = await fetch(`${apiUrl}/api/users`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ handle, display_name: `Bench ${handle}` }),
    signal: AbortSignal.timeout(5000),
  });
  const body = (await res.json()) as { token?: string };
  if (res.status !== 201 || typeof body.token !== "string") throw new Error(`sign-up of ${handle}: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}

/** Pids of the processes whose memory the footprint benchmark adds up. */
export function meshPids(mesh: Mesh, collector?: LocalCollector): Record<string, number> {
  const pids: Record<string, number> = {};
  for (const [name, proc] of Object.entries(mesh.processes)) pids[name] = proc.child.pid!;
  const redisPid = mesh.redis.local?.process.child.pid;
  if (redisPid) pids["redis-server"] = redisPid;
  if (collector) pids["otelcol (Collector)"] = collector.process.child.pid!;
  return pids;
}
