// The benchmark environment: the real Collector (config.yaml + local.yaml) exporting to a cheap
// Honeycomb/X-Ray sink, and two whole meshes side by side — one with the SDK off
// (OTEL_SDK_DISABLED=true), one tracing every request (100 % sampling) to the Collector — so each
// repetition can alternate between them and machine noise hits both alike. Benchmark 6 starts such a
// pair per Node runtime, all exporting to one Collector.
import { spawn } from "node:child_process";
import path from "node:path";
import { startCollector, startProcess, standInCollectorEnv, waitFor, type LocalCollector, type ManagedProcess } from "@tracemesh/devkit";
import { autoInstrumentationsRegister, entryPoint, GRPC_SERVICES, startMesh, type Mesh, type MeshService, type NodeCommand } from "@tracemesh/mesh";

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
  /** The same mesh traced the OpenTelemetry Demo's way (benchmark 1's third configuration), when asked for. */
  otelDemo?: Mesh;
  stop(): Promise<void>;
}

export type MeshKind = "untraced" | "traced";
/** Benchmark 1's configurations: MeshKind plus the OpenTelemetry Demo's way of tracing the same mesh. */
export type OverheadKind = MeshKind | "otel-demo";

/** Runs the demo seed (users, activities, replies, likes through gRPC) against a mesh. */
function seed(mesh: Mesh): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entryPoint("seed")], {
      env: { ...process.env, ...mesh.clientEnv, OTEL_SDK_DISABLED: "true" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let err = "";
    child.stderr.on("data", (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 120_000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve();
      else reject(new Error(`seed exited ${code}: ${err.slice(-2000)}`));
    });
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

/** The sink and the Collector in front of it; their stops go onto `stops`. */
export async function startTraceBackend(stops: Stops, log: (line: string) => void): Promise<TraceBackend> {
  const sink = await startHelper("saas-sink", "saas-sink.js");
  stops.add(sink.stop);
  const sinkUrl = `http://127.0.0.1:${sink.port}`;
  const collector = await startCollector({
    env: { ...standInCollectorEnv({ honeycombUrl: sinkUrl, honeycombKey: "bench-key", xrayEndpoint: sinkUrl }), DEBUG_VERBOSITY: "basic" },
  });
  stops.add(collector.stop);
  log(`Collector up (OTLP ${collector.otlpHttpUrl}); Honeycomb/X-Ray sink on ${sinkUrl}`);
  return { collector, sink };
}

/** An untraced and a traced mesh on `node` (default: this process's Node); their stops go onto `stops`. */
export async function startMeshPair(
  stops: Stops,
  backend: TraceBackend,
  opts: { sampleRatio: number; node?: NodeCommand },
): Promise<MeshPair> {
  const env = { LOG_LEVEL: "warn" };
  const untraced = await startMesh({ env, node: opts.node });
  stops.add(untraced.stop);
  const traced = await startMesh({
    env,
    node: opts.node,
    otel: {
      endpoint: backend.collector.otlpHttpUrl,
      env: {
        ...samplerEnv(opts.sampleRatio),
        OTEL_SERVICE_NAMESPACE: "bench",
      },
    },
  });
  stops.add(traced.stop);
  return { untraced, traced };
}

/**
 * The mesh traced as the OpenTelemetry Demo traces its Node services: `--require
 * @opentelemetry/auto-instrumentations-node/register` with the metapackage's default instrumentation set
 * (all but fs and host-metrics: net, dns, http, grpc, ioredis, pino, undici…), the SDK's defaults (random
 * ids, W3C propagators, the batch processor, OTLP/HTTP protobuf) and OTEL_SERVICE_NAME per service;
 * none of our span processors or instrumentation options. Sampling as the traced mesh's.
 */
export async function startOtelDemoMesh(stops: Stops, backend: TraceBackend, opts: { sampleRatio: number }): Promise<Mesh> {
  const serviceEnv = Object.fromEntries([...GRPC_SERVICES, "api"].map((name) => [name, { OTEL_SERVICE_NAME: name }])) as Partial<Record<MeshService, NodeJS.ProcessEnv>>;
  const mesh = await startMesh({
    env: { LOG_LEVEL: "warn" },
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

function samplerEnv(sampleRatio: number): NodeJS.ProcessEnv {
  return sampleRatio < 1
    ? { OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: String(sampleRatio) }
    : { OTEL_TRACES_SAMPLER: "parentbased_always_on" };
}

/** Both meshes of a pair seeded with the demo data. */
export async function seedPair(pair: MeshPair): Promise<void> {
  await Promise.all([seed(pair.untraced), seed(pair.traced)]);
}

export async function startBenchEnv(opts: { seed: boolean; sampleRatio: number; otelDemo: boolean; log: (line: string) => void }): Promise<BenchEnv> {
  const stops = new Stops();
  try {
    const backend = await startTraceBackend(stops, opts.log);
    const pair = await startMeshPair(stops, backend, { sampleRatio: opts.sampleRatio });
    const otelDemo = opts.otelDemo ? await startOtelDemoMesh(stops, backend, { sampleRatio: opts.sampleRatio }) : undefined;
    opts.log(`meshes up: untraced ${pair.untraced.apiUrl}, traced ${pair.traced.apiUrl}` + (otelDemo ? `, OpenTelemetry Demo's way ${otelDemo.apiUrl}` : ""));
    if (opts.seed) {
      await Promise.all([seedPair(pair), ...(otelDemo ? [seed(otelDemo)] : [])]);
      opts.log("the meshes are seeded with the demo data");
    }
    return { ...backend, ...pair, otelDemo, stop: () => stops.run() };
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
