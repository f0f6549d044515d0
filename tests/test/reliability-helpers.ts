// Shared by the reliability-*.test.ts scenarios: a durable redis-server that can be killed, paused
// and restarted on its port, an HTTP client that never throws (a reset or a timeout is a result),
// a bounded open-loop load, percentiles, process memory, and the JSON results that
// scripts/reliability-report.mjs renders into docs/reliability.md.
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { findRedisServer, freePort, startProcess, waitFor, type ManagedProcess } from "@tracemesh/devkit";

// ---------------------------------------------------------------------------------------------
// Redis with the append-only file on (as the StatefulSet runs it), restartable on the same port.

export interface DurableRedis {
  url: string;
  port: number;
  dir: string;
  pid(): number;
  /** kill -9: no shutdown, no final fsync; whatever the AOF holds is what comes back. */
  kill9(): Promise<void>;
  /** Starts redis-server again on the same port and dir (it replays the AOF) and waits for PONG. */
  restart(): Promise<void>;
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

export function redisPing(port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.setTimeout(timeoutMs);
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d) => {
      socket.destroy();
      resolve(d.toString().startsWith("+PONG"));
    });
    socket.once("error", () => resolve(false));
    socket.once("timeout", () => {
      socket.destroy();
      resolve(false);
    });
  });
}

export async function startDurableRedis(): Promise<DurableRedis> {
  const bin = findRedisServer();
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-reliability-redis-"));
  // The StatefulSet's arguments (deploy/k8s/base/redis/redis.yaml): AOF on, no RDB snapshots.
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--dir", dir, "--daemonize", "no"];
  let proc: ManagedProcess;
  const launch = async () => {
    proc = startProcess("redis", bin, args);
    await waitFor(`redis-server on ${port}`, () => redisPing(port), { timeoutMs: 15_000, intervalMs: 50 });
  };
  await launch();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    pid: () => proc.child.pid!,
    kill9: async () => {
      proc.child.kill("SIGKILL");
      await proc.exited;
    },
    restart: launch,
    pause: () => void proc.child.kill("SIGSTOP"),
    resume: () => void proc.child.kill("SIGCONT"),
    stop: async () => {
      proc.child.kill("SIGCONT");
      await proc.stop(5_000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// HTTP: every outcome is a value. status 0 = no HTTP answer (error says why: ECONNREFUSED before
// the request was sent, ECONNRESET/socket hang up mid-way, timeout).

export interface HttpResult {
  status: number;
  /** Parsed JSON body, or undefined when the body was not JSON. */
  json?: Record<string, unknown> & { error?: { code: string; message: string; dependency?: string } };
  contentType: string;
  ms: number;
  started: number;
  error?: string;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 256 });

export function request(baseUrl: string, pathAndQuery: string, opts: RequestOptions = {}): Promise<HttpResult> {
  const started = Date.now();
  const t0 = process.hrtime.bigint();
  const body = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  const headers: Record<string, string> = { ...opts.headers };
  if (body !== undefined) {
    headers["content-type"] ??= "application/json";
    headers["content-length"] = String(Buffer.byteLength(body));
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return new Promise((resolve) => {
    const done = (r: Omit<HttpResult, "ms" | "started">) =>
      resolve({ ...r, started, ms: Number(process.hrtime.bigint() - t0) / 1e6 });
    const req = http.request(new URL(pathAndQuery, baseUrl), { method: opts.method ?? "GET", headers, agent: keepAlive }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", (err) => done({ status: 0, contentType: "", error: errCode(err) }));
      res.on("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        let json: HttpResult["json"];
        try {
          json = JSON.parse(text) as HttpResult["json"];
        } catch {
          json = undefined;
        }
        done({ status: res.statusCode ?? 0, json, contentType: String(res.headers["content-type"] ?? "") });
      });
      res.on("aborted", () => done({ status: 0, contentType: "", error: "aborted mid-response" }));
    });
    req.setTimeout(opts.timeoutMs ?? 10_000, () => req.destroy(new Error("client timeout")));
    req.on("error", (err) => done({ status: 0, contentType: "", error: errCode(err) }));
    req.end(body);
  });
}

function errCode(err: Error): string {
  return (err as NodeJS.ErrnoException).code ?? err.message;
}

export function closeIdleConnections(): void {
  keepAlive.destroy();
}

/** Status → count, e.g. { "201": 40, "503": 12 }; status 0 is keyed by its error. */
export function byStatus(results: HttpResult[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of results) {
    const key = r.status === 0 ? `error:${r.error}` : String(r.status);
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Load: open loop at a fixed rate (a slow answer does not slow the schedule), in-flight capped so
// a stuck mesh cannot make the test itself pile up; the cap and the peak are reported.

export interface LoadRun<T> {
  stop(): Promise<T[]>;
  /** Highest number of requests outstanding at once so far. */
  peakInFlight(): number;
  results(): T[];
  skipped(): number;
}

export function startLoad<T>(ratePerSec: number, op: (i: number) => Promise<T>, opts: { maxInFlight?: number } = {}): LoadRun<T> {
  const maxInFlight = opts.maxInFlight ?? 200;
  const results: T[] = [];
  const pending = new Set<Promise<void>>();
  let peak = 0;
  let skipped = 0;
  let i = 0;
  const startedAt = Date.now();
  let stopped = false;
  const tick = () => {
    if (stopped) return;
    const due = Math.floor(((Date.now() - startedAt) * ratePerSec) / 1000);
    while (i < due) {
      if (pending.size >= maxInFlight) {
        skipped++;
        i++;
        continue;
      }
      const p: Promise<void> = op(i++).then((r) => void results.push(r)).finally(() => pending.delete(p));
      pending.add(p);
      peak = Math.max(peak, pending.size);
    }
  };
  const timer = setInterval(tick, 5);
  return {
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...pending]);
      return results;
    },
    peakInFlight: () => peak,
    results: () => results,
    skipped: () => skipped,
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export function median(values: number[]): number {
  return percentile(values, 50);
}

/** Resident set size of a process in MiB (Linux /proc). */
export function rssMiB(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Waits until `check` is true, polling every intervalMs; resolves the ms it took. */
export async function timeUntil(what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 100): Promise<number> {
  const started = Date.now();
  await waitFor(what, check, { timeoutMs, intervalMs });
  return Date.now() - started;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// Results: printed always; written as JSON when RELIABILITY_RESULTS_DIR is set.

export interface ScenarioResult {
  scenario: string;
  fault: string;
  duration: string;
  load: string;
  /** Requests during the fault, by status (or by error for status 0). */
  during: Record<string, number>;
  /** What was checked afterwards, with counts. */
  checked: string;
  /** Time from the end of the fault until serving normally again. */
  recovery: string;
  /** Anything else measured (latencies, memory, counts). */
  figures?: Record<string, unknown>;
}

export function report(result: ScenarioResult): void {
  const line = JSON.stringify(result);
  process.stdout.write(`# reliability ${line}\n`);
  const dir = process.env.RELIABILITY_RESULTS_DIR;
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    const file = result.scenario.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
    fs.writeFileSync(path.join(dir, `${file}.json`), `${JSON.stringify({ ...result, measured_at: new Date().toISOString() }, null, 2)}\n`);
  }
}

// ---------------------------------------------------------------------------------------------
// The mesh's API as a user drives it.

export interface SignedUp {
  handle: string;
  token: string;
}

export async function signUp(baseUrl: string, handle: string): Promise<SignedUp> {
  const res = await request(baseUrl, "/api/users", { method: "POST", body: { handle, display_name: `User ${handle}` } });
  if (res.status !== 201) throw new Error(`sign-up ${handle}: ${res.status} ${JSON.stringify(res.json)}`);
  return { handle, token: String(res.json!.token) };
}

/** A 503 that is JSON and names the dependency (the contract during any outage). */
export function isNamed503(r: HttpResult, dependency: string | RegExp): boolean {
  if (r.status !== 503 || !/^application\/json/.test(r.contentType) || !r.json?.error) return false;
  const named = r.json.error.dependency ?? "";
  return typeof dependency === "string" ? named === dependency : dependency.test(named);
}
