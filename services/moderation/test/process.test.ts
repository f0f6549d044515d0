// moderation as a real process in both tracing modes. MODERATION_TRACING=xray-sdk (`node dist/src/main.js`,
// no OpenTelemetry preload): its segments caught by a UDP listener that parses the X-Ray daemon protocol as the
// Collector's awsxray receiver does. MODERATION_TRACING=otel (`node --require @tracemesh/telemetry/register
// dist/src/main.js`): its spans exported over OTLP/HTTP to a local OTLP receiver (the Honeycomb stand-in), and
// the same UDP listener showing that no segment is sent. A preload (test/refuse-modules.ts) makes loading the
// X-Ray SDK in otel mode, or an OpenTelemetry SDK (or any async hook) in xray-sdk mode, fail the start.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import {
  nodeArgsFrom,
  startHoneycombStandIn,
  startProcess,
  startXrayDaemonCapture,
  waitFor,
  type HoneycombStandIn,
  type ManagedProcess,
  type XrayDaemonCapture,
} from "@tracemesh/devkit";
import { SPAN_KIND, type Span, type XraySegment } from "@tracemesh/trace-model";
import { listeningPort } from "@tracemesh/devkit/testing";

const PACKAGE_DIR = path.resolve(__dirname, "..", "..");
const MAIN = path.join(PACKAGE_DIR, "dist", "src", "main.js");
const REFUSE = path.join(PACKAGE_DIR, "dist", "test", "refuse-modules.js");
/** Never loaded in xray-sdk mode: the tracemesh bootstrap (its register and its index) and the OpenTelemetry SDK packages. */
const OTEL_SDK_MODULES = "@tracemesh/telemetry,@tracemesh/telemetry/register,@opentelemetry/sdk-*,@opentelemetry/auto-instrumentations-node*";
/** Never loaded in otel mode. */
const XRAY_SDK_MODULES = "aws-xray-sdk-core";
const ROOT = "1-692dc000-0123456789abcdef01234567";
const PARENT = "1111222233334444";

function subsegments(doc: XraySegment): XraySegment[] {
  return (doc.subsegments ?? []).flatMap((s) => [s, ...subsegments(s)]);
}

describe("moderation process, MODERATION_TRACING=xray-sdk (the default)", { timeout: 60_000 }, () => {
  let daemon: XrayDaemonCapture;
  let proc: ManagedProcess;
  let url = "";

  before(async () => {
    daemon = await startXrayDaemonCapture();
    proc = startProcess("moderation", process.execPath, ["--require", REFUSE, MAIN], {
      cwd: PACKAGE_DIR,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: "0",
        AWS_XRAY_DAEMON_ADDRESS: daemon.address,
        LOG_LEVEL: "info",
        TRACEMESH_REFUSE_MODULES: OTEL_SDK_MODULES,
        // Manual mode from the SDK's first load: no cls-hooked async hook, whose callbacks would run on every async operation.
        TRACEMESH_REFUSE_ASYNC_HOOKS: "true",
      },
    });
    const port = await waitFor("moderation listening", () => listeningPort(proc), { timeoutMs: 15_000 });
    url = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await proc?.stop();
    await daemon?.stop();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/check`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body,
      signal: AbortSignal.timeout(5000),
    });

  test("a refused text: verdict, one segment continuing X-Amzn-Trace-Id, subsegments, annotations, log ids", async () => {
    const res = await post(JSON.stringify({ text: "casino!!!!!!!!!!!!", handle: "ada_l" }), {
      "x-amzn-trace-id": `Root=${ROOT};Parent=${PARENT};Sampled=1`,
    });
    assert.equal(res.status, 200);
    const verdict = (await res.json()) as { allowed: boolean; reasons: string[] };
    assert.equal(verdict.allowed, false);
    assert.deepEqual(verdict.reasons.map((r) => r.split(":")[0]), ["word_list", "repeated_characters"]);

    const segment = await waitFor("the segment", () => daemon.segments().find((s) => s.trace_id === ROOT), { timeoutMs: 5000 });
    assert.equal(segment.name, "moderation");
    assert.equal(segment.parent_id, PARENT, "the caller's span is the parent");
    assert.match(segment.id, /^[0-9a-f]{16}$/);
    assert.equal(typeof segment.end_time, "number");
    assert.equal(segment.annotations?.["app.user.handle"], "ada_l");
    assert.equal(segment.annotations?.["app.moderation.allowed"], false);
    assert.equal(segment.user, "ada_l");
    assert.equal((segment.http?.response as { status?: number }).status, 200);
    assert.equal(segment.error, undefined);
    assert.equal(segment.fault, undefined);
    assert.equal((segment.service as { version?: string }).version, "0.1.0");
    assert.deepEqual(subsegments(segment).map((s) => s.name), ["parse request", "check rules", "word_list", "link_spam", "repeated_characters"]);
    for (const s of subsegments(segment)) assert.equal(typeof s.end_time, "number", `${s.name} closed`);

    const line = proc.jsonLines().find((l) => l.msg === "request" && l.xray_trace_id === ROOT);
    assert.ok(line, proc.output());
    assert.equal(line.trace_id, ROOT.slice(2).replace("-", ""), "the W3C form, as the OpenTelemetry services log it");
    assert.equal(line.span_id, segment.id);
    assert.equal(line.status, 200);
  });

  test("an allowed text; Sampled=0 sends no segment", async () => {
    const root = "1-692dc000-aaaaaaaaaaaaaaaaaaaaaaaa";
    const res = await post(JSON.stringify({ text: "a perfectly fine post" }), { "x-amzn-trace-id": `Root=${root};Parent=${PARENT};Sampled=0` });
    assert.deepEqual(await res.json(), { allowed: true, reasons: [] });
    // The next, sampled request's segment arriving means the unsampled one would have arrived before it.
    const next = await post(JSON.stringify({ text: "next" }), { "x-amzn-trace-id": `Root=${ROOT.replace("0123", "9999")};Parent=${PARENT};Sampled=1` });
    await next.arrayBuffer();
    await waitFor("the next segment", () => daemon.segments().find((s) => s.trace_id === ROOT.replace("0123", "9999")), { timeoutMs: 5000 });
    assert.equal(daemon.segments().filter((s) => s.trace_id === root).length, 0);
  });

  test("bad input: 400/404/405/413/415 with a JSON error; the 400 segment is an error, not a fault", async () => {
    const cases: Array<[Promise<Response>, number]> = [
      [post("{not json", { "x-amzn-trace-id": "Root=1-692dc000-bbbbbbbbbbbbbbbbbbbbbbbb;Parent=1111222233334444;Sampled=1" }), 400],
      [post(JSON.stringify({ text: "" })), 400],
      [post(JSON.stringify({ text: "hi", handle: 7 })), 400],
      [post(JSON.stringify({ text: "x".repeat(70 * 1024) })), 413],
      [post("text=hi", { "content-type": "application/x-www-form-urlencoded" }), 415],
      [fetch(`${url}/v1/check`, { signal: AbortSignal.timeout(5000) }), 405],
      [fetch(`${url}/v2/nothing`, { signal: AbortSignal.timeout(5000) }), 404],
    ];
    for (const [pending, status] of cases) {
      const res = await pending;
      assert.equal(res.status, status);
      assert.match(res.headers.get("content-type") ?? "", /application\/json/);
      const body = (await res.json()) as { error?: { code?: string; message?: string } };
      assert.equal(typeof body.error?.code, "string");
      assert.equal(typeof body.error?.message, "string");
    }
    const segment = await waitFor(
      "the bad request's segment",
      () => daemon.segments().find((s) => s.trace_id === "1-692dc000-bbbbbbbbbbbbbbbbbbbbbbbb"),
      { timeoutMs: 5000 },
    );
    assert.equal(segment.error, true);
    assert.equal(segment.fault, undefined);
    const parse = subsegments(segment).find((s) => s.name === "parse request");
    assert.equal(parse?.error, true);
    assert.equal(parse?.fault, undefined);
    assert.equal(daemon.malformed(), 0);
  });

  test("GET /healthz and a check without a trace header answer and are not traced", async () => {
    const before = daemon.segments().length;
    const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
    assert.deepEqual(await res.json(), { status: "ok" });
    const untraced = await post(JSON.stringify({ text: "no header" }));
    assert.deepEqual(await untraced.json(), { allowed: true, reasons: [] });
    // A traced request after it: its segment arriving alone shows the probe sent none.
    const traced = await post(JSON.stringify({ text: "after the probe" }), { "x-amzn-trace-id": `Root=1-692dc000-cccccccccccccccccccccccc;Sampled=1` });
    await traced.arrayBuffer();
    await waitFor("the traced request's segment", () => daemon.segments().length > before, { timeoutMs: 5000 });
    assert.deepEqual(daemon.segments().slice(before).map((s) => s.trace_id), ["1-692dc000-cccccccccccccccccccccccc"]);
  });

  test("exits 0 on SIGTERM; a bad AWS_XRAY_DAEMON_ADDRESS or PORT stops it with one line", async () => {
    const status = await proc.stop(10_000);
    assert.equal(status.code, 0, proc.output());
    for (const [name, value] of [["AWS_XRAY_DAEMON_ADDRESS", "nowhere"], ["PORT", "eighty"], ["LOG_LEVEL", "loud"]]) {
      const bad = startProcess("moderation-bad-config", process.execPath, [MAIN], {
        cwd: PACKAGE_DIR,
        env: { PATH: process.env.PATH, [name!]: value },
      });
      const exit = await bad.exited;
      assert.equal(exit.code, 2, bad.output());
      const lines = bad.output().trim().split("\n");
      assert.equal(lines.length, 1, bad.output());
      assert.match(lines[0]!, new RegExp(name!));
    }
  });
});

describe("moderation process, MODERATION_TRACING=otel", { timeout: 60_000 }, () => {
  const KEY = "moderation-otel-test";
  const TRACE_ID = "692dc0000123456789abcdef01234567";
  const PARENT_ID = "1111222233334444";
  let otlp: HoneycombStandIn;
  let daemon: XrayDaemonCapture;
  let proc: ManagedProcess;
  let url = "";

  before(async () => {
    [otlp, daemon] = await Promise.all([startHoneycombStandIn({ apiKey: KEY }), startXrayDaemonCapture()]);
    proc = startProcess("moderation-otel", process.execPath, ["--require", REFUSE, ...nodeArgsFrom(PACKAGE_DIR, MAIN)], {
      cwd: PACKAGE_DIR,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        PORT: "0",
        LOG_LEVEL: "info",
        MODERATION_TRACING: "otel",
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_HEADERS: `x-honeycomb-team=${KEY}`,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        // Set, as a leftover of the X-Ray set-up would be: nothing may send there.
        AWS_XRAY_DAEMON_ADDRESS: daemon.address,
        TRACEMESH_REFUSE_MODULES: XRAY_SDK_MODULES,
      },
    });
    const port = await waitFor("moderation listening", () => listeningPort(proc), { timeoutMs: 20_000 });
    url = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    await proc?.stop();
    await Promise.all([otlp?.stop(), daemon?.stop()]);
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    fetch(`${url}/v1/check`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body, signal: AbortSignal.timeout(5000) });

  test("a refused text: the SERVER span continues traceparent, one INTERNAL span per step, the same attributes, log ids", async () => {
    const res = await post(JSON.stringify({ text: "casino!!!!!!!!!!!!", handle: "ada_l" }), { traceparent: `00-${TRACE_ID}-${PARENT_ID}-01` });
    assert.equal(res.status, 200);
    const verdict = (await res.json()) as { allowed: boolean; reasons: string[] };
    assert.deepEqual(verdict.reasons.map((r) => r.split(":")[0]), ["word_list", "repeated_characters"]);

    const spans = await waitFor(
      "the request's six spans",
      () => {
        const trace = otlp.spans().filter((s) => s.traceId === TRACE_ID);
        return trace.length >= 6 ? trace : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.equal(spans.length, 6, spans.map((s) => s.name).join(", "));
    const server = spans.find((s) => s.kind === SPAN_KIND.SERVER);
    assert.ok(server, "instrumentation-http's SERVER span");
    assert.equal(server.serviceName, "moderation");
    assert.equal(server.parentSpanId, PARENT_ID, "the caller's span is the parent");
    assert.equal(server.name, "POST /v1/check", "named by route");
    assert.equal(server.attributes["http.route"], "/v1/check");
    assert.equal(server.attributes["app.user.handle"], "ada_l");
    assert.equal(server.attributes["enduser.id"], "ada_l");
    assert.equal(server.attributes["app.moderation.allowed"], false);
    assert.match(String(server.attributes["app.reasons"]), /word_list/);
    assert.equal(server.statusCode, "UNSET");
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const childOf = (s: Span) => byId.get(s.parentSpanId)?.name;
    const steps = spans.filter((s) => s !== server);
    assert.deepEqual(
      steps.map((s) => `${childOf(s)} > ${s.name}`).sort(),
      [
        "POST /v1/check > check rules",
        "POST /v1/check > parse request",
        "check rules > link_spam",
        "check rules > repeated_characters",
        "check rules > word_list",
      ],
      "the X-Ray SDK's subsegments, as INTERNAL spans in the same tree",
    );
    for (const s of steps) assert.equal(s.kind, SPAN_KIND.INTERNAL, s.name);
    assert.match(String(steps.find((s) => s.name === "word_list")?.attributes["app.reasons"]), /casino/);

    const line = proc.jsonLines().find((l) => l.msg === "request" && l.trace_id === TRACE_ID);
    assert.ok(line, proc.output());
    assert.equal(line.span_id, server.spanId);
    assert.equal(line.xray_trace_id, `1-${TRACE_ID.slice(0, 8)}-${TRACE_ID.slice(8)}`);
    assert.equal(line.status, 200);
  });

  test("X-Amzn-Trace-Id alone is continued too (the AWS X-Ray propagator), and nothing goes to the X-Ray daemon", async () => {
    const root = "1-692dc000-dddddddddddddddddddddddd";
    const res = await post(JSON.stringify({ text: "fine" }), { "x-amzn-trace-id": `Root=${root};Parent=${PARENT_ID};Sampled=1` });
    assert.deepEqual(await res.json(), { allowed: true, reasons: [] });
    const server = await waitFor(
      "the SERVER span",
      () => otlp.spans().find((s) => s.traceId === root.slice(2).replace("-", "") && s.kind === SPAN_KIND.SERVER),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.equal(server.parentSpanId, PARENT_ID);
    assert.equal(daemon.segments().length, 0, "no X-Ray segment was sent");
    assert.equal(daemon.malformed(), 0);
  });

  test("bad input: the same 400 with a JSON error; the parse step records the message, no ERROR status", async () => {
    const res = await post("{not json", { traceparent: `00-${TRACE_ID.replace("0123", "bbbb")}-${PARENT_ID}-01` });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error?: { code?: string } };
    assert.equal(body.error?.code, "invalid_argument");
    const parse = await waitFor(
      "the parse step",
      () => otlp.spans().find((s) => s.traceId === TRACE_ID.replace("0123", "bbbb") && s.name === "parse request"),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.match(String(parse.attributes["app.error"]), /JSON/i);
    assert.equal(parse.statusCode, "UNSET", "a 4xx is the caller's error, as X-Ray's `error` (not `fault`)");
  });

  test("GET /healthz is not traced; a check without trace context starts a trace of its own (the SDK's sampler)", async () => {
    const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) });
    assert.deepEqual(await health.json(), { status: "ok" });
    const res = await post(JSON.stringify({ text: "no context" }));
    assert.deepEqual(await res.json(), { allowed: true, reasons: [] });
    // The tests above sent these trace ids; this request's is new.
    const sent = new Set([TRACE_ID, "692dc000dddddddddddddddddddddddd"]);
    const line = await waitFor("its request log line", () => proc.jsonLines().find((l) => l.msg === "request" && l.status === 200 && !sent.has(String(l.trace_id))), {
      timeoutMs: 5000,
    });
    const server = await waitFor("its SERVER span", () => otlp.spans().find((s) => s.traceId === line.trace_id && s.kind === SPAN_KIND.SERVER), { timeoutMs: 10_000, intervalMs: 100 });
    assert.equal(server.parentSpanId, "", "a root: no caller's context");
    assert.equal(otlp.spans().filter((s) => String(s.attributes["url.path"] ?? s.attributes["http.target"] ?? "").startsWith("/healthz")).length, 0, "no span for the probe");
  });

  test("exits 0 on SIGTERM after flushing its spans", async () => {
    const before = otlp.spans().length;
    const res = await post(JSON.stringify({ text: "last one" }), { traceparent: `00-${TRACE_ID.replace("0123", "eeee")}-${PARENT_ID}-01` });
    await res.arrayBuffer();
    const status = await proc.stop(10_000);
    assert.equal(status.code, 0, proc.output());
    assert.ok(otlp.spans().length > before, "the last request's spans were flushed at shutdown");
    assert.equal(daemon.segments().length, 0);
  });
});

describe("moderation refuses to start traced the wrong way (exit 2, one line)", { timeout: 60_000 }, () => {
  const start = (args: string[], env: NodeJS.ProcessEnv) =>
    startProcess("moderation-mode", process.execPath, [...args, MAIN], {
      cwd: PACKAGE_DIR,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: "0", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:9", ...env },
    });
  const registerArgs = nodeArgsFrom(PACKAGE_DIR, MAIN).slice(0, -1);

  test("xray-sdk with the OpenTelemetry register preloaded; otel without it; an unknown mode", async () => {
    assert.deepEqual(registerArgs[0], "--require", "the telemetry register resolves from moderation");
    for (const [args, env, pattern] of [
      [registerArgs, {}, /MODERATION_TRACING is xray-sdk, but an OpenTelemetry SDK runs/],
      [[], { MODERATION_TRACING: "otel" }, /MODERATION_TRACING is otel, but no OpenTelemetry SDK runs/],
      [[], { MODERATION_TRACING: "opentelemetry" }, /MODERATION_TRACING must be one of xray-sdk, otel/],
    ] as Array<[string[], NodeJS.ProcessEnv, RegExp]>) {
      const proc = start(args, env);
      const exit = await proc.exited;
      assert.equal(exit.code, 2, proc.output());
      const lines = proc.output().trim().split("\n");
      assert.equal(lines.length, 1, proc.output());
      assert.match(lines[0]!, pattern);
    }
  });

  test("otel without the register but OTEL_SDK_DISABLED=true runs untraced; xray-sdk with a disabled SDK preloaded runs", async () => {
    for (const [args, env] of [
      [[], { MODERATION_TRACING: "otel", OTEL_SDK_DISABLED: "true" }],
      [registerArgs, { OTEL_SDK_DISABLED: "true", AWS_XRAY_DAEMON_ADDRESS: "127.0.0.1:9" }],
    ] as Array<[string[], NodeJS.ProcessEnv]>) {
      const proc = start(args, env);
      try {
        await waitFor("listening", () => listeningPort(proc), { timeoutMs: 15_000 });
      } finally {
        const exit = await proc.stop(10_000);
        assert.equal(exit.code, 0, proc.output());
      }
    }
  });

  test("the module refusal bites: xray-sdk mode refusing the X-Ray SDK does not start", async () => {
    const proc = start(["--require", REFUSE], { TRACEMESH_REFUSE_MODULES: XRAY_SDK_MODULES });
    const exit = await proc.exited;
    assert.notEqual(exit.code, 0, proc.output());
    assert.match(proc.output(), /refused module aws-xray-sdk-core/);
  });
});
