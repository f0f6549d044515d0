// From a trace to its logs and its error, against the recording stand-in the CI cluster runs (CloudWatch Logs over
// HTTPS with its own CA, Rollbar's item API and RQL): the real AWS SDK signs every CloudWatch Logs call, as
// `tracemesh trace` and `tracemesh setup cloudwatch` make them against AWS. Then the verifier's logs checks, each
// shown to fail when its story breaks.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand, type CloudWatchLogsClient } from "@aws-sdk/client-cloudwatch-logs";
import { RECORDED_FILES, STAND_IN_AWS_CREDENTIALS, startRecordingStandIn, type RecordingStandIn, type RollbarItemRecord } from "@tracemesh/devkit";
import { spansFromOtlpFiles } from "@tracemesh/trace-model";
import { applicationLogGroup, cloudWatchSetupPlan, makeCloudWatchLogsClient, setupCloudWatch } from "../src/cloudwatch-logs.js";
import { lookUpTrace, normalizeTraceId, renderTrace } from "../src/trace.js";
import { verifyLogs } from "../src/verify-logs.js";

const TRACE = "5759e988bd862e3fe1be46a994272793";
const OTHER = "0af7651916cd43dd8448eb211c80319c";
const GROUP = applicationLogGroup("kind");
const NODE = "tracemesh-ci";
const stream = (pod: string, container: string) => `${NODE}-application.var.log.containers.${pod}_tracemesh_${container}-${"ab".repeat(32)}.log`;
const PODS: Record<string, string> = { api: "api-5c5687b865-dmhsg", users: "users-5cd5cffbd5-mq5rj", activities: "activities-bdcd5bf45-jf2bb", notifications: "notifications-669b95556c-qqjj6", moderation: "moderation-cfdb49f77-6cwnx" };

/** A merged line as Fluent Bit sends it: pino's fields, the CRI fields, the pod's metadata. */
function line(container: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ time: new Date().toISOString(), stream: "stdout", _p: "F", level: "info", service: container, ...fields, kubernetes: { pod_name: PODS[container], namespace_name: "tracemesh", container_name: container } });
}

/** api's 500 for TRACE and a 201 for OTHER, as the Collector's file exporter writes them. */
function writeSpans(file: string): void {
  const now = BigInt(Date.now()) * 1_000_000n;
  const span = (trace: string, id: string, parent: string, name: string, kind: number, status: number, httpStatus?: number) => ({
    traceId: trace,
    spanId: id,
    parentSpanId: parent,
    name,
    kind,
    startTimeUnixNano: String(now),
    endTimeUnixNano: String(now + 20_000_000n),
    status: { code: status },
    attributes: [
      ...(httpStatus ? [{ key: "http.response.status_code", value: { intValue: httpStatus } }, { key: "http.route", value: { stringValue: "/api/activities" } }] : []),
    ],
  });
  const resource = (service: string, spans: unknown[]) => ({ resource: { attributes: [{ key: "service.name", value: { stringValue: service } }] }, scopeSpans: [{ spans }] });
  fs.writeFileSync(
    file,
    JSON.stringify({
      resourceSpans: [
        resource("api", [span(TRACE, "a000000000000001", "", "POST /api/activities", 2, 2, 500), span(OTHER, "b000000000000001", "", "POST /api/activities", 2, 0, 201)]),
        resource("activities", [span(TRACE, "a000000000000002", "a000000000000001", "tracemesh.v1.ActivitiesService/CreateActivity", 2, 2)]),
      ],
    }) + "\n",
  );
}

describe("tracemesh trace / setup cloudwatch / verify's logs checks (recording stand-in, real AWS SDK)", { timeout: 60_000 }, () => {
  let dir: string;
  let standIn: RecordingStandIn;
  let client: CloudWatchLogsClient;
  let spansFile: string;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "logs-cli-"));
    standIn = await startRecordingStandIn({ dir, host: "127.0.0.1", port: 0, cloudwatchLogsPort: 0, rollbarToken: "post-token", rollbarReadToken: "read-token" });
    client = makeCloudWatchLogsClient({
      region: "us-east-1",
      endpoint: `https://127.0.0.1:${standIn.cloudwatchLogsPort}`,
      caFile: path.join(dir, RECORDED_FILES.tls, "ca.pem"),
      credentials: STAND_IN_AWS_CREDENTIALS,
    });
    spansFile = path.join(dir, "traces.jsonl");
    writeSpans(spansFile);
    // What Fluent Bit does: group, streams, then batches of merged lines.
    await client.send(new CreateLogGroupCommand({ logGroupName: GROUP }));
    const put = async (container: string, records: Array<Record<string, unknown>>) => {
      await client.send(new CreateLogStreamCommand({ logGroupName: GROUP, logStreamName: stream(PODS[container]!, container) })).catch(() => undefined);
      await client.send(new PutLogEventsCommand({ logGroupName: GROUP, logStreamName: stream(PODS[container]!, container), logEvents: records.map((r) => ({ timestamp: Date.now(), message: line(container, r) })) }));
    };
    await put("api", [
      { level: "error", msg: "request", method: "POST", route: "/api/activities", path: "/api/activities", status: 500, duration_ms: 12.5, trace_id: TRACE, span_id: "a000000000000001" },
      { msg: "request", method: "POST", route: "/api/activities", status: 201, trace_id: OTHER, span_id: "b000000000000001" },
    ]);
    await put("activities", [{ level: "error", msg: "rpc", rpc: "/tracemesh.v1.ActivitiesService/CreateActivity", code: "INTERNAL", duration_ms: 3, trace_id: TRACE, span_id: "a000000000000002" }]);
    await put("users", [{ msg: "rpc", rpc: "/tracemesh.v1.UsersService/Authenticate", code: "OK", trace_id: OTHER, span_id: "c000000000000001" }]);
    await put("notifications", [{ msg: "consuming events" }]);
    await put("moderation", [{ msg: "request", method: "POST", path: "/v1/check", status: 200, trace_id: OTHER, xray_trace_id: "1-0af76519-16cd43dd8448eb211c80319c" }]);
    // api reports its 500 to Rollbar, with the trace's ids as custom data.
    const item = await fetch(`http://127.0.0.1:${standIn.port}/api/1/item/`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-rollbar-access-token": "post-token" },
      body: JSON.stringify({ data: { level: "error", body: { trace: { exception: { class: "HttpError", message: "internal error" }, frames: [] } }, custom: { service: "api", trace_id: TRACE, span_id: "a000000000000001" } } }),
    });
    assert.equal(item.status, 200);
  });
  after(async () => {
    await standIn.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("tracemesh trace: the waterfall with the trace's lines under their spans, and its Rollbar item", async () => {
    const view = await lookUpTrace({ traceId: TRACE, otlpFiles: [spansFile], logs: { client, logGroup: GROUP }, rollbar: { readToken: "read-token", apiUrl: `http://127.0.0.1:${standIn.port}/api/1/` } });
    assert.deepEqual(view.logs.map((l) => l.record?.msg).sort(), ["request", "rpc"], "only this trace's lines (FilterLogEvents on its id)");
    assert.equal(view.rollbar.length, 1);
    const text = renderTrace(view, { width: 140 });
    assert.match(text, /── Trace 5759e988bd862e3fe1be46a994272793 \(X-Ray 1-5759e988-bd862e3fe1be46a994272793\): 2 spans across api, activities \(2 with ERROR status\); 2 log lines from api, activities; 1 Rollbar occurrence/);
    const rows = text.split("\n");
    const apiRow = rows.findIndex((r) => /^api POST \/api\/activities/.test(r));
    const apiLog = rows.findIndex((r) => r.includes("↳ api: request · POST /api/activities · 500 · 12.5 ms"));
    const rpcRow = rows.findIndex((r) => /^ {2}activities tracemesh\.v1\.ActivitiesService\/CreateActiv/.test(r));
    const rpcLog = rows.findIndex((r) => r.includes("↳ activities: rpc · /tracemesh.v1.ActivitiesService"));
    assert.ok(apiRow >= 0 && apiLog > apiRow && rpcRow > apiLog && rpcLog > rpcRow, `each line under its span:\n${text}`);
    assert.match(rows[apiLog]!, /ERROR +\|\s*▲/);
    // A line the label column cuts is shown whole below it.
    assert.match(rows[rpcLog + 1]!, /^ {6}rpc · \/tracemesh\.v1\.ActivitiesService\/CreateActivity · INTERNAL · 3 ms$/);
    assert.match(text, /── Rollbar\n {2}item #1 \(error\) HttpError: internal error — api, span a000000000000001/);
    // Either spelling of the id.
    assert.equal(normalizeTraceId("1-5759e988-bd862e3fe1be46a994272793"), TRACE);
  });

  test("a line written by moderation with only its X-Ray id is found too; an unknown id finds nothing", async () => {
    const other = await lookUpTrace({ traceId: OTHER, otlpFiles: [], logs: { client, logGroup: GROUP } });
    assert.deepEqual(other.logs.map((l) => (l.record?.kubernetes as { container_name: string }).container_name).sort(), ["api", "moderation", "users"]);
    const none = await lookUpTrace({ traceId: "f".repeat(32), otlpFiles: [], logs: { client, logGroup: GROUP } });
    assert.equal(none.logs.length, 0);
  });

  test("setup cloudwatch: PutQueryDefinition creates the saved query once, then updates it", async () => {
    const plan = cloudWatchSetupPlan(GROUP);
    assert.match(plan.queryString, /filter trace_id = "TRACE_ID" or xray_trace_id = "TRACE_ID"/);
    const first = await setupCloudWatch(plan, client);
    const second = await setupCloudWatch(plan, client);
    assert.deepEqual([first.action, second.action], ["created", "updated"]);
    assert.equal(first.queryDefinitionId, second.queryDefinitionId);
  });

  test("verify: every service's pods logged, request lines carry exported trace ids, the error trace has its line and item", () => {
    const journal = path.join(dir, RECORDED_FILES.cloudwatchLogs);
    const items = fs.readFileSync(path.join(dir, RECORDED_FILES.rollbar), "utf8").trim().split("\n").map((l) => JSON.parse(l) as RollbarItemRecord);
    const spans = spansFromOtlpFiles([spansFile]);
    const checks = verifyLogs({ journal, rollbarItems: items, spans, namespace: "tracemesh", graceMs: -60_000 });
    assert.deepEqual(checks.map((c) => [c.ok, c.detail]).filter(([ok]) => !ok), [], JSON.stringify(checks, null, 2));
    assert.equal(checks.length, 3);
    // Each fails when its story breaks.
    const noItem = verifyLogs({ journal, rollbarItems: [], spans, namespace: "tracemesh", graceMs: -60_000 });
    assert.equal(noItem[2]!.ok, false);
    const unexported = verifyLogs({ journal, rollbarItems: items, spans: spans.filter((s) => s.traceId === TRACE), namespace: "tracemesh", graceMs: -60_000 });
    assert.equal(unexported[1]!.ok, false, unexported[1]!.detail);
    assert.match(unexported[1]!.detail, /^2 of 5 \(40\.00 %\)/);
    const otherNamespace = verifyLogs({ journal, rollbarItems: items, spans, namespace: "elsewhere", graceMs: -60_000 });
    assert.equal(otherNamespace[0]!.ok, false);
  });

  test("the journal outlives the stand-in: a restarted one answers FilterLogEvents from it; the outage file makes it refuse", async () => {
    await standIn.stop();
    standIn = await startRecordingStandIn({ dir, host: "127.0.0.1", port: 0, cloudwatchLogsPort: 0, rollbarToken: "post-token", rollbarReadToken: "read-token" });
    client = makeCloudWatchLogsClient({ region: "us-east-1", endpoint: `https://127.0.0.1:${standIn.cloudwatchLogsPort}`, caFile: path.join(dir, RECORDED_FILES.tls, "ca.pem"), credentials: STAND_IN_AWS_CREDENTIALS });
    const again = await lookUpTrace({ traceId: TRACE, otlpFiles: [], logs: { client, logGroup: GROUP } });
    assert.equal(again.logs.length, 2, "the same CA (reused) and the same events");
    fs.writeFileSync(path.join(dir, RECORDED_FILES.cloudwatchLogsOutage), "");
    const down = await lookUpTrace({ traceId: TRACE, otlpFiles: [], logs: { client, logGroup: GROUP } });
    assert.match(down.sources.logs, /ServiceUnavailableException/);
    fs.rmSync(path.join(dir, RECORDED_FILES.cloudwatchLogsOutage));
  });
});
