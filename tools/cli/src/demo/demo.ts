// The demo (`npm run demo` → scripts/demo.sh → `tracemesh demo`): the real Collector with its sinks
// (telemetry.ts), Redis, the whole mesh, demo data, then loadgen for a bounded time; prints
// loadgen's per-route summary, one trace as a waterfall and the service map, stops everything and
// exits 0. `--keep-running` seeds and then keeps the mesh (and Collector) up, printing their URLs,
// until Ctrl-C. `--no-collector` runs the mesh without tracing.
//
// Extra steps plug in through DemoExtension: they can hand OTLP settings to every process before the
// mesh starts and print things after the load ran and after the mesh stopped (spans flushed).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import type { ExitStatus, Retention } from "@tracemesh/devkit";
import { DURATION_GRAMMAR, parseDuration } from "@tracemesh/domain";
import { FLAG_FILE_ENV } from "@tracemesh/flags";
import { entryPoint, heapArgs, nodeArgs, packageDirOf, POD_MEMORY_LIMIT_MIB, startMesh, telemetryEnv, type EntryPoint, type Mesh, type MeshOtelOptions, type MeshService } from "@tracemesh/mesh";
import { prepareDemoFlags } from "./flags.js";
import { claim, type Claim } from "./owner.js";

export interface DemoOptions {
  /** loadgen --duration, e.g. 30s. */
  duration: string;
  /** loadgen --rate (requests/s). */
  rate: string;
  maxErrorRate: string;
  keepRunning: boolean;
  /** Copy the services' logs to stderr. */
  echo: boolean;
  /** Run the Collector and print a trace and the service map (false: --no-collector). */
  collector: boolean;
  /** Where every mesh process's output goes: <logDir>/<service>.log (CRI format; Fluent Bit tails them). */
  logDir: string;
  /** Where the demo keeps its fault flag file (default: demoFlagFile(), which `tracemesh fault` finds unasked). */
  flagFile?: string;
}

/** What the extensions' hooks get: the options, with the flag file this demo claimed and what stand-ins keep. */
export type RunningDemoOptions = DemoOptions & { flagFile: string; retention: Retention };

/**
 * What each local stand-in keeps while `--keep-running` runs (spans, segment documents, log events, Rollbar
 * items): the newest, about 2,000 requests' worth. Without a bound the demo's own heap held 592 MiB after 24,000
 * requests at 150 req/s and grew with every request; with it, 358 MiB (after a full GC, 2026-12-07). A bounded run
 * keeps everything: its summary checks every span and line.
 */
export const KEEP_RUNNING_RETENTION: Retention = { maxItems: 50_000 };

/**
 * The Collector's traces file while `--keep-running` runs: renamed past 100 MB, the two newest renamed files kept
 * (at most ~300 MB on disk). It took ~8 KB a request: 188 MB after 24,000 requests, with no end.
 */
export const KEEP_RUNNING_TRACES_FILE_ROTATION = { maxMegabytes: 100, maxBackups: 2 };

/** The processes' log files (named in the demo's summary). */
export const DEMO_LOG_DIR = path.join(os.tmpdir(), "tracemesh-demo", "logs");

export interface DemoExtension {
  name: string;
  /** Runs before the mesh starts; may return where every process exports spans. */
  beforeMesh?(opts: RunningDemoOptions): Promise<MeshOtelOptions | void>;
  /** Runs once the mesh is up, before seeding (the web frontend starts here). */
  meshUp?(mesh: Mesh, opts: RunningDemoOptions): Promise<void>;
  /** Runs right before loadgen starts (after seeding). */
  beforeLoad?(mesh: Mesh, opts: RunningDemoOptions): Promise<void>;
  /** Runs after loadgen finished, with the mesh still up. */
  afterLoad?(mesh: Mesh, opts: RunningDemoOptions): Promise<void>;
  /** Runs after a completed load once the mesh stopped (every service flushed its spans): print a trace. */
  afterMesh?(stopped: Partial<Record<MeshService, ExitStatus>>, opts: RunningDemoOptions): Promise<void>;
  /** Lines added to the URLs `--keep-running` prints. */
  urls?(mesh: Mesh): string[];
  /** Variables every mesh process gets (read once its beforeMesh ran), e.g. where to report errors. */
  env?(): NodeJS.ProcessEnv;
  /** Always runs at the end, after the mesh stopped. */
  stop?(): Promise<void>;
}

/** Loadgen's JSON summary: only the fields the demo prints. */
interface LoadSummary {
  requests: number;
  errors: number;
  error_rate: number;
  achieved_rate: number;
}

const say = (line: string) => process.stderr.write(`\x1b[1;34m[demo]\x1b[0m ${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs one of the mesh's programs with inherited stdio; resolves its exit code (killed past timeoutMs). */
function runNode(program: EntryPoint, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number> {
  const script = entryPoint(program);
  return new Promise((resolve) => {
    // loadgen's heaps as in its Job's pod (the mesh's services get theirs from startMesh).
    const heaps = program in POD_MEMORY_LIMIT_MIB ? heapArgs(program as keyof typeof POD_MEMORY_LIMIT_MIB) : [];
    const child = spawn(process.execPath, [...heaps, ...nodeArgs(script), ...args], {
      cwd: packageDirOf(script),
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const timer = setTimeout(() => {
      say(`${program} still running after ${seconds(timeoutMs)}; stopping it`);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? 128 : 1));
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      say(`could not start ${program}: ${err.message}`);
      resolve(1);
    });
  });
}

/** loadgen's --duration, read with the same grammar loadgen uses. */
function durationMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined || ms <= 0) throw new Error(`--duration must be ${DURATION_GRAMMAR}, got "${text}"`);
  return ms;
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

function printUrls(mesh: Mesh, extensions: DemoExtension[]): void {
  const lines = [
    `mesh running (Ctrl-C stops it):`,
    `  api            ${mesh.apiUrl}   (OpenAPI: ${mesh.apiUrl}/api/openapi.json)`,
    `  users          ${mesh.addrs.users}   (gRPC, reflection on)`,
    `  activities     ${mesh.addrs.activities}`,
    `  notifications  ${mesh.addrs.notifications}`,
    `  moderation     ${mesh.moderationUrl}   (HTTP, ${mesh.moderationTracing === "otel" ? "OpenTelemetry" : "X-Ray SDK"}; MODERATION_TRACING)`,
    `  redis          ${mesh.redis.url}`,
    ...extensions.flatMap((ext) => ext.urls?.(mesh) ?? []),
    `try: curl -s '${mesh.apiUrl}/api/activities/home?limit=3'`,
    `     node services/loadgen/dist/src/main.js --base-url ${mesh.apiUrl} --rate 20 --duration 30s`,
    `     pnpm tracemesh fault list   (failure scenarios: docs/faults.md)`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

/** Stops the mesh and says how every process exited. */
async function stopMesh(mesh: Mesh): Promise<Record<MeshService, ExitStatus>> {
  const statuses = await mesh.stop();
  const bad = Object.entries(statuses).filter(([, s]) => s.code !== 0);
  say(bad.length === 0 ? "every mesh process stopped (exit 0)" : `stopped with failures: ${bad.map(([n, s]) => `${n}=${s.code ?? s.signal}`).join(", ")}`);
  return statuses;
}

/** The whole demo; resolves the process exit code. */
export async function runDemo(options: DemoOptions, extensions: DemoExtension[] = []): Promise<number> {
  const started = Date.now();
  const loadMs = durationMs(options.duration);
  let otel: MeshOtelOptions | undefined;
  let mesh: Mesh | undefined;
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  // First, so that a demo refused here (another running demo owns the file or the folder) has started and
  // removed nothing.
  const flags = prepareDemoFlags(options.flagFile);
  const opts: RunningDemoOptions = { ...options, flagFile: flags.file, retention: options.keepRunning ? KEEP_RUNNING_RETENTION : {} };
  let logs: Claim;
  try {
    logs = claim(opts.logDir, "writes its logs to", "stop it, or start this one with TMPDIR set to a folder of its own (and --flag-file PATH)");
  } catch (err) {
    flags.remove();
    throw err;
  }
  say(`fault flags: ${flags.file} (all off; pnpm tracemesh fault list${options.flagFile ? ` --file ${flags.file}` : ""})`);
  try {
    // A fresh folder each run: Fluent Bit tails it, and the summary counts its lines.
    fs.rmSync(opts.logDir, { recursive: true, force: true });
    fs.mkdirSync(opts.logDir, { recursive: true });
    for (const ext of extensions) otel = (await ext.beforeMesh?.(opts)) ?? otel;

    say(process.env.REDIS_URL ? `using REDIS_URL ${process.env.REDIS_URL}` : "starting redis-server on a free port");
    const t0 = Date.now();
    const extensionEnv = Object.assign({}, ...extensions.map((ext) => ext.env?.() ?? {})) as NodeJS.ProcessEnv;
    mesh = await startMesh({
      redisUrl: process.env.REDIS_URL || undefined,
      otel,
      echo: opts.echo,
      logDir: opts.logDir,
      env: { ...extensionEnv, [FLAG_FILE_ENV]: flags.file },
    });
    say(`mesh up in ${seconds(Date.now() - t0)}: api ${mesh.apiUrl}; moderation traced by ${mesh.moderationTracing === "otel" ? "OpenTelemetry (MODERATION_TRACING=otel)" : "the X-Ray SDK (MODERATION_TRACING=xray-sdk)"}`);
    for (const ext of extensions) await ext.meshUp?.(mesh, opts);

    // Named, so its traffic is told apart from loadgen's in the traces.
    const seedCode = await runNode("seed", [], { ...mesh.clientEnv, OTEL_SERVICE_NAME: "seed" }, 60_000);
    if (seedCode !== 0) throw new Error(`seeding failed (exit ${seedCode})`);

    if (opts.keepRunning) {
      printUrls(mesh, extensions);
      if (opts.collector) {
        say(`the local stand-ins keep the newest ${KEEP_RUNNING_RETENTION.maxItems!.toLocaleString("en-US")} spans, segments and log events each; older ones are dropped, as a retention period drops them`);
        say(`the traces file rotates at ${KEEP_RUNNING_TRACES_FILE_ROTATION.maxMegabytes} MB, keeping ${KEEP_RUNNING_TRACES_FILE_ROTATION.maxBackups} older files beside it`);
      }
      const signal = await waitForSignal();
      say(`${signal}: stopping`);
      return 0;
    }

    // While loadgen runs, Ctrl-C reaches it too (same process group): it stops and prints its summary.
    process.on("SIGINT", onInterrupt);
    const jsonPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-demo-")), "loadgen.json");
    for (const ext of extensions) await ext.beforeLoad?.(mesh, opts);
    say(`running loadgen at ${opts.rate} requests/s for ${opts.duration}`);
    // loadgen traces too: each flow is a root span, its HTTP client spans name api as peer.service.
    const loadgenEnv = otel
      ? { ...telemetryEnv(otel), OTEL_SERVICE_NAME: "loadgen", TRACEMESH_HTTP_PEERS: `${new URL(mesh.apiUrl).host}=api`, [FLAG_FILE_ENV]: flags.file }
      : { ...telemetryEnv(otel), [FLAG_FILE_ENV]: flags.file };
    const loadCode = await runNode(
      "loadgen",
      ["--base-url", mesh.apiUrl, "--rate", opts.rate, "--duration", opts.duration, "--json", jsonPath, "--max-error-rate", opts.maxErrorRate, "--wait-ready", "10s"],
      loadgenEnv,
      loadMs + 60_000,
    );
    if (fs.existsSync(jsonPath)) {
      const s = JSON.parse(fs.readFileSync(jsonPath, "utf8")) as LoadSummary;
      say(`loadgen: ${s.requests} requests, ${s.errors} errors (${(s.error_rate * 100).toFixed(2)} %), ${s.achieved_rate} requests/s`);
    }
    fs.rmSync(path.dirname(jsonPath), { recursive: true, force: true });
    for (const ext of extensions) if (!interrupted) await ext.afterLoad?.(mesh, opts);
    const stopped = await stopMesh(mesh);
    mesh = undefined;
    for (const ext of extensions) if (!interrupted) await ext.afterMesh?.(stopped, opts);
    if (loadCode !== 0) say(`loadgen exited ${loadCode} (error threshold ${opts.maxErrorRate} or run failure)`);
    const meshFailed = Object.values(stopped).some((s) => s.code !== 0);
    return interrupted ? 130 : loadCode !== 0 ? loadCode : meshFailed ? 1 : 0;
  } finally {
    process.off("SIGINT", onInterrupt);
    if (mesh) await stopMesh(mesh);
    flags.remove();
    logs.release();
    for (const ext of extensions) await ext.stop?.().catch((err: Error) => say(`${ext.name} stop failed: ${err.message}`));
    say(`demo finished in ${seconds(Date.now() - started)}; the processes' logs: ${opts.logDir}/<service>.log`);
  }
}

export const DEMO_USAGE =
  "usage: tracemesh demo [--duration 30s] [--rate 30] [--max-error-rate 0.01] [--keep-running] [--no-collector] [--echo]\n" +
  "                      [--flag-file PATH]\n" +
  "  Starts the OpenTelemetry Collector, Redis (or uses REDIS_URL) and every service, seeds demo data, runs\n" +
  "  loadgen, prints its summary, one trace as a waterfall and the service map (X-Ray vs OTLP).\n" +
  "  Sinks: HONEYCOMB_API_KEY set → real Honeycomb, else a local stand-in; AWS_REGION + credentials\n" +
  "  (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE) → real X-Ray, else a local stand-in.\n" +
  "  --keep-running  seed, then keep the mesh and the Collector up and print their URLs until Ctrl-C (no loadgen);\n" +
  "                  the local stand-ins then keep only the newest 50,000 spans, segments and log events each,\n" +
  "                  and the traces file rotates at 100 MB (2 older files kept)\n" +
  "  --no-collector  no Collector, no tracing (the services run with the OpenTelemetry SDK disabled)\n" +
  "  --echo          copy every process's log lines to stderr (they always go to files too, named at the end)\n" +
  "  --flag-file PATH  where this demo keeps its fault flags (default: the run cache's demo/flags.json, which\n" +
  "                  `tracemesh fault` finds unasked); a second demo run beside one still running needs its own,\n" +
  "                  with TMPDIR set to a folder of its own; `tracemesh fault --file PATH` switches its faults\n" +
  "  MODERATION_TRACING=otel moves moderation from the X-Ray SDK to OpenTelemetry (docs/xray-migration.md).\n";

/** The demo's options from its arguments, or "help"; throws on bad usage. */
export function parseDemoArgs(argv: string[]): DemoOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string", default: "30s" },
      rate: { type: "string", default: "30" },
      "max-error-rate": { type: "string", default: "0.01" },
      "keep-running": { type: "boolean", default: false },
      echo: { type: "boolean", default: false },
      "no-collector": { type: "boolean", default: false },
      "flag-file": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return "help";
  if (!/^\d+(\.\d+)?$/.test(values.rate)) throw new Error(`--rate must be a number, got "${values.rate}"`);
  durationMs(values.duration);
  return {
    duration: values.duration,
    rate: values.rate,
    maxErrorRate: values["max-error-rate"],
    keepRunning: values["keep-running"],
    echo: values.echo,
    collector: !values["no-collector"],
    logDir: DEMO_LOG_DIR,
    flagFile: values["flag-file"] === undefined ? undefined : path.resolve(values["flag-file"]),
  };
}
