// moderation as a real process (`node dist/src/main.js`, no OpenTelemetry preload), its segments caught
// by a UDP listener that parses the X-Ray daemon protocol as the Collector's awsxray receiver does.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { startProcess, startXrayDaemonCapture, waitFor, type ManagedProcess, type XrayDaemonCapture } from "@tracemesh/devkit";
import type { XraySegment } from "@tracemesh/trace-model";
import { listeningPort } from "@tracemesh/devkit/testing";

const PACKAGE_DIR = path.resolve(__dirname, "..", "..");
const MAIN = path.join(PACKAGE_DIR, "dist", "src", "main.js");
const ROOT = "1-692dc000-0123456789abcdef01234567";
const PARENT = "1111222233334444";

function subsegments(doc: XraySegment): XraySegment[] {
  return (doc.subsegments ?? []).flatMap((s) => [s, ...subsegments(s)]);
}

describe("moderation process", { timeout: 60_000 }, () => {
  let daemon: XrayDaemonCapture;
  let proc: ManagedProcess;
  let url = "";

  before(async () => {
    daemon = await startXrayDaemonCapture();
    proc = startProcess("moderation", process.execPath, [MAIN], {
      cwd: PACKAGE_DIR,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, PORT: "0", AWS_XRAY_DAEMON_ADDRESS: daemon.address, LOG_LEVEL: "info" },
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
