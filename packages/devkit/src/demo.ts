// The demo (`npm run demo` → scripts/demo.sh → this file): Redis, the whole mesh, demo data, then
// loadgen for a bounded time; prints loadgen's per-route summary, stops everything and exits 0.
// `--keep-running` seeds and then keeps the mesh up, printing its URLs, until Ctrl-C.
//
// Extra steps plug in through DemoExtension (e.g. the tracing issue's Collector + trace waterfall):
// they can hand OTLP settings to every process before the mesh starts and print things after the
// load ran, without changing the steps here.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { parseArgs } from "node:util";
import { REPO_ROOT, nodeArgs, startMesh, telemetryEnv, type Mesh, type MeshOtelOptions } from "./mesh.js";

export interface DemoOptions {
  /** loadgen --duration, e.g. 30s. */
  duration: string;
  /** loadgen --rate (requests/s). */
  rate: string;
  maxErrorRate: string;
  keepRunning: boolean;
  /** Copy the services' logs to stderr. */
  echo: boolean;
}

export interface DemoExtension {
  name: string;
  /** Runs before the mesh starts; may return where every process exports spans. */
  beforeMesh?(opts: DemoOptions): Promise<MeshOtelOptions | void>;
  /** Runs after loadgen finished, with the mesh still up (e.g. print a trace). */
  afterLoad?(mesh: Mesh, opts: DemoOptions): Promise<void>;
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

/** Runs a node script of the repo with inherited stdio; resolves its exit code (killed past timeoutMs). */
function runNode(script: string, args: string[], env: NodeJS.ProcessEnv, timeoutMs: number): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs(path.join(REPO_ROOT, script)), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ["ignore", "inherit", "inherit"],
    });
    const timer = setTimeout(() => {
      say(`${script} still running after ${seconds(timeoutMs)}; stopping it`);
      child.kill("SIGTERM");
      setTimeout(() => child.kill("SIGKILL"), 5000).unref();
    }, timeoutMs);
    child.on("exit", (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? 128 : 1));
    });
    child.on("error", (err) => {
      clearTimeout(timer);
      say(`could not start ${script}: ${err.message}`);
      resolve(1);
    });
  });
}

function durationMs(text: string): number {
  const m = /^(\d+)(ms|s|m)$/.exec(text);
  if (!m) throw new Error(`--duration must look like 30s, 2m or 500ms, got "${text}"`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] as "ms" | "s" | "m"];
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    process.once("SIGINT", () => resolve("SIGINT"));
    process.once("SIGTERM", () => resolve("SIGTERM"));
  });
}

function printUrls(mesh: Mesh): void {
  const lines = [
    `mesh running (Ctrl-C stops it):`,
    `  api            ${mesh.apiUrl}   (OpenAPI: ${mesh.apiUrl}/api/openapi.json)`,
    `  users          ${mesh.addrs.users}   (gRPC, reflection on)`,
    `  activities     ${mesh.addrs.activities}`,
    `  notifications  ${mesh.addrs.notifications}`,
    `  redis          ${mesh.redis.url}`,
    `try: curl -s '${mesh.apiUrl}/api/activities/home?limit=3'`,
    `     node services/loadgen/dist/src/main.js --base-url ${mesh.apiUrl} --rate 20 --duration 30s`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

/** The whole demo; resolves the process exit code. */
export async function runDemo(opts: DemoOptions, extensions: DemoExtension[] = []): Promise<number> {
  const started = Date.now();
  const loadMs = durationMs(opts.duration);
  let otel: MeshOtelOptions | undefined;
  let mesh: Mesh | undefined;
  let interrupted = false;
  const onInterrupt = () => {
    interrupted = true;
  };
  try {
    for (const ext of extensions) otel = (await ext.beforeMesh?.(opts)) ?? otel;

    say(process.env.REDIS_URL ? `using REDIS_URL ${process.env.REDIS_URL}` : "starting redis-server on a free port");
    const t0 = Date.now();
    mesh = await startMesh({ redisUrl: process.env.REDIS_URL || undefined, otel, echo: opts.echo });
    say(`mesh up in ${seconds(Date.now() - t0)}: api ${mesh.apiUrl}`);

    const seedCode = await runNode("services/api/dist/src/seed.js", [], mesh.clientEnv, 60_000);
    if (seedCode !== 0) throw new Error(`seeding failed (exit ${seedCode})`);

    if (opts.keepRunning) {
      printUrls(mesh);
      const signal = await waitForSignal();
      say(`${signal}: stopping`);
      return 0;
    }

    // While loadgen runs, Ctrl-C reaches it too (same process group): it stops and prints its summary.
    process.on("SIGINT", onInterrupt);
    const jsonPath = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-demo-")), "loadgen.json");
    say(`running loadgen at ${opts.rate} requests/s for ${opts.duration}`);
    const loadCode = await runNode(
      "services/loadgen/dist/src/main.js",
      ["--base-url", mesh.apiUrl, "--rate", opts.rate, "--duration", opts.duration, "--json", jsonPath, "--max-error-rate", opts.maxErrorRate, "--wait-ready", "10s"],
      telemetryEnv(otel),
      loadMs + 60_000,
    );
    if (fs.existsSync(jsonPath)) {
      const s = JSON.parse(fs.readFileSync(jsonPath, "utf8")) as LoadSummary;
      say(`loadgen: ${s.requests} requests, ${s.errors} errors (${(s.error_rate * 100).toFixed(2)} %), ${s.achieved_rate} requests/s`);
    }
    fs.rmSync(path.dirname(jsonPath), { recursive: true, force: true });
    for (const ext of extensions) if (!interrupted) await ext.afterLoad?.(mesh, opts);
    if (loadCode !== 0) say(`loadgen exited ${loadCode} (error threshold ${opts.maxErrorRate} or run failure)`);
    return interrupted ? 130 : loadCode;
  } finally {
    process.off("SIGINT", onInterrupt);
    if (mesh) {
      const statuses = await mesh.stop();
      const bad = Object.entries(statuses).filter(([, s]) => s.code !== 0);
      say(bad.length === 0 ? "every process stopped (exit 0)" : `stopped with failures: ${bad.map(([n, s]) => `${n}=${s.code ?? s.signal}`).join(", ")}`);
    }
    for (const ext of extensions) await ext.stop?.().catch((err: Error) => say(`${ext.name} stop failed: ${err.message}`));
    say(`demo finished in ${seconds(Date.now() - started)}`);
  }
}

export function parseDemoArgs(argv: string[]): DemoOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: "string", default: "30s" },
      rate: { type: "string", default: "30" },
      "max-error-rate": { type: "string", default: "0.01" },
      "keep-running": { type: "boolean", default: false },
      echo: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: demo [--duration 30s] [--rate 30] [--max-error-rate 0.01] [--keep-running] [--echo]\n" +
        "  Starts Redis (or uses REDIS_URL) and every service, seeds demo data, runs loadgen, prints its summary.\n" +
        "  --keep-running  seed, then keep the mesh up and print its URLs until Ctrl-C (no loadgen)\n" +
        "  --echo          copy every service's log lines to stderr\n",
    );
    process.exit(0);
  }
  if (!/^\d+(\.\d+)?$/.test(values.rate)) throw new Error(`--rate must be a number, got "${values.rate}"`);
  durationMs(values.duration);
  return {
    duration: values.duration,
    rate: values.rate,
    maxErrorRate: values["max-error-rate"],
    keepRunning: values["keep-running"],
    echo: values.echo,
  };
}

if (require.main === module) {
  let opts: DemoOptions;
  try {
    opts = parseDemoArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`demo: ${(err as Error).message}\n`);
    process.exit(2);
  }
  runDemo(opts).then(
    (code) => process.exit(code),
    (err: unknown) => {
      say(`failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
