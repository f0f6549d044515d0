// The CloudWatch Logs stand-in answers as CloudWatch does: over HTTPS with its own CA, SigV4 for `logs` recomputed,
// X-Amz-Target routing, PutLogEvents' rules, FilterLogEvents' patterns, and an outage as 503s. Driven with signed
// requests like an AWS client's (the real Fluent Bit's calls are in tests/test/e2e/logs.e2e.test.ts).
import assert from "node:assert/strict";
import fs from "node:fs";
import https from "node:https";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import {
  CloudWatchLogsStore,
  STAND_IN_AWS_CREDENTIALS,
  makeStandInTls,
  matchesFilterPattern,
  readStandInTls,
  signSigV4,
  startCloudWatchLogsStandIn,
  type CloudWatchLogsStandIn,
} from "../src/index.js";

function call(standIn: CloudWatchLogsStandIn, operation: string, body: unknown, opts: { secret?: string; ca?: string; target?: string } = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const payload = Buffer.from(JSON.stringify(body));
  const headers = signSigV4({
    method: "POST",
    url: `${standIn.url}/`,
    headers: { "content-type": "application/x-amz-json-1.1", "x-amz-target": opts.target ?? `Logs_20140328.${operation}` },
    body: payload,
    service: "logs",
    region: "us-east-1",
    credentials: { ...STAND_IN_AWS_CREDENTIALS, ...(opts.secret ? { secretAccessKey: opts.secret } : {}) },
  });
  return new Promise((resolve, reject) => {
    const req = https.request(`${standIn.url}/`, { method: "POST", headers, ca: opts.ca ?? standIn.tls.caCert, timeout: 5000 }, (res) => {
      let text = "";
      res.on("data", (c: Buffer) => (text += c.toString()));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text || "{}") as Record<string, unknown> }));
    });
    req.on("error", reject);
    req.end(payload);
  });
}

describe("CloudWatch Logs stand-in", { timeout: 60_000 }, () => {
  let standIn: CloudWatchLogsStandIn;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cwl-test-"));
    standIn = await startCloudWatchLogsStandIn({ tls: makeStandInTls(dir) });
  });
  after(async () => {
    await standIn.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("TLS: a client that does not trust the stand-in's CA is refused the connection; one that does gets answers", async () => {
    await assert.rejects(call(standIn, "DescribeLogGroups", {}, { ca: makeStandInTls(path.join(dir, "other")).caCert }), /self.signed|unable to verify|certificate/i);
    assert.equal((await call(standIn, "DescribeLogGroups", {})).status, 200);
    assert.ok(readStandInTls(dir), "the files it wrote read back");
  });

  test("a group, its retention, a stream and events, then GetLogEvents and DescribeLogStreams read them back", async () => {
    assert.equal((await call(standIn, "CreateLogGroup", { logGroupName: "/aws/containerinsights/t/application" })).status, 200);
    const again = await call(standIn, "CreateLogGroup", { logGroupName: "/aws/containerinsights/t/application" });
    assert.deepEqual([again.status, again.body.__type], [400, "ResourceAlreadyExistsException"]);
    assert.equal((await call(standIn, "PutRetentionPolicy", { logGroupName: "/aws/containerinsights/t/application", retentionInDays: 10 })).body.__type, "InvalidParameterException");
    assert.equal((await call(standIn, "PutRetentionPolicy", { logGroupName: "/aws/containerinsights/t/application", retentionInDays: 7 })).status, 200);
    const noStream = await call(standIn, "PutLogEvents", { logGroupName: "/aws/containerinsights/t/application", logStreamName: "s", logEvents: [{ timestamp: Date.now(), message: "x" }] });
    assert.deepEqual([noStream.status, noStream.body.__type], [400, "ResourceNotFoundException"]);
    assert.equal((await call(standIn, "CreateLogStream", { logGroupName: "/aws/containerinsights/t/application", logStreamName: "s" })).status, 200);
    const now = Date.now();
    const old = await call(standIn, "PutLogEvents", { logGroupName: "/aws/containerinsights/t/application", logStreamName: "s", logEvents: [{ timestamp: now - 8 * 24 * 3600_000, message: "past the retention" }] });
    assert.equal(old.status, 200, JSON.stringify(old.body));
    assert.deepEqual(old.body.rejectedLogEventsInfo, { tooOldLogEventEndIndex: 0 });
    const span = await call(standIn, "PutLogEvents", { logGroupName: "/aws/containerinsights/t/application", logStreamName: "s", logEvents: [{ timestamp: now - 2 * 24 * 3600_000, message: "a" }, { timestamp: now, message: "b" }] });
    assert.match(String(span.body.message), /span more than 24 hours/);
    const put = await call(standIn, "PutLogEvents", {
      logGroupName: "/aws/containerinsights/t/application",
      logStreamName: "s",
      logEvents: [
        { timestamp: now - 1, message: '{"msg":"request","trace_id":"0123456789abcdef0123456789abcdef"}' },
        { timestamp: now, message: "plain line" },
      ],
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.rejectedLogEventsInfo, undefined);
    const got = await call(standIn, "GetLogEvents", { logGroupName: "/aws/containerinsights/t/application", logStreamName: "s", startFromHead: true });
    assert.deepEqual((got.body.events as Array<{ message: string }>).map((e) => e.message), ['{"msg":"request","trace_id":"0123456789abcdef0123456789abcdef"}', "plain line"]);
    const streams = (await call(standIn, "DescribeLogStreams", { logGroupName: "/aws/containerinsights/t/application" })).body.logStreams as Array<{ logStreamName: string; lastEventTimestamp: number }>;
    assert.deepEqual(streams.map((s) => [s.logStreamName, s.lastEventTimestamp]), [["s", now]]);
  });

  test("PutLogEvents' rules: chronological order, non-empty messages, at most 10,000 events", async () => {
    const base = { logGroupName: "/aws/containerinsights/t/application", logStreamName: "s" };
    const now = Date.now();
    const order = await call(standIn, "PutLogEvents", { ...base, logEvents: [{ timestamp: now, message: "b" }, { timestamp: now - 5, message: "a" }] });
    assert.equal(order.status, 400);
    assert.match(String(order.body.message), /chronological order/);
    assert.equal((await call(standIn, "PutLogEvents", { ...base, logEvents: [{ timestamp: now, message: "" }] })).status, 400);
    const many = Array.from({ length: 10_001 }, () => ({ timestamp: now, message: "x" }));
    assert.equal((await call(standIn, "PutLogEvents", { ...base, logEvents: many })).status, 400);
  });

  test("signature, target and content type are checked first; an outage answers 503 and counts its refusals", async () => {
    const forged = await call(standIn, "DescribeLogGroups", {}, { secret: "not-the-secret" });
    assert.deepEqual([forged.status, forged.body.__type], [400, "InvalidSignatureException"]);
    const wrongTarget = await call(standIn, "DescribeLogGroups", {}, { target: "Logs_20990101.DescribeLogGroups" });
    assert.deepEqual([wrongTarget.status, wrongTarget.body.__type], [400, "UnknownOperationException"]);
    standIn.refuseUntil(Date.now() + 60_000);
    const down = await call(standIn, "DescribeLogGroups", {});
    assert.deepEqual([down.status, down.body.__type], [503, "ServiceUnavailableException"]);
    standIn.refuseUntil(0);
    assert.equal((await call(standIn, "DescribeLogGroups", {})).status, 200);
    assert.ok(standIn.refused().some((r) => r.status === 503));
  });

  test("FilterLogEvents finds a trace's lines by a quoted term, a ?-alternative or a JSON selector, across streams", async () => {
    const group = "/aws/containerinsights/t/application";
    await call(standIn, "CreateLogStream", { logGroupName: group, logStreamName: "other" });
    const now = Date.now();
    await call(standIn, "PutLogEvents", { logGroupName: group, logStreamName: "other", logEvents: [{ timestamp: now + 1, message: '{"msg":"rpc","xray_trace_id":"1-01234567-89abcdef0123456789abcdef"}' }] });
    const byId = await call(standIn, "FilterLogEvents", { logGroupName: group, filterPattern: '?"0123456789abcdef0123456789abcdef" ?"1-01234567-89abcdef0123456789abcdef"' });
    assert.deepEqual((byId.body.events as Array<{ logStreamName: string }>).map((e) => e.logStreamName), ["s", "other"]);
    const json = await call(standIn, "FilterLogEvents", { logGroupName: group, filterPattern: '{ $.msg = "rpc" }' });
    assert.equal((json.body.events as unknown[]).length, 1);
    const paged = await call(standIn, "FilterLogEvents", { logGroupName: group, limit: 1 });
    assert.ok(paged.body.nextToken, "a next page");
    const rest = await call(standIn, "FilterLogEvents", { logGroupName: group, nextToken: paged.body.nextToken });
    assert.equal((rest.body.events as unknown[]).length, 2);
  });

  test("filter patterns: terms are ANDed, -terms excluded, unsupported JSON patterns refused", () => {
    assert.ok(matchesFilterPattern('ERROR "trace 1"', "an ERROR in trace 1"));
    assert.ok(!matchesFilterPattern("ERROR -health", "ERROR on /health"));
    assert.ok(matchesFilterPattern('{ $.a.b = "x*" }', '{"a":{"b":"xyz"}}'));
    assert.ok(!matchesFilterPattern('{ $.a != "x" }', '{"a":"x"}'));
    assert.throws(() => matchesFilterPattern("{ $.a > 3 }", "{}"), /Invalid filter pattern/);
  });

  test("a journaled store replays itself: a restarted stand-in keeps what it had accepted", () => {
    const journal = path.join(dir, "journal.jsonl");
    const first = new CloudWatchLogsStore(journal);
    first.call("CreateLogGroup", { logGroupName: "g" });
    first.call("CreateLogStream", { logGroupName: "g", logStreamName: "s" });
    first.call("PutLogEvents", { logGroupName: "g", logStreamName: "s", logEvents: [{ timestamp: Date.now(), message: "kept" }] });
    fs.appendFileSync(journal, '{"op":"events","gro');
    const second = new CloudWatchLogsStore(journal);
    assert.deepEqual(second.events("g").map((e) => e.message), ["kept"]);
    assert.deepEqual(second.layout(), { g: ["s"] });
  });
});
