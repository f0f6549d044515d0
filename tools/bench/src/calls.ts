// `node tools/bench/dist/src/calls.js [--reps 5] [--count 3000] [--config ID,VAR=value…]`: what one call costs,
// call by call, with our
// telemetry (@tracemesh/telemetry/register, as every service preloads it) under four samplers: the SDK off,
// always_off (the instrumentations run, nothing is recorded), 10 % (parentbased_traceidratio) and 100 %.
// A worker process per configuration (calls-worker.js) makes each kind of call a few thousand times, one after
// the other, each inside a request span as a handler's calls are, and reads its own CPU time: a Redis command
// against a real redis-server, a gRPC unary call and an HTTP request (fetch) to servers in the same process, so
// both sides' instrumentation is counted, and a log line. Spans go over OTLP to a sink that discards them.
// The configurations alternate within every repetition; the cells are medians (min–max). Each --config adds one
// more: its variables on top of the exporter's, e.g. `--config nogrpc,OTEL_TRACES_SAMPLER=always_off,
// OTEL_NODE_DISABLED_INSTRUMENTATIONS=grpc` (what the gRPC instrumentation alone costs an unsampled call), or
// `--config noxray,OTEL_TRACES_SAMPLER=always_off,BENCH_SKIP_PARTS=xray-propagator` (experiment-preload.ts).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { startRedis } from "@tracemesh/devkit";
import { Stops, samplerEnv, startHelper } from "./env.js";
import { CALL_KINDS, type CallCosts, type CallKind } from "./calls-worker.js";
import { runNodeScript } from "./node-script.js";
import { fmt, fmtSpread, spread, table, type Spread } from "./stats.js";

export interface CallConfig {
  id: string;
  label: string;
  env: NodeJS.ProcessEnv;
}

/** The SDK off first: the other columns are read against it. */
export const CALL_CONFIGS: CallConfig[] = [
  { id: "off", label: "SDK off", env: { OTEL_SDK_DISABLED: "true" } },
  { id: "always_off", label: "always_off (nothing recorded)", env: { OTEL_TRACES_SAMPLER: "always_off" } },
  { id: "s10", label: "10 % sampled", env: samplerEnv(0.1) },
  { id: "s100", label: "100 % sampled", env: samplerEnv(1) },
];

/** `ID,VAR=value,…` → a configuration labelled with its variables. */
export function parseCallConfig(spec: string): CallConfig {
  const [id = "", ...vars] = spec.split(",");
  if (!/^[\w-]+$/.test(id)) throw new Error(`--config ${spec}: start with an id (letters, digits, - and _)`);
  const env: NodeJS.ProcessEnv = {};
  for (const v of vars) {
    const eq = v.indexOf("=");
    if (eq <= 0) throw new Error(`--config ${spec}: "${v}" is not VAR=value`);
    env[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return { id, label: `${id} (${vars.join(", ")})`, env };
}

async function runWorker(env: NodeJS.ProcessEnv, redisUrl: string, count: number): Promise<CallCosts> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-calls-"));
  const resultFile = path.join(dir, "result.json");
  // experiment-preload.js: BENCH_SKIP_INSTRUMENTATIONS / BENCH_SKIP_PARTS in a --config turn parts of our telemetry
  // off (a no-op otherwise); it finds @tracemesh/telemetry from the working folder, this package's.
  const args = [
    "--require", path.join(__dirname, "experiment-preload.js"),
    "--require", require.resolve("@tracemesh/telemetry/register"),
    path.join(__dirname, "calls-worker.js"), redisUrl, resultFile,
  ];
  try {
    // stdout is the worker's log output, as a service's: thrown away, like a log shipper's read of it.
    await runNodeScript("calls worker", args, {
      cwd: path.join(__dirname, "..", ".."),
      env: { ...process.env, ...env, CALLS_COUNT: String(count) },
      timeoutMs: 300_000,
      stdout: "ignore",
    });
    return JSON.parse(fs.readFileSync(resultFile, "utf8")) as CallCosts;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export interface CallsResult {
  configs: CallConfig[];
  cells: Record<string, Record<CallKind, Spread>>;
  /** OTLP export requests the sink accepted during each configuration's runs (none unless something was recorded). */
  exports: Record<string, number>;
}

async function sinkExports(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/counts`, { signal: AbortSignal.timeout(5000) });
  return ((await res.json()) as { honeycombRequests: number }).honeycombRequests;
}

export async function runCalls(configs: CallConfig[], s: { reps: number; count: number }, log: (line: string) => void): Promise<CallsResult> {
  const stops = new Stops();
  try {
    const redis = await startRedis();
    stops.add(() => redis.stop());
    const sink = await startHelper("saas-sink", "saas-sink.js");
    stops.add(sink.stop);
    const exportEnv: NodeJS.ProcessEnv = {
      OTEL_SDK_DISABLED: "false",
      OTEL_SERVICE_NAME: "bench-calls",
      OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${sink.port}`,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/protobuf",
      // The sink checks Honeycomb's key header.
      OTEL_EXPORTER_OTLP_HEADERS: "x-honeycomb-team=bench",
      OTEL_LOGS_EXPORTER: "none",
      OTEL_METRICS_EXPORTER: "none",
    };
    const runs = new Map<string, number[]>();
    const exports: Record<string, number> = Object.fromEntries(configs.map((c) => [c.id, 0]));
    for (let rep = 0; rep < s.reps; rep++) {
      for (const config of configs) {
        const exportsBefore = await sinkExports(sink.port);
        const costs = await runWorker({ ...exportEnv, ...config.env }, redis.url, s.count);
        exports[config.id]! += (await sinkExports(sink.port)) - exportsBefore;
        for (const kind of CALL_KINDS) runs.set(`${config.id}|${kind}`, [...(runs.get(`${config.id}|${kind}`) ?? []), costs[kind]]);
        log(`  calls ${config.id} rep ${rep + 1}: ${CALL_KINDS.map((k) => `${k} ${fmt(costs[k], 1)}`).join(", ")} µs`);
      }
    }
    const cells: CallsResult["cells"] = {};
    for (const config of configs) {
      cells[config.id] = {} as Record<CallKind, Spread>;
      for (const kind of CALL_KINDS) cells[config.id]![kind] = spread(runs.get(`${config.id}|${kind}`)!);
    }
    return { configs, cells, exports };
  } finally {
    await stops.run();
  }
}

/** µs per call in each configuration, then what each adds over the SDK off, the request span's share taken out. */
export function callsTables(r: CallsResult): string {
  const [base, ...others] = r.configs;
  const cell = (id: string, k: CallKind) => r.cells[id]![k];
  const perCall = table(
    ["µs of CPU per call (in its request span)", ...r.configs.map((c) => c.label)],
    [
      ...CALL_KINDS.map((k) => [k, ...r.configs.map((c) => fmtSpread(cell(c.id, k), 1))]),
      ["OTLP exports the sink accepted", ...r.configs.map((c) => String(r.exports[c.id] ?? 0))],
    ],
  );
  // The call's own share: its figure minus the request span alone, in the same configuration.
  const own = (id: string, k: CallKind) => cell(id, k).median - (k === "request span alone" ? 0 : cell(id, "request span alone").median);
  const added = table(
    [`µs added over ${base!.label}`, ...others.map((c) => c.label)],
    CALL_KINDS.map((k) => [k === "request span alone" ? "the request span" : k, ...others.map((c) => fmt(own(c.id, k) - own(base!.id, k), 1))]),
  );
  return `${perCall}\n\n${added}`;
}

if (require.main === module) {
  const { values } = parseArgs({
    options: { reps: { type: "string", default: "5" }, count: { type: "string", default: "3000" }, config: { type: "string", multiple: true } },
  });
  runCalls([...CALL_CONFIGS, ...(values.config ?? []).map(parseCallConfig)], { reps: Number(values.reps), count: Number(values.count) }, (line) => process.stderr.write(`${line}\n`)).then(
    (r) => {
      process.stdout.write(callsTables(r) + "\n");
      process.exit(0);
    },
    (err: Error) => {
      process.stderr.write(`calls failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
