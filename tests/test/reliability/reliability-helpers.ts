// Shared by the reliability-*.test.ts scenarios: a durable redis-server that can be killed, paused
// and restarted on its port, an HTTP client that never throws (a reset or a timeout is a result),
// a bounded open-loop load, percentiles, process memory, and the JSON results that
// scripts/reliability-report.mjs renders into docs/reliability.md.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { findRedisServer, freePort, redisPing, startProcess, waitFor, type ManagedProcess } from "@tracemesh/devkit";

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
  /** The request went out on a kept-alive connection that had served another request before. */
  reusedSocket?: boolean;
  /** Whether any part of a response arrived before an error. */
  gotResponse?: boolean;
  /** Sent as x-request-id: the api logs it as req_id for every request it read. */
  requestId: string;
  /** Sent again after a reset of a reused idle connection (see request()). */
  retried?: boolean;
}

export interface RequestOptions {
  method?: string;
  body?: unknown;
  token?: string;
  headers?: Record<string, string>;
  timeoutMs?: number;
}

// Idle sockets are dropped after 4 s, before the api's 5 s keepAliveTimeout closes them.
const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });

/**
 * One request. Like any keep-alive client it retries once when a reused idle connection turns out
 * to have been closed by the server before any answer (the HTTP/1.1 keep-alive race); the result
 * then says `retried`.
 */
export async function request(baseUrl: string, pathAndQuery: string, opts: RequestOptions = {}): Promise<HttpResult> {
  const first = await requestOnce(baseUrl, pathAndQuery, opts);
  if (first.status === 0 && first.error === "ECONNRESET" && first.reusedSocket && !first.gotResponse) {
    const second = await requestOnce(baseUrl, pathAndQuery, opts);
    return { ...second, started: first.started, ms: second.started + second.ms - first.started, retried: true };
  }
  return first;
}

function requestOnce(baseUrl: string, pathAndQuery: string, opts: RequestOptions): Promise<HttpResult> {
  const started = Date.now();
  const t0 = process.hrtime.bigint();
  const body = opts.body === undefined ? undefined : typeof opts.body === "string" ? opts.body : JSON.stringify(opts.body);
  const requestId = randomUUID();
  const headers: Record<string, string> = { "x-request-id": requestId, ...opts.headers };
  if (body !== undefined) {
    headers["content-type"] ??= "application/json";
    headers["content-length"] = String(Buffer.byteLength(body));
  }
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  return new Promise((resolve) => {
    let gotResponse = false;
    const done = (r: Omit<HttpResult, "ms" | "started" | "requestId">) =>
      resolve({ ...r, started, requestId, ms: Number(process.hrtime.bigint() - t0) / 1e6, reusedSocket: req.reusedSocket, gotResponse });
    const req = http.request(new URL(pathAndQuery, baseUrl), { method: opts.method ?? "GET", headers, agent: keepAlive }, (res) => {
      gotResponse = true;
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
  // Unref'd: a failing assertion must not leave the load keeping the test process alive.
  const timer = setInterval(tick, 5).unref();
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

// ---------------------------------------------------------------------------------------------
// The workload and the check of everything it was told succeeded.

export interface Acked {
  users: SignedUp[];
  posts: Array<{ uuid: string; author: string; mentioned: string; message: string }>;
  replies: Array<{ uuid: string; parent: string; parentAuthor: string; author: string; message: string }>;
  likes: Array<{ activity: string; author: string; liker: string }>;
}

export interface Op {
  kind: "post" | "reply" | "like" | "signup" | "home" | "notifications";
  result: HttpResult;
}

/**
 * The scenarios' workload, open loop at `rate`: 40 % posts with an @mention, 20 % replies, 20 % likes,
 * 10 % sign-ups, 10 % reads (home feed, notifications). Every acknowledged write goes into `acked`.
 */
export function mixedLoad(baseUrl: string, rate: number, users: SignedUp[], acked: Acked, tag: string) {
  let seq = 0;
  return startLoad<Op>(rate, async (i) => {
    const n = seq++;
    const author = users[i % users.length]!;
    const other = users[(i + 3) % users.length]!;
    const pick = i % 10;
    if (pick < 4) {
      const message = `${tag} post ${n} for @${other.handle}`;
      const result = await request(baseUrl, "/api/activities", { method: "POST", token: author.token, body: { message, ttl: "1-day" } });
      if (result.status === 201) acked.posts.push({ uuid: String(result.json!.uuid), author: author.handle, mentioned: other.handle, message });
      return { kind: "post", result };
    }
    const target = acked.posts[(i * 7) % Math.max(1, acked.posts.length)];
    if (pick < 6 && target) {
      const message = `${tag} reply ${n}`;
      const result = await request(baseUrl, `/api/activities/${target.uuid}/replies`, { method: "POST", token: other.token, body: { message } });
      if (result.status === 201) {
        acked.replies.push({ uuid: String(result.json!.uuid), parent: target.uuid, parentAuthor: target.author, author: other.handle, message });
      }
      return { kind: "reply", result };
    }
    if (pick < 8 && target) {
      const liker = users[(i * 5) % users.length]!;
      const result = await request(baseUrl, `/api/activities/${target.uuid}/likes`, { method: "POST", token: liker.token });
      if (result.status === 200) acked.likes.push({ activity: target.uuid, author: target.author, liker: liker.handle });
      return { kind: "like", result };
    }
    if (pick === 8) {
      const handle = `${tag}_${n}`.slice(0, 20);
      const result = await request(baseUrl, "/api/users", { method: "POST", body: { handle, display_name: `New ${n}` } });
      if (result.status === 201) acked.users.push({ handle, token: String(result.json!.token) });
      return { kind: "signup", result };
    }
    if (i % 20 === 9) return { kind: "home", result: await request(baseUrl, "/api/activities/home?limit=20") };
    return { kind: "notifications", result: await request(baseUrl, "/api/notifications?limit=5", { token: author.token }) };
  }, { maxInFlight: 150 });
}

export type NotificationJson = { kind: string; actor_handle: string; activity_uuid: string; excerpt: string };

/** Everything acknowledged is readable; every acknowledged write's notification is there once. */
export async function checkAcked(baseUrl: string, acked: Acked): Promise<Record<string, number>> {
  for (const u of acked.users) {
    const profile = await request(baseUrl, `/api/users/@${u.handle}`);
    assert.equal(profile.status, 200, `acknowledged user @${u.handle} readable: ${JSON.stringify(profile.json)}`);
    const session = await request(baseUrl, "/api/notifications?limit=1", { token: u.token });
    assert.equal(session.status, 200, `acknowledged session of @${u.handle} still valid: ${JSON.stringify(session.json)}`);
  }
  const likesPer = new Map<string, Set<string>>();
  for (const l of acked.likes) likesPer.set(l.activity, (likesPer.get(l.activity) ?? new Set()).add(l.liker));
  for (const p of acked.posts) {
    const got = await request(baseUrl, `/api/activities/${p.uuid}`);
    assert.equal(got.status, 200, `acknowledged post ${p.uuid} readable: ${JSON.stringify(got.json)}`);
    assert.equal(got.json!.message, p.message);
    const replies = (got.json!.replies as Array<{ uuid: string }>).map((r) => r.uuid);
    for (const r of acked.replies.filter((r) => r.parent === p.uuid)) assert.ok(replies.includes(r.uuid), `acknowledged reply ${r.uuid} under ${p.uuid}`);
    const likers = likesPer.get(p.uuid)?.size ?? 0;
    assert.ok(Number(got.json!.likes_count) >= likers, `post ${p.uuid}: ${got.json!.likes_count} likes ≥ ${likers} acknowledged likers`);
  }

  // Expected notifications: keyed kind|actor|activity|excerpt (unique per acknowledged write).
  const expected = new Map<string, Set<string>>();
  const expect = (recipient: string, key: string) => expected.set(recipient, (expected.get(recipient) ?? new Set()).add(key));
  for (const p of acked.posts) if (p.mentioned !== p.author) expect(p.mentioned, `mention|${p.author}|${p.uuid}|${p.message}`);
  for (const r of acked.replies) if (r.parentAuthor !== r.author) expect(r.parentAuthor, `reply|${r.author}|${r.parent}|${r.message}`);
  for (const l of acked.likes) if (l.author !== l.liker) expect(l.author, `like|${l.liker}|${l.activity}|`);

  const tokens = new Map(acked.users.map((u) => [u.handle, u.token]));
  let delivered = 0;
  let duplicates = 0;
  for (const [recipient, keys] of expected) {
    let seen = new Map<string, number>();
    await timeUntil(`notifications of @${recipient}`, async () => {
      const res = await request(baseUrl, "/api/notifications?limit=100", { token: tokens.get(recipient)! });
      if (res.status !== 200) return false;
      const list = res.json!.notifications as NotificationJson[];
      seen = new Map();
      for (const n of list) {
        const key = `${n.kind}|${n.actor_handle}|${n.activity_uuid}|${n.excerpt}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      return [...keys].every((k) => seen.has(k));
    }, 30_000, 250);
    for (const k of keys) assert.equal(seen.get(k), 1, `@${recipient} notified exactly once of ${k}`);
    for (const [k, count] of seen) if (count > 1) duplicates++, assert.fail(`@${recipient} notified ${count} times of ${k}`);
    delivered += keys.size;
  }
  return {
    users: acked.users.length,
    sessions: acked.users.length,
    posts: acked.posts.length,
    replies: acked.replies.length,
    likes: acked.likes.length,
    notifications: delivered,
    duplicates,
  };
}


// ---------------------------------------------------------------------------------------------
// A TCP proxy in front of a dependency, switchable between forwarding, refusing connections
// (nothing listening) and a black hole (accepts, reads, never answers).

export type ProxyMode = "forward" | "refuse" | "blackhole";

export interface FaultProxy {
  port: number;
  mode(): ProxyMode;
  set(mode: ProxyMode): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const port = await freePort();
  let mode: ProxyMode = "forward";
  const sockets = new Set<net.Socket>();
  let server: net.Server | undefined;
  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => undefined);
  };
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = net.createServer((client) => {
        track(client);
        if (mode === "blackhole") {
          client.resume(); // read and discard; never answer
          return;
        }
        const upstream = net.connect(target.port, target.host);
        track(upstream);
        client.pipe(upstream).pipe(client);
        upstream.on("error", () => client.destroy());
        client.on("error", () => upstream.destroy());
      });
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve());
    });
  const unlisten = () => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  const dropConnections = () => {
    for (const s of sockets) s.destroy();
  };
  await listen();
  return {
    port,
    mode: () => mode,
    set: async (next) => {
      if (next === mode) return;
      dropConnections();
      if (next === "refuse") {
        const closed = unlisten();
        server = undefined;
        await closed;
      } else if (mode === "refuse") {
        mode = next;
        await listen();
      }
      mode = next;
    },
    close: async () => {
      dropConnections();
      await unlisten();
    },
  };
}
