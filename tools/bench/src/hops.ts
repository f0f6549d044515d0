// Benchmark 3: the cost of each hop on loopback — a raw HTTP keep-alive round trip, a raw grpc-js
// unary round trip and a raw ioredis GET — beside the home feed's latency as the traced mesh
// records it span by span, and the gap between the sum of the unavoidable hops and the latency.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import { performance } from "node:perf_hooks";
import * as grpc from "@grpc/grpc-js";
import Redis from "ioredis";
import { waitFor } from "@tracemesh/devkit";
import { durationMs, parseOtlpJsonLines, type Span } from "@tracemesh/trace-model";
import { startHelper, type BenchEnv } from "./env.js";
import { ECHO_SERVICE } from "./servers/grpc-echo.js";
import { median, percentile, spread, type Spread } from "./stats.js";

export interface HopsSettings {
  reps: number;
  /** Round trips per repetition for the raw hops. */
  rawCount: number;
  /** Home feed requests per repetition (sequential, one at a time). */
  feedCount: number;
}

export interface LatencySpread {
  p50: Spread;
  p99: Spread;
}

export interface SpanRow {
  span: string;
  kind: string;
  perTrace: number;
  p50Ms: number;
}

export interface HopsResult {
  http: LatencySpread;
  grpc: LatencySpread;
  redis: LatencySpread;
  feedUntraced: LatencySpread;
  feedTraced: LatencySpread;
  spans: SpanRow[];
  traces: number;
  grpcRounds: number;
  redisRounds: number;
  /** http p50 + grpcRounds × grpc p50 + redisRounds × redis p50 */
  floorMs: number;
  apiSpanP50Ms: number;
}

/** A keep-alive GET on one socket; resolves with the status code. */
interface KeepAliveGetter {
  get(headers?: Record<string, string>): Promise<number>;
  close(): void;
}

function keepAliveGetter(url: string): KeepAliveGetter {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const get = (headers: Record<string, string> = {}): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.get(url, { agent, headers, timeout: 5000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("timeout", () => req.destroy(new Error(`GET ${url} timed out`)));
      req.on("error", reject);
    });
  return { get, close: () => agent.destroy() };
}

/** Runs fn count times one after another; returns each duration in ms. */
async function timeEach(count: number, fn: (i: number) => Promise<unknown>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    const t0 = performance.now();
    await fn(i);
    out.push(performance.now() - t0);
  }
  return out;
}

function latencySpread(reps: number[][]): LatencySpread {
  return { p50: spread(reps.map((r) => percentile(r, 50))), p99: spread(reps.map((r) => percentile(r, 99))) };
}

/** A new X-Ray-compatible W3C trace id: 8 hex digits of epoch seconds, then 24 random. */
function randomTraceId(): string {
  return Math.floor(Date.now() / 1000).toString(16).padStart(8, "0") + crypto.randomBytes(12).toString("hex");
}

const startMs = (span: Span) => Number(span.startNs / 1000n) / 1000;

/** Wall time the spans cover together: pipelined commands overlap, so their durations are not added up. */
function wallTime(spans: Span[]): number {
  const intervals = spans.map((s) => [startMs(s), startMs(s) + durationMs(s)] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of intervals) {
    if (e > end) total += e - Math.max(s, end);
    end = Math.max(end, e);
  }
  return total;
}

/** How many sequential rounds the spans make: overlapping spans (run in parallel) count once. */
function sequentialRounds(spans: Span[]): number {
  const intervals = spans.map((s) => [startMs(s), startMs(s) + durationMs(s)] as const).sort((a, b) => a[0] - b[0]);
  let count = 0;
  let end = -Infinity;
  for (const [s, e] of intervals) {
    if (s >= end) count++;
    end = Math.max(end, e);
  }
  return count;
}

const isRedis = (s: Span) => s.scope.includes("ioredis") || s.attributes["db.system.name"] === "redis" || s.attributes["db.system"] === "redis";
const isGrpcClient = (s: Span) => s.kind === "CLIENT" && (s.scope.includes("grpc") || s.attributes["rpc.system"] === "grpc");

/** The raw hops and the two home feeds (untraced and traced mesh) the benchmark times, and what serves them. */
interface HopClients {
  rawHttp: KeepAliveGetter;
  /** One unary Echo call to the grpc-js helper (64 bytes, 2 s deadline). */
  grpcEcho: () => Promise<void>;
  redis: Redis;
  untracedFeed: KeepAliveGetter;
  tracedFeed: KeepAliveGetter;
  close(): Promise<void>;
}

const REDIS_KEY = "bench:hop";

/** Starts the trivial HTTP and gRPC echo helpers and opens one client per hop (and per feed). */
async function openHopClients(env: BenchEnv): Promise<HopClients> {
  const trivial = await startHelper("trivial-http", "trivial-http.js");
  const echo = await startHelper("grpc-echo", "grpc-echo.js");
  const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, "Echo");
  const grpcClient = new EchoClient(`127.0.0.1:${echo.port}`, grpc.credentials.createInsecure());
  const redis = new Redis(env.traced.redis.url, { commandTimeout: 2000, maxRetriesPerRequest: 1 });
  const rawHttp = keepAliveGetter(`http://127.0.0.1:${trivial.port}/`);
  const feedUrl = (apiUrl: string) => `${apiUrl}/api/activities/home?limit=20`;
  const untracedFeed = keepAliveGetter(feedUrl(env.untraced.apiUrl));
  const tracedFeed = keepAliveGetter(feedUrl(env.traced.apiUrl));
  const payload = Buffer.alloc(64, 1);
  // The generic client has one method per service entry, untyped: name its shape once here.
  const echoClient = grpcClient as unknown as {
    echo(req: Buffer, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
  };
  return {
    rawHttp,
    grpcEcho: () =>
      new Promise<void>((resolve, reject) => echoClient.echo(payload, { deadline: Date.now() + 2000 }, (err) => (err ? reject(err) : resolve()))),
    redis,
    untracedFeed,
    tracedFeed,
    async close() {
      rawHttp.close();
      untracedFeed.close();
      tracedFeed.close();
      grpcClient.close();
      redis.disconnect();
      await trivial.stop();
      await echo.stop();
    },
  };
}

/** Connections open, JIT warm. */
async function warmUp(clients: HopClients): Promise<void> {
  await clients.redis.set(REDIS_KEY, "x".repeat(64));
  await timeEach(200, () => clients.grpcEcho());
  await timeEach(200, () => clients.redis.get(REDIS_KEY));
  await timeEach(200, () => clients.rawHttp.get());
  await timeEach(20, () => clients.untracedFeed.get());
  await timeEach(20, () => clients.tracedFeed.get());
}

/** Each repetition's round-trip times (ms) per hop and feed, and the traced feed requests' trace ids. */
interface HopTimings {
  http: number[][];
  grpc: number[][];
  redis: number[][];
  feedUntraced: number[][];
  feedTraced: number[][];
  /** Trace id of every traced home feed request → its latency in ms. */
  tracedFeedRequests: Map<string, number>;
}

/** The repetitions: each times every raw hop, then the untraced and the traced feed, and logs its medians. */
async function timeHops(clients: HopClients, settings: HopsSettings, log: (line: string) => void): Promise<HopTimings> {
  const timings: HopTimings = { http: [], grpc: [], redis: [], feedUntraced: [], feedTraced: [], tracedFeedRequests: new Map() };
  for (let rep = 0; rep < settings.reps; rep++) {
    timings.http.push(await timeEach(settings.rawCount, () => clients.rawHttp.get()));
    timings.grpc.push(await timeEach(settings.rawCount, () => clients.grpcEcho()));
    timings.redis.push(await timeEach(settings.rawCount, () => clients.redis.get(REDIS_KEY)));
    timings.feedUntraced.push(await timeEach(settings.feedCount, () => clients.untracedFeed.get()));
    timings.feedTraced.push(
      await timeEach(settings.feedCount, async () => {
        const id = randomTraceId();
        const t0 = performance.now();
        const status = await clients.tracedFeed.get({ traceparent: `00-${id}-${crypto.randomBytes(8).toString("hex")}-01` });
        if (status !== 200) throw new Error(`home feed answered ${status}`);
        timings.tracedFeedRequests.set(id, performance.now() - t0);
      }),
    );
    log(
      `  hops rep ${rep + 1}: http p50 ${median(timings.http[rep]!).toFixed(3)} ms, grpc ${median(timings.grpc[rep]!).toFixed(3)} ms, redis ${median(timings.redis[rep]!).toFixed(3)} ms, feed ${median(timings.feedTraced[rep]!).toFixed(2)} ms`,
    );
  }
  return timings;
}

/** The Collector's traces file size now: the spans of requests sent from here on are written after it. */
function fileSize(file: string): number {
  return fs.existsSync(file) ? fs.statSync(file).size : 0;
}

/** The spans written to `file` after `offset` that belong to one of `traceIds`, by trace. */
function readTraces(file: string, offset: number, traceIds: ReadonlyMap<string, unknown>): Map<string, Span[]> {
  const byTrace = new Map<string, Span[]>();
  const fd = fs.openSync(file, "r");
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(size - offset);
    fs.readSync(fd, buf, 0, buf.length, offset);
    for (const span of parseOtlpJsonLines(buf.toString("utf8"))) {
      if (!traceIds.has(span.traceId)) continue;
      byTrace.set(span.traceId, [...(byTrace.get(span.traceId) ?? []), span]);
    }
  } finally {
    fs.closeSync(fd);
  }
  return byTrace;
}

/**
 * A home feed trace that has arrived whole: api's server span and the timeline assembly, no span whose parent is
 * missing (api's server span continues the bench's own traceparent), and every gRPC client span answered by its
 * server span. Each process exports children before their parent, so what can still be missing is another
 * process's batch: an orphan or an unanswered call shows it.
 */
function isCompleteFeedTrace(spans: Span[]): boolean {
  const apiServer = spans.find((x) => x.kind === "SERVER" && x.resource["service.name"] === "api");
  if (!apiServer || !spans.some((x) => x.name === "assemble timeline")) return false;
  const ids = new Set(spans.map((x) => x.spanId));
  const parents = new Set(spans.map((x) => x.parentSpanId));
  return spans.every(
    (x) => (x === apiServer || ids.has(x.parentSpanId)) && (!isGrpcClient(x) || parents.has(x.spanId)),
  );
}

/**
 * The complete traces of the traced feed requests, once the Collector's file holds them all (or after 20 s, with a
 * warning). The services export every 5 s (BatchSpanProcessor) and the Collector's file exporter flushes every 200 ms.
 */
async function collectFeedTraces(file: string, offset: number, traceIds: ReadonlyMap<string, unknown>, log: (line: string) => void): Promise<Span[][]> {
  let byTrace = new Map<string, Span[]>();
  const complete = () => [...byTrace.values()].filter(isCompleteFeedTrace);
  await waitFor(
    `spans of ${traceIds.size} home feed traces in the Collector's file`,
    async () => {
      byTrace = readTraces(file, offset, traceIds);
      return complete().length >= traceIds.size;
    },
    { timeoutMs: 20_000, intervalMs: 500 },
  ).catch((err: Error) => log(`  warning: ${err.message}; using the ${complete().length} complete ones`));
  return complete();
}

/** Per span name (`service: name`), its median count per trace and its median wall time, slowest first. */
function spanRows(traces: Span[][]): SpanRow[] {
  const groups = new Map<string, { kind: string; counts: number[]; sums: number[] }>();
  for (const spans of traces) {
    const perTrace = new Map<string, { kind: string; spans: Span[] }>();
    for (const span of spans) {
      const name = `${span.resource["service.name"] ?? "?"}: ${span.name}`;
      const g = perTrace.get(name) ?? { kind: span.kind.toLowerCase(), spans: [] };
      g.spans.push(span);
      perTrace.set(name, g);
    }
    for (const [name, g] of perTrace) {
      const all = groups.get(name) ?? { kind: g.kind, counts: [], sums: [] };
      all.counts.push(g.spans.length);
      all.sums.push(wallTime(g.spans));
      groups.set(name, all);
    }
  }
  return [...groups.entries()]
    .map(([span, g]) => ({ span, kind: g.kind, perTrace: median(g.counts), p50Ms: median(g.sums) }))
    .sort((a, b) => b.p50Ms - a.p50Ms);
}

/** The figures: each hop's spread, the feed's spans, and the floor the unavoidable hops set. */
function hopsResult(timings: HopTimings, traces: Span[][]): HopsResult {
  const grpcRounds = median(traces.map((t) => sequentialRounds(t.filter(isGrpcClient))));
  const redisRounds = median(traces.map((t) => sequentialRounds(t.filter(isRedis))));
  const apiSpan = traces.map((t) => durationMs(t.find((x) => x.kind === "SERVER" && x.resource["service.name"] === "api")!));
  const result: HopsResult = {
    http: latencySpread(timings.http),
    grpc: latencySpread(timings.grpc),
    redis: latencySpread(timings.redis),
    feedUntraced: latencySpread(timings.feedUntraced),
    feedTraced: latencySpread(timings.feedTraced),
    spans: spanRows(traces),
    traces: traces.length,
    grpcRounds,
    redisRounds,
    floorMs: 0,
    apiSpanP50Ms: median(apiSpan),
  };
  result.floorMs = result.http.p50.median + grpcRounds * result.grpc.p50.median + redisRounds * result.redis.p50.median;
  return result;
}

export async function runHops(env: BenchEnv, settings: HopsSettings, log: (line: string) => void): Promise<HopsResult> {
  const clients = await openHopClients(env);
  try {
    await warmUp(clients);
    const tracesFileOffset = fileSize(env.collector.tracesFile);
    const timings = await timeHops(clients, settings, log);
    const traces = await collectFeedTraces(env.collector.tracesFile, tracesFileOffset, timings.tracedFeedRequests, log);
    return hopsResult(timings, traces);
  } finally {
    await clients.close();
  }
}
