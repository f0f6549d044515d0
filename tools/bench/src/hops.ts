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

function httpGetter(url: string) {
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

/** An X-Ray-compatible W3C trace id: 8 hex digits of epoch seconds, then 24 random. */
function traceId(): string {
  return Math.floor(Date.now() / 1000).toString(16).padStart(8, "0") + crypto.randomBytes(12).toString("hex");
}

const ms = (span: Span) => durationMs(span);
const startMs = (span: Span) => Number(span.startNs / 1000n) / 1000;

/** Wall time the spans cover together: pipelined commands overlap, so their durations are not added up. */
function wallTime(spans: Span[]): number {
  const intervals = spans.map((s) => [startMs(s), startMs(s) + ms(s)] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of intervals) {
    if (e > end) total += e - Math.max(s, end);
    end = Math.max(end, e);
  }
  return total;
}

/** How many sequential rounds the spans make: overlapping spans (run in parallel) count once. */
function rounds(spans: Span[]): number {
  const intervals = spans.map((s) => [startMs(s), startMs(s) + ms(s)] as const).sort((a, b) => a[0] - b[0]);
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

export async function runHops(env: BenchEnv, s: HopsSettings, log: (line: string) => void): Promise<HopsResult> {
  const trivial = await startHelper("trivial-http", "trivial-http.js");
  const echo = await startHelper("grpc-echo", "grpc-echo.js");
  const EchoClient = grpc.makeGenericClientConstructor(ECHO_SERVICE, "Echo");
  const grpcClient = new EchoClient(`127.0.0.1:${echo.port}`, grpc.credentials.createInsecure());
  const redis = new Redis(env.traced.redis.url, { commandTimeout: 2000, maxRetriesPerRequest: 1 });
  const raw = httpGetter(`http://127.0.0.1:${trivial.port}/`);
  const feedUrl = (apiUrl: string) => `${apiUrl}/api/activities/home?limit=20`;
  const untracedFeed = httpGetter(feedUrl(env.untraced.apiUrl));
  const tracedFeed = httpGetter(feedUrl(env.traced.apiUrl));
  const payload = Buffer.alloc(64, 1);
  // The generic client has one method per service entry, untyped: name its shape once here.
  const echoClient = grpcClient as unknown as {
    echo(req: Buffer, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Buffer) => void): void;
  };
  const echoOnce = () =>
    new Promise<void>((resolve, reject) => echoClient.echo(payload, { deadline: Date.now() + 2000 }, (err) => (err ? reject(err) : resolve())));
  try {
    await redis.set("bench:hop", "x".repeat(64));
    // Warm-up: connections open, JIT warm.
    await timeEach(200, () => echoOnce());
    await timeEach(200, () => redis.get("bench:hop"));
    await timeEach(200, () => raw.get());
    await timeEach(20, () => untracedFeed.get());
    await timeEach(20, () => tracedFeed.get());

    const httpRuns: number[][] = [];
    const grpcRuns: number[][] = [];
    const redisRuns: number[][] = [];
    const untracedRuns: number[][] = [];
    const tracedRuns: number[][] = [];
    const traced = new Map<string, number>();
    const fileOffset = fs.existsSync(env.collector.tracesFile) ? fs.statSync(env.collector.tracesFile).size : 0;
    for (let rep = 0; rep < s.reps; rep++) {
      httpRuns.push(await timeEach(s.rawCount, () => raw.get()));
      grpcRuns.push(await timeEach(s.rawCount, () => echoOnce()));
      redisRuns.push(await timeEach(s.rawCount, () => redis.get("bench:hop")));
      untracedRuns.push(await timeEach(s.feedCount, () => untracedFeed.get()));
      tracedRuns.push(
        await timeEach(s.feedCount, async () => {
          const id = traceId();
          const t0 = performance.now();
          const status = await tracedFeed.get({ traceparent: `00-${id}-${crypto.randomBytes(8).toString("hex")}-01` });
          if (status !== 200) throw new Error(`home feed answered ${status}`);
          traced.set(id, performance.now() - t0);
        }),
      );
      log(`  hops rep ${rep + 1}: http p50 ${median(httpRuns[rep]!).toFixed(3)} ms, grpc ${median(grpcRuns[rep]!).toFixed(3)} ms, redis ${median(redisRuns[rep]!).toFixed(3)} ms, feed ${median(tracedRuns[rep]!).toFixed(2)} ms`);
    }

    // The services export every 5 s (BatchSpanProcessor) and the Collector's file exporter flushes every 200 ms.
    const byTrace = new Map<string, Span[]>();
    const readSpans = () => {
      byTrace.clear();
      const fd = fs.openSync(env.collector.tracesFile, "r");
      try {
        const size = fs.fstatSync(fd).size;
        const buf = Buffer.alloc(size - fileOffset);
        fs.readSync(fd, buf, 0, buf.length, fileOffset);
        for (const span of parseOtlpJsonLines(buf.toString("utf8"))) {
          if (!traced.has(span.traceId)) continue;
          byTrace.set(span.traceId, [...(byTrace.get(span.traceId) ?? []), span]);
        }
      } finally {
        fs.closeSync(fd);
      }
    };
    const complete = (spans: Span[]) => spans.some((x) => x.kind === "SERVER" && x.resource["service.name"] === "api") && spans.some((x) => x.name === "assemble timeline");
    await waitFor(
      `spans of ${traced.size} home feed traces in the Collector's file`,
      async () => {
        readSpans();
        return [...byTrace.values()].filter(complete).length >= traced.size;
      },
      { timeoutMs: 20_000, intervalMs: 500 },
    ).catch((err: Error) => log(`  warning: ${err.message}; using the ${[...byTrace.values()].filter(complete).length} complete ones`));
    // One more read a moment later: client spans may land a batch after the server span.
    await new Promise((r) => setTimeout(r, 1000));
    readSpans();

    const traces = [...byTrace.values()].filter(complete);
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
    const spans: SpanRow[] = [...groups.entries()]
      .map(([span, g]) => ({ span, kind: g.kind, perTrace: median(g.counts), p50Ms: median(g.sums) }))
      .sort((a, b) => b.p50Ms - a.p50Ms);
    const grpcRounds = median(traces.map((t) => rounds(t.filter(isGrpcClient))));
    const redisRounds = median(traces.map((t) => rounds(t.filter(isRedis))));
    const apiSpan = traces.map((t) => ms(t.find((x) => x.kind === "SERVER" && x.resource["service.name"] === "api")!));
    const result: HopsResult = {
      http: latencySpread(httpRuns),
      grpc: latencySpread(grpcRuns),
      redis: latencySpread(redisRuns),
      feedUntraced: latencySpread(untracedRuns),
      feedTraced: latencySpread(tracedRuns),
      spans,
      traces: traces.length,
      grpcRounds,
      redisRounds,
      floorMs: 0,
      apiSpanP50Ms: median(apiSpan),
    };
    result.floorMs = result.http.p50.median + grpcRounds * result.grpc.p50.median + redisRounds * result.redis.p50.median;
    return result;
  } finally {
    raw.close();
    untracedFeed.close();
    tracedFeed.close();
    grpcClient.close();
    redis.disconnect();
    await trivial.stop();
    await echo.stop();
  }
}
