// tools: fluent-bit
// The real Fluent Bit on the configuration users deploy (deploy/k8s/base/fluent-bit/fluent-bit-config.yaml), locally:
// CRI-format files as the kubelet writes them → tail (cri parser) → the multiline rule → cloudwatch_logs over HTTPS
// to the CloudWatch Logs stand-in, which recomputes every SigV4 signature (the only fake: AWS cannot be reached).
// A crash's stack arrives as one event; while the stand-in refuses and while Fluent Bit is stopped and started
// again, nothing written is lost or doubled, counted per stream.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  criLogWriter,
  findFluentBit,
  makeStandInTls,
  startCloudWatchLogsStandIn,
  startFluentBit,
  startProcess,
  waitFor,
  type CloudWatchLogsStandIn,
  type LocalFluentBit,
  type StandInTls,
  type StoredLogEvent,
} from "@tracemesh/devkit";

const TRACE = "4bf92f3577b34da6a3ce929d0e0e4736";

describe("Fluent Bit → CloudWatch Logs (real binary, the users' configuration)", { timeout: 180_000 }, () => {
  let dir: string;
  let tls: StandInTls;
  let cloudwatch: CloudWatchLogsStandIn;
  let fluentBit: LocalFluentBit | undefined;
  const logDir = () => path.join(dir, "logs");
  const stateDir = () => path.join(dir, "state");
  const start = () => startFluentBit({ logDir: logDir(), endpoint: cloudwatch.url, caFile: tls.caFile, stateDir: stateDir(), clusterName: "test" });
  const events = (service: string): StoredLogEvent[] => cloudwatch.store.events().filter((e) => e.logStreamName.endsWith(`.${service}.log`));

  before(async () => {
    findFluentBit();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-logs-"));
    fs.mkdirSync(logDir());
    tls = makeStandInTls(path.join(dir, "tls"));
    cloudwatch = await startCloudWatchLogsStandIn({ tls });
    fluentBit = await start();
  });

  after(async () => {
    await fluentBit?.stop();
    await cloudwatch?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("pino lines arrive merged in a stream named as Container Insights names it, every call signed", { timeout: 60_000 }, async () => {
    const log = criLogWriter(path.join(logDir(), "api.log"));
    for (let i = 0; i < 50; i++) {
      log.write("stdout", `${JSON.stringify({ level: "info", time: new Date().toISOString(), service: "api", msg: "request", route: "/api/x", status: 200, n: i, trace_id: TRACE, token: "[redacted]" })}\n`);
    }
    log.close();
    const got = await waitFor("50 events of api", () => (events("api").length >= 50 ? events("api") : undefined), { timeoutMs: 30_000, intervalMs: 200 });
    assert.equal(got.length, 50);
    assert.equal(fluentBit!.logGroup, "/aws/containerinsights/test/application");
    const stream = got[0]!.logStreamName;
    assert.equal(stream, `${os.hostname()}-application.${logDir().slice(1).replace(/\//g, ".")}.api.log`);
    const record = JSON.parse(got[0]!.message) as Record<string, unknown>;
    // Merged: pino's fields at the top (the parser filter stands in for the kubernetes filter's Merge_Log).
    assert.equal(record.msg, "request");
    assert.equal(record.trace_id, TRACE);
    assert.equal(record.stream, "stdout");
    assert.equal(record.log, undefined);
    assert.deepEqual(got.map((e) => (JSON.parse(e.message) as { n: number }).n), [...Array(50).keys()], "in order, once each");
    const counts = cloudwatch.counts();
    for (const op of ["CreateLogGroup 200", "PutRetentionPolicy 200", "CreateLogStream 200", "PutLogEvents 200"]) assert.ok(counts[op], `${op} in ${JSON.stringify(counts)}`);
    // Its first CreateLogStream meets no group (it creates the group then, as with AWS); nothing else was refused,
    // so every signature verified.
    assert.deepEqual(cloudwatch.refused().filter((r) => !(r.operation === "CreateLogStream" && /log group does not exist/.test(r.message ?? ""))), []);
  });

  test("a crash: the non-JSON lines arrive, the stack as one event", { timeout: 60_000 }, async () => {
    const proc = startProcess("crasher", process.execPath, ["-e", "setTimeout(() => { throw new TypeError('boom in a handler'); }, 10)"], { logFile: path.join(logDir(), "crasher.log") });
    const status = await proc.exited;
    assert.equal(status.code, 1);
    const stack = await waitFor("the stack's event", () => events("crasher").find((e) => e.message.includes("TypeError: boom in a handler")), { timeoutMs: 30_000, intervalMs: 200 });
    const text = String((JSON.parse(stack.message) as { log: string }).log);
    const atLines = text.split("\n").filter((l) => /^\s+at /.test(l));
    assert.ok(atLines.length >= 2, `the stack's frames are in the same event:\n${text}`);
    const written = fs.readFileSync(path.join(logDir(), "crasher.log"), "utf8").split("\n").filter((l) => / F \s+at /.test(l)).length;
    assert.equal(atLines.length, written, "every frame written is in it");
    assert.ok(!events("crasher").some((e) => /^\s+at /.test(String((JSON.parse(e.message) as { log?: string }).log ?? ""))), "no frame arrived alone");
  });

  test("CloudWatch refusing, then Fluent Bit stopped and restarted: every line arrives exactly once", { timeout: 120_000 }, async () => {
    const file = path.join(logDir(), "notifications.log");
    const log = criLogWriter(file);
    let n = 0;
    const writeSome = (count: number) => {
      for (let i = 0; i < count; i++, n++) log.write("stdout", `${JSON.stringify({ level: "info", msg: "event", n })}\n`);
    };
    writeSome(100);
    await waitFor("the first 100", () => events("notifications").length >= 100, { timeoutMs: 30_000, intervalMs: 200 });
    // An outage: every call answered 503 for 4 s, lines keep coming.
    cloudwatch.refuseUntil(Date.now() + 4000);
    const refusedBefore = cloudwatch.refused().length;
    for (let i = 0; i < 8; i++) {
      writeSome(25);
      await new Promise((r) => setTimeout(r, 500));
    }
    await waitFor("Fluent Bit to retry through the outage", () => events("notifications").length >= 300, { timeoutMs: 60_000, intervalMs: 250 });
    const refusedInOutage = cloudwatch.refused().length - refusedBefore;
    assert.ok(refusedInOutage > 0, "the outage refused calls");
    // Stopped (as a deleted pod is: SIGTERM) while lines are coming — the last ones just read, not yet sent —
    // lines written while it is away, started again on the same state.
    writeSome(50);
    await fluentBit!.stop();
    writeSome(100);
    fluentBit = await start();
    writeSome(50);
    log.close();
    const all = await waitFor("all 500 lines", () => (events("notifications").length >= 500 ? events("notifications") : undefined), { timeoutMs: 60_000, intervalMs: 250 }).catch(() => events("notifications"));
    // A duplicate would arrive with the rest: give it the time of one more flush before counting.
    await new Promise((r) => setTimeout(r, 2500));
    const ns = events("notifications").map((e) => (JSON.parse(e.message) as { n: number }).n);
    const lost = [...Array(500).keys()].filter((n) => !ns.includes(n));
    assert.deepEqual({ lost, doubled: ns.length - new Set(ns).size }, { lost: [], doubled: 0 }, `${all.length} events`);
    console.log(`outage: ${refusedInOutage} calls refused; restart: 500 lines, ${ns.length} events, 0 lost, 0 doubled`);
  });
});
