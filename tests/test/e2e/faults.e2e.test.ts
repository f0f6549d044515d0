// tools: redis collector
// The named failure scenarios (docs/faults.md), each switched on and off with the real CLI
// (`tracemesh fault on|off`, finding the flag file the way it finds the demo's: no path given) against the
// mesh as processes exporting through the real Collector (spans read back from its file exporter; X-Ray
// segments from the X-Ray stand-in). Each request carries its own traceparent, so every assertion is about
// the spans of the requests the test sent. For every scenario: its signature while on, and none once off.
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { promisify } from "node:util";
import {
  standInCollectorEnv,
  startCollector,
  startHoneycombStandIn,
  startProcess,
  startXrayStandIn,
  waitFor,
  type HoneycombStandIn,
  type LocalCollector,
  type ManagedProcess,
  type XrayStandIn,
} from "@tracemesh/devkit";
import { FLAG_FILE_ENV, SCENARIOS, demoFlagFile, readFlagFile, writeFlagFile } from "@tracemesh/flags";
import { entryPoint, nodeArgs, packageDirOf, startMesh, telemetryEnv, type Mesh } from "@tracemesh/mesh";
import {
  durationMs,
  graphFromServiceGraphMetrics,
  graphFromSpans,
  parsePrometheusText,
  redFromSpanMetrics,
  renderWaterfall,
  waterfallSpan,
  xrayTraceId,
  type Span,
  type XraySegment,
} from "@tracemesh/trace-model";
import { request, rssMiB, signUp, type HttpResult, type RequestOptions, type SignedUp } from "../reliability/reliability-helpers.js";

const CLI = require.resolve("@tracemesh/cli/main");
const REPO_FLAGS = path.join(path.resolve(__dirname, "..", "..", "..", ".."), "deploy", "flags", "flags.json");
const HONEYCOMB_KEY = "faults-honeycomb-key";
/** A switch reaches the services within the provider's 5 s file poll; this bounds every wait for it. */
const SWITCH_TIMEOUT_MS = 15_000;

const execFileP = promisify(execFile);
/** Where to write one waterfall per scenario (docs/faults.md shows them): only when set. */
const WATERFALLS_DIR = process.env.TRACEMESH_FAULT_WATERFALLS;

/** One affected trace as a text waterfall, kept for the docs when WATERFALLS_DIR is set. */
function keepWaterfall(scenario: string, spans: Span[]): void {
  if (!WATERFALLS_DIR || spans.length === 0) return;
  fs.mkdirSync(WATERFALLS_DIR, { recursive: true });
  const text = renderWaterfall(spans.map(waterfallSpan), { width: 110, maxSpans: 40 });
  fs.writeFileSync(path.join(WATERFALLS_DIR, `${scenario}.txt`), `trace ${spans[0]!.traceId} (X-Ray ${xrayTraceId(spans[0]!.traceId)})\n${text}`);
}

interface Traced {
  result: HttpResult;
  traceId: string;
}

/** Every (sub)segment document, embedded subsegments included. */
function allDocs(docs: readonly XraySegment[]): XraySegment[] {
  return docs.flatMap((d) => [d, ...allDocs(d.subsegments ?? [])]);
}

/** X-Ray-shaped trace ids (epoch seconds first), so the awsxray exporter accepts the test's traces. */
function newTraceId(): string {
  return Math.floor(Date.now() / 1000).toString(16).padStart(8, "0") + randomBytes(12).toString("hex");
}

describe("failure scenarios switched with tracemesh fault, through the real Collector", { timeout: 300_000 }, () => {
  let honeycomb: HoneycombStandIn;
  let xray: XrayStandIn;
  let collector: LocalCollector;
  let mesh: Mesh;
  let cache: string;
  let users: SignedUp[];
  let flagFile: string;

  /** The CLI as a user runs it: no --file, no FLAGD_OFFLINE_FLAG_SOURCE_PATH; the run cache is the test's own. */
  async function fault(...args: string[]): Promise<string> {
    const env: NodeJS.ProcessEnv = { ...process.env, TRACEMESH_CACHE: cache };
    delete env[FLAG_FILE_ENV];
    delete env.HONEYCOMB_API_KEY;
    const { stdout } = await execFileP(process.execPath, [CLI, "fault", ...args], { env, timeout: 20_000 });
    return stdout;
  }

  async function traced(pathAndQuery: string, opts: RequestOptions = {}): Promise<Traced> {
    const traceId = newTraceId();
    const traceparent = `00-${traceId}-${randomBytes(8).toString("hex")}-01`;
    const result = await request(mesh.apiUrl, pathAndQuery, { ...opts, headers: { ...opts.headers, traceparent } });
    return { result, traceId };
  }

  const post = (i: number, tag: string) => {
    const u = users[i % users.length]!;
    return traced("/api/activities", { method: "POST", token: u.token, body: { message: `${tag} ${i}` } });
  };

  const logCount = (proc: ManagedProcess, msg: string) => proc.jsonLines().filter((l) => l.msg === msg).length;

  /**
   * Switches with the CLI, then sends `probe` until `proc` logs `msg` (the line the helper writes when it
   * first sees the switch): bounded, never a sleep.
   */
  async function switchAndWait(args: string[], proc: ManagedProcess, msg: string, probe: () => Promise<unknown>): Promise<number> {
    const before = logCount(proc, msg);
    const t0 = Date.now();
    await fault(...args);
    await waitFor(`${proc.name} to log "${msg}"`, async () => {
      await probe();
      return logCount(proc, msg) > before;
    }, { timeoutMs: SWITCH_TIMEOUT_MS, intervalMs: 100 });
    const tookMs = Date.now() - t0;
    process.stderr.write(`switch: fault ${args.join(" ")} → ${proc.name} logged "${msg}" after ${tookMs} ms\n`);
    return tookMs;
  }

  /** The spans of each trace, once `complete` says a trace has arrived whole (bounded). */
  async function spansOf(traceIds: string[], complete: (spans: Span[]) => boolean): Promise<Map<string, Span[]>> {
    return waitFor("the traces in the Collector's file", () => {
      const wanted = new Set(traceIds);
      const byTrace = new Map<string, Span[]>(traceIds.map((t) => [t, []]));
      for (const s of collector.fileSpans()) if (wanted.has(s.traceId)) byTrace.get(s.traceId)!.push(s);
      return [...byTrace.values()].every(complete) ? byTrace : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });
  }

  const serverSpan = (spans: Span[], service: string, method: string) =>
    spans.find((s) => s.serviceName === service && s.kind === "SERVER" && s.name.endsWith(`/${method}`));

  before(async () => {
    cache = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-faults-"));
    flagFile = demoFlagFile({ TRACEMESH_CACHE: cache });
    fs.mkdirSync(path.dirname(flagFile), { recursive: true });
    fs.copyFileSync(REPO_FLAGS, flagFile);
    [honeycomb, xray] = await Promise.all([startHoneycombStandIn({ apiKey: HONEYCOMB_KEY }), startXrayStandIn()]);
    collector = await startCollector({ env: standInCollectorEnv({ honeycombUrl: honeycomb.url, honeycombKey: HONEYCOMB_KEY, xrayEndpoint: xray.endpoint }) });
    mesh = await startMesh({
      otel: { endpoint: collector.otlpHttpUrl, env: { OTEL_BSP_SCHEDULE_DELAY: "200" }, xrayDaemonAddress: `127.0.0.1:${collector.xrayUdpPort}` },
      env: { [FLAG_FILE_ENV]: flagFile },
      // Generous on 2 shared cores: only the faults may make moderation's answer late.
      serviceEnv: { activities: { MODERATION_DEADLINE_MS: "2000" } },
    });
    users = [];
    for (let i = 0; i < 3; i++) users.push(await signUp(mesh.apiUrl, `fault_${i}`));
    for (let i = 0; i < 6; i++) assert.equal((await post(i, "seed")).result.status, 201);
  });

  // A failed test must not leave its fault on for the next one: back to the file the test started with.
  afterEach(() => {
    if (flagFile) writeFlagFile(flagFile, readFlagFile(REPO_FLAGS));
  });

  after(async () => {
    await mesh?.stop();
    await collector?.stop();
    await Promise.all([honeycomb?.stop(), xray?.stop()]);
    if (cache) fs.rmSync(cache, { recursive: true, force: true });
  });

  test("fault list: every scenario off, read from the demo's place with no path given", async () => {
    const text = await fault("list");
    assert.match(text, new RegExp(`flag file: ${demoFlagFile({ TRACEMESH_CACHE: cache }).replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
    for (const name of SCENARIOS.map((s) => s.name)) {
      assert.match(text, new RegExp(`^${name}\\s+off\\s`, "m"));
    }
  });

  test("activities-errors at 50 %: about half of CreateActivity fail with INTERNAL (500), marked; off: none", async () => {
    await switchAndWait(["on", "activities-errors", "--value", "50"], mesh.processes.activities, "fault activities-errors is acting (value 50)", () => post(0, "probe"));
    assert.match(await fault("list"), /^activities-errors\s+on \(50 %\)/m);
    const N = 80;
    const on: Traced[] = [];
    for (let i = 0; i < N; i++) on.push(await post(i, "errors"));
    const failed = on.filter((t) => t.result.status === 500);
    assert.deepEqual(on.filter((t) => t.result.status !== 500 && t.result.status !== 201).map((t) => t.result.status), [], "only 201 or 500");
    // Binomial(80, 0.5): 40 ± 4.5; 20..60 is beyond 4 standard deviations.
    assert.ok(failed.length >= 20 && failed.length <= 60, `${failed.length} of ${N} failed`);
    process.stderr.write(`activities-errors 50 %: ${failed.length} of ${N} CreateActivity failed (500 at the api, INTERNAL at activities)\n`);

    const traces = await spansOf(on.map((t) => t.traceId), (spans) => serverSpan(spans, "activities", "CreateActivity") !== undefined && spans.some((s) => s.serviceName === "api" && s.kind === "SERVER"));
    for (const t of on) {
      const span = serverSpan(traces.get(t.traceId)!, "activities", "CreateActivity")!;
      if (t.result.status === 500) {
        assert.equal(span.statusCode, "ERROR");
        assert.equal(span.attributes["rpc.grpc.status_code"], 13, "INTERNAL");
        assert.equal(span.attributes["app.fault.name"], "activities-errors");
        assert.equal(span.attributes["app.fault.value"], 50);
      } else {
        assert.notEqual(span.statusCode, "ERROR");
        assert.equal(span.attributes["app.fault.name"], undefined, "a call the fault left alone is not marked");
      }
    }
    keepWaterfall("activities-errors", traces.get(failed[0]!.traceId)!);
    // X-Ray sees the same: the api → activities subsegments of the failed calls are faults.
    const failedIds = new Set(failed.map((t) => xrayTraceId(t.traceId)));
    const xrayFaults = await waitFor("X-Ray segments of the failed calls", () => {
      const found = xray.segments().filter((d) => failedIds.has(d.trace_id ?? "") && d.name === "activities" && d.fault === true);
      return new Set(found.map((d) => d.trace_id)).size === failedIds.size ? found : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    assert.ok(xrayFaults.length >= failedIds.size);

    // The RED metrics the Collector computes from the same spans agree with them, counted from its file export:
    // spanmetrics per operation (calls, errors) and servicegraph per edge (requests, failed).
    const isCreate = (s: Span) => s.serviceName === "activities" && s.kind === "SERVER" && s.name.endsWith("/CreateActivity");
    const red = await waitFor("the RED metrics to count every span in the Collector's file", async () => {
      const samples = parsePrometheusText(await collector.scrapeMetrics());
      const spans = collector.fileSpans();
      const ops = redFromSpanMetrics(samples).filter((r) => r.service === "activities" && r.kind === "SERVER" && r.operation.endsWith("/CreateActivity"));
      const metricCalls = ops.reduce((n, r) => n + r.calls, 0);
      const metricErrors = ops.reduce((n, r) => n + r.errors, 0);
      const created = spans.filter(isCreate);
      const connectorEdge = graphFromServiceGraphMetrics(samples).edges.find((e) => e.from === "api" && e.to === "activities");
      const spanEdge = graphFromSpans(spans).edges.find((e) => e.from === "api" && e.to === "activities");
      const agree =
        metricCalls === created.length &&
        metricErrors === created.filter((s) => s.statusCode === "ERROR").length &&
        connectorEdge !== undefined &&
        spanEdge !== undefined &&
        connectorEdge.calls === spanEdge.calls &&
        connectorEdge.faults === spanEdge.statusErrors;
      return agree ? { metricCalls, metricErrors, edge: connectorEdge } : undefined;
    }, { timeoutMs: 20_000, intervalMs: 500 });
    assert.ok(red.metricErrors >= failed.length, `spanmetrics counted ${red.metricErrors} failed CreateActivity, the test saw ${failed.length}`);
    process.stderr.write(
      `RED agrees with the spans: CreateActivity ${red.metricCalls} calls / ${red.metricErrors} errors; api → activities ${red.edge.calls} requests, ${red.edge.faults} failed\n`,
    );
    // …and they reach Honeycomb as metrics, in their own dataset (Honeycomb wants a dataset header for metrics).
    await waitFor("Honeycomb to get the RED metrics", () => {
      const names = new Set(honeycomb.metricExports().filter((m) => m.dataset === "tracemesh-metrics").flatMap((m) => m.metrics.map((x) => x.name)));
      return names.has("traces_service_graph_request_total") && [...names].some((n) => n.startsWith("traces.span.metrics.")) ? true : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });

    await switchAndWait(["off", "activities-errors"], mesh.processes.activities, "fault activities-errors stopped", () => post(0, "probe"));
    const off: Traced[] = [];
    for (let i = 0; i < 30; i++) off.push(await post(i, "after"));
    assert.deepEqual(off.filter((t) => t.result.status !== 201).map((t) => t.result.status), [], "no failures once off");
    const offTraces = await spansOf(off.map((t) => t.traceId), (spans) => serverSpan(spans, "activities", "CreateActivity") !== undefined);
    for (const spans of offTraces.values()) assert.equal(serverSpan(spans, "activities", "CreateActivity")!.attributes["app.fault.name"], undefined);
  });

  const home = () => traced("/api/activities/home?limit=5");

  test("users-slow at 400 ms: feeds answer without display names, users' span marked, activities' call past its deadline; off: names back", async () => {
    await switchAndWait(["on", "users-slow", "--value", "400"], mesh.processes.users, "fault users-slow is acting (value 400)", home);
    const on: Traced[] = [];
    for (let i = 0; i < 8; i++) on.push(await home());
    for (const t of on) {
      assert.equal(t.result.status, 200);
      assert.equal(t.result.json!.display_names_unavailable, true, "degraded as documented");
    }
    const traces = await spansOf(on.map((t) => t.traceId), (spans) => serverSpan(spans, "users", "BatchGetUsers") !== undefined && serverSpan(spans, "activities", "HomeFeed") !== undefined);
    for (const spans of traces.values()) {
      const usersSpan = serverSpan(spans, "users", "BatchGetUsers")!;
      assert.equal(usersSpan.attributes["app.fault.name"], "users-slow");
      assert.equal(usersSpan.attributes["app.fault.value"], 400);
      const client = spans.find((s) => s.serviceName === "activities" && s.kind === "CLIENT" && s.name.endsWith("/BatchGetUsers"))!;
      assert.equal(client.attributes["rpc.grpc.status_code"], 4, "DEADLINE_EXCEEDED");
      assert.equal(client.statusCode, "ERROR");
      // Cut by activities' 300 ms users deadline, not answered by users' 400 ms wait: DEADLINE_EXCEEDED above is
      // that fact. No bound on either duration and no order between the two processes' timers — a busy machine
      // stretches and reorders those (an activities call once ended 339 ms after users' handler, deadline or not).
    }
    // X-Ray: each of these traces has a (sub)segment named users that is a fault (the call past its deadline),
    // whether the exporter sent it as its own document or embedded.
    const wanted = new Set(on.map((t) => xrayTraceId(t.traceId)));
    await waitFor("X-Ray documents of the calls to users, as faults", () => {
      const faulted = new Set(
        xray.segments().filter((d) => wanted.has(d.trace_id ?? "") && allDocs([d]).some((sub) => sub.name === "users" && sub.fault === true)).map((d) => d.trace_id),
      );
      return faulted.size === wanted.size;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    const ms = (xs: number[]) => `${Math.round(Math.min(...xs))}..${Math.round(Math.max(...xs))} ms`;
    const all = [...traces.values()];
    keepWaterfall("users-slow", all[0]!);
    process.stderr.write(
      `users-slow 400 ms: users BatchGetUsers ${ms(all.map((sp) => durationMs(serverSpan(sp, "users", "BatchGetUsers")!)))}, ` +
        `activities' client span ${ms(all.map((sp) => durationMs(sp.find((x) => x.serviceName === "activities" && x.kind === "CLIENT" && x.name.endsWith("/BatchGetUsers"))!)))}, ` +
        `home feed at the client ${ms(on.map((t) => t.result.ms))}\n`,
    );
    await switchAndWait(["off", "users-slow"], mesh.processes.users, "fault users-slow stopped", home);
    for (let i = 0; i < 5; i++) {
      const t = await home();
      assert.equal(t.result.status, 200);
      assert.equal(t.result.json!.display_names_unavailable, undefined, "display names back once off");
    }
  });

  test("redis-slow-timeline at 200 ms: one slow Redis span under assemble timeline, marked; off: none", async () => {
    await switchAndWait(["on", "redis-slow-timeline", "--value", "200"], mesh.processes.activities, "fault redis-slow-timeline is acting (value 200)", home);
    const on: Traced[] = [];
    for (let i = 0; i < 6; i++) on.push(await home());
    for (const t of on) assert.equal(t.result.status, 200);
    const isSlow = (s: Span) => s.serviceName === "activities" && s.name === "pipeline wait zrevrangebyscore";
    const traces = await spansOf(on.map((t) => t.traceId), (spans) => serverSpan(spans, "activities", "HomeFeed") !== undefined);
    for (const spans of traces.values()) {
      const slow = spans.filter(isSlow);
      assert.ok(slow.length >= 1, "the slowed read is in the trace");
      for (const span of slow) {
        assert.ok(durationMs(span) >= 195, `slow Redis span ${durationMs(span)} ms`);
        assert.equal(span.attributes["app.fault.name"], "redis-slow-timeline");
        assert.equal(span.attributes["db.system.name"], "redis");
        const parent = spans.find((p) => p.spanId === span.parentSpanId);
        assert.equal(parent?.name, "assemble timeline");
        assert.equal(parent?.attributes["app.fault.name"], "redis-slow-timeline");
      }
    }
    keepWaterfall("redis-slow-timeline", [...traces.values()][0]!);
    const slowMs = [...traces.values()].flatMap((sp) => sp.filter(isSlow).map(durationMs));
    process.stderr.write(`redis-slow-timeline 200 ms: slowed Redis spans ${Math.round(Math.min(...slowMs))}..${Math.round(Math.max(...slowMs))} ms, home feed at the client ${Math.round(Math.min(...on.map((t) => t.result.ms)))}..${Math.round(Math.max(...on.map((t) => t.result.ms)))} ms\n`);
    await switchAndWait(["off", "redis-slow-timeline"], mesh.processes.activities, "fault redis-slow-timeline stopped", home);
    const off: Traced[] = [];
    for (let i = 0; i < 5; i++) off.push(await home());
    const offTraces = await spansOf(off.map((t) => t.traceId), (spans) => serverSpan(spans, "activities", "HomeFeed") !== undefined);
    process.stderr.write(`redis-slow-timeline off: home feed at the client ${Math.round(Math.min(...off.map((t) => t.result.ms)))}..${Math.round(Math.max(...off.map((t) => t.result.ms)))} ms\n`);
    for (const spans of offTraces.values()) {
      assert.equal(spans.filter(isSlow).length, 0, "no slowed read once off");
      assert.equal(spans.filter((s) => s.attributes["app.fault.name"] !== undefined).length, 0);
    }
  });

  test("moderation-unreachable: posts are stored unmoderated (skipped, unavailable), no moderation span; off: moderated again", async () => {
    await switchAndWait(["on", "moderation-unreachable"], mesh.processes.activities, "fault moderation-unreachable is acting (value 1)", () => post(0, "probe"));
    const on: Traced[] = [];
    for (let i = 0; i < 5; i++) on.push(await post(i, "unmoderated"));
    for (const t of on) assert.equal(t.result.status, 201, "stored anyway");
    const traces = await spansOf(on.map((t) => t.traceId), (spans) => serverSpan(spans, "activities", "CreateActivity") !== undefined);
    for (const spans of traces.values()) {
      const create = serverSpan(spans, "activities", "CreateActivity")!;
      assert.equal(create.attributes["app.moderation.skipped"], true);
      assert.equal(create.attributes["app.moderation.skip_reason"], "unavailable");
      assert.equal(create.attributes["app.fault.name"], "moderation-unreachable");
      const failedCall = spans.find((s) => s.parentSpanId === create.spanId && s.kind === "CLIENT" && s.scope === "@opentelemetry/instrumentation-undici");
      assert.equal(failedCall?.statusCode, "ERROR", "the refused call is in the trace");
      assert.equal(spans.filter((s) => s.serviceName === "moderation").length, 0, "moderation never saw it");
    }
    keepWaterfall("moderation-unreachable", [...traces.values()][0]!);
    // X-Ray: activities' segments of these traces have no moderation subsegment with a moderation segment behind it.
    const unmoderated = new Set(on.map((t) => xrayTraceId(t.traceId)));
    await waitFor("X-Ray segments of the unmoderated posts", () => new Set(xray.segments().filter((d) => unmoderated.has(d.trace_id ?? "") && d.name === "activities").map((d) => d.trace_id)).size === unmoderated.size, { timeoutMs: 20_000, intervalMs: 250 });
    assert.deepEqual(xray.segments().filter((d) => unmoderated.has(d.trace_id ?? "") && d.name === "moderation"), [], "no moderation segment");
    process.stderr.write(`moderation-unreachable: ${on.length} posts stored unmoderated, post at the client ${Math.round(Math.min(...on.map((t) => t.result.ms)))}..${Math.round(Math.max(...on.map((t) => t.result.ms)))} ms\n`);
    await switchAndWait(["off", "moderation-unreachable"], mesh.processes.activities, "fault moderation-unreachable stopped", () => post(0, "probe"));
    const off: Traced[] = [];
    for (let i = 0; i < 3; i++) off.push(await post(i, "moderated"));
    // moderation's segments come over UDP through the awsxray receiver, on their own schedule: wait for them.
    const offTraces = await spansOf(off.map((t) => t.traceId), (spans) => serverSpan(spans, "activities", "CreateActivity") !== undefined && spans.some((s) => s.serviceName === "moderation"));
    for (const spans of offTraces.values()) assert.equal(serverSpan(spans, "activities", "CreateActivity")!.attributes["app.moderation.skipped"], false);
  });

  test("notifications-stall at 500 ms: a growing producer → consumer gap, consumer spans marked; off: the gap closes", async () => {
    const V = 500;
    await switchAndWait(["on", "notifications-stall", "--value", String(V)], mesh.processes.notifications, `fault notifications-stall is acting (value ${V})`, () => post(0, "probe"));
    const gaps = async (tag: string): Promise<Array<{ gapMs: number; consumer: Span; spans: Span[] }>> => {
      // Side by side, so the entries queue behind each other's pause.
      const sent = await Promise.all([0, 1, 2, 3].map((i) => post(i, tag)));
      for (const t of sent) assert.equal(t.result.status, 201);
      // Both ends of the hop: each process exports on its own schedule, so the consumer's span can reach the
      // Collector before the producer's.
      const traces = await spansOf(sent.map((t) => t.traceId), (spans) => spans.some((s) => s.serviceName === "notifications" && s.kind === "CONSUMER") && spans.some((s) => s.serviceName === "activities" && s.kind === "PRODUCER"));
      return [...traces.values()].map((spans) => {
        const consumer = spans.find((s) => s.serviceName === "notifications" && s.kind === "CONSUMER")!;
        const producer = spans.find((s) => s.spanId === consumer.parentSpanId && s.kind === "PRODUCER")!;
        assert.ok(producer, "the consumer continues the producer");
        return { gapMs: Number(consumer.startNs - producer.endNs) / 1e6, consumer, spans };
      });
    };
    const on = await gaps("stalled");
    for (const { gapMs, consumer } of on) {
      assert.ok(gapMs >= V - 20, `gap ${Math.round(gapMs)} ms ≥ ${V} ms`);
      assert.equal(consumer.attributes["app.fault.name"], "notifications-stall");
      assert.equal(consumer.attributes["app.fault.value"], V);
    }
    const maxOn = Math.max(...on.map((g) => g.gapMs));
    keepWaterfall("notifications-stall", on.find((g) => g.gapMs === maxOn)!.spans);
    assert.ok(maxOn >= 1.8 * V, `backlog: the last of 4 waited ${Math.round(maxOn)} ms`);
    process.stderr.write(`notifications-stall ${V} ms: producer → consumer gaps ${on.map((g) => Math.round(g.gapMs)).sort((a, b) => a - b).join(", ")} ms\n`);

    await switchAndWait(["off", "notifications-stall"], mesh.processes.notifications, "fault notifications-stall stopped", () => post(0, "probe"));
    const off = await gaps("flowing");
    process.stderr.write(`notifications-stall off: gaps ${off.map((g) => Math.round(g.gapMs)).sort((a, b) => a - b).join(", ")} ms\n`);
    // The gap closes: the same four posts side by side no longer queue behind pauses. Compared with the backlog
    // measured above in this run (≥ 1.8 × V), not with a fixed number of milliseconds a busy machine can exceed.
    const maxOff = Math.max(...off.map((g) => g.gapMs));
    assert.ok(maxOff < maxOn / 2, `largest gap ${Math.round(maxOff)} ms once off vs ${Math.round(maxOn)} ms while on`);
    for (const { consumer } of off) assert.equal(consumer.attributes["app.fault.name"], undefined);
  });

  test("api-memory-leak at 512 KiB: api's RSS grows by what it keeps, its spans say how much; off: released", async () => {
    const pid = mesh.processes.api.child.pid!;
    const profile = () => traced("/api/users/@fault_0");
    // The baseline, in this run: what the same 100 requests grow api's RSS by with nothing kept.
    const rssBaseline = rssMiB(pid);
    for (let i = 0; i < 100; i++) assert.equal((await profile()).result.status, 200);
    const baselineMiB = rssMiB(pid) - rssBaseline;
    await switchAndWait(["on", "api-memory-leak", "--value", "512"], mesh.processes.api, "fault api-memory-leak is acting (value 512)", profile);
    const rssBefore = rssMiB(pid);
    const on: Traced[] = [];
    for (let i = 0; i < 100; i++) on.push(await profile());
    for (const t of on) assert.equal(t.result.status, 200);
    const grewMiB = rssMiB(pid) - rssBefore;
    process.stderr.write(`api-memory-leak 512 KiB × 100 requests: api RSS +${grewMiB.toFixed(1)} MiB (the same requests without the leak: ${baselineMiB.toFixed(1)} MiB)\n`);
    // 100 × 512 KiB = 50 MiB kept: beyond what the same requests grow it by anyway, RSS must show most of it.
    assert.ok(grewMiB - baselineMiB >= 35, `api RSS grew ${grewMiB.toFixed(1)} MiB, ${baselineMiB.toFixed(1)} MiB without the leak`);
    const traces = await spansOf([on[0]!.traceId, on.at(-1)!.traceId], (spans) => spans.some((s) => s.serviceName === "api" && s.kind === "SERVER"));
    const apiSpan = (id: string) => traces.get(id)!.find((s) => s.serviceName === "api" && s.kind === "SERVER")!;
    assert.equal(apiSpan(on[0]!.traceId).attributes["app.fault.name"], "api-memory-leak");
    const first = Number(apiSpan(on[0]!.traceId).attributes["app.fault.leaked_bytes"]);
    const last = Number(apiSpan(on.at(-1)!.traceId).attributes["app.fault.leaked_bytes"]);
    assert.equal(last - first, 99 * 512 * 1024, "each request kept 512 KiB more");
    keepWaterfall("api-memory-leak", traces.get(on.at(-1)!.traceId)!);
    await switchAndWait(["off", "api-memory-leak"], mesh.processes.api, "fault api-memory-leak released its memory", profile);
    const released = mesh.processes.api.jsonLines().filter((l) => l.msg === "fault api-memory-leak released its memory").at(-1)!;
    assert.ok(Number(released.released_bytes) >= 100 * 512 * 1024);
  });

  test("loadgen-surge ×4: loadgen adds three surge flows per base flow, marked; off: no surge flow starts after loadgen says it stopped", { timeout: 120_000 }, async () => {
    const RATE = 6;
    const main = entryPoint("loadgen");
    const loadgen = startProcess("loadgen", process.execPath, [
      ...nodeArgs(main), "--base-url", mesh.apiUrl, "--rate", String(RATE), "--duration", "90s", "--users", "3",
    ], {
      cwd: packageDirOf(main),
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...telemetryEnv({ endpoint: collector.otlpHttpUrl, env: { OTEL_BSP_SCHEDULE_DELAY: "200" } }),
        OTEL_SERVICE_NAME: "loadgen",
        [FLAG_FILE_ENV]: flagFile,
      },
    });
    try {
      // Counted on loadgen's own flow spans (its open-loop schedule: the k-th arrival is due at a fixed offset),
      // not in wall-clock windows at the api, which a busy machine stretches and squeezes.
      const flows = () => collector.fileSpans().filter((sp) => sp.serviceName === "loadgen" && !sp.parentSpanId && sp.name.startsWith("flow "));
      const isSurge = (sp: Span) => sp.attributes["app.fault.name"] === "loadgen-surge";
      const loadgenSays = (text: string) => loadgen.output().split(text).length - 1;
      await waitFor("loadgen's flows (its sign-ups done)", () => flows().length >= 5 || undefined, { timeoutMs: 30_000, intervalMs: 250 });

      await fault("on", "loadgen-surge", "--value", "4");
      await waitFor("loadgen to log the surge", () => loadgenSays("fault loadgen-surge is acting (value 4)") > 0, { timeoutMs: SWITCH_TIMEOUT_MS, intervalMs: 100 });
      const surgeFlows = await waitFor("40 surge flows", () => {
        const marked = flows().filter(isSurge);
        return marked.length >= 40 ? marked : undefined;
      }, { timeoutMs: 30_000, intervalMs: 250 });
      assert.equal(surgeFlows[0]!.attributes["app.fault.value"], 4);
      keepWaterfall("loadgen-surge", collector.fileSpans().filter((sp) => sp.traceId === surgeFlows[0]!.traceId));

      await fault("off", "loadgen-surge");
      await waitFor("loadgen to log the surge's end", () => loadgenSays("fault loadgen-surge stopped") > 0, { timeoutMs: SWITCH_TIMEOUT_MS, intervalMs: 100 });
      const stoppedSeenNs = BigInt(Date.now()) * 1_000_000n;
      // Base flows go on after the surge stopped…
      await waitFor("base flows after the surge", () => flows().filter((f) => !isSurge(f) && f.startNs > stoppedSeenNs).length >= 5 || undefined, { timeoutMs: 20_000, intervalMs: 250 });
      const all = flows();
      const surge = all.filter(isSurge);
      // … and no surge flow started after loadgen said it stopped (an order of events).
      assert.deepEqual(surge.filter((f) => f.startNs > stoppedSeenNs).map((f) => f.name), [], "surge flows after the surge stopped");
      // While it lasted, ×4: three surge flows for every base flow started in the same interval.
      const first = surge.reduce((a, f) => (f.startNs < a ? f.startNs : a), surge[0]!.startNs);
      const last = surge.reduce((a, f) => (f.startNs > a ? f.startNs : a), surge[0]!.startNs);
      const base = all.filter((f) => !isSurge(f) && f.startNs >= first && f.startNs <= last).length;
      process.stderr.write(`loadgen-surge ×4 at --rate ${RATE}: ${surge.length} surge flows and ${base} base flows over ${(Number(last - first) / 1e9).toFixed(1)} s\n`);
      assert.ok(base > 0 && surge.length / base >= 2 && surge.length / base <= 4.5, `${surge.length} surge flows for ${base} base flows (×4: about 3 to 1)`);
    } finally {
      await loadgen.stop(20_000);
    }
  });
});
