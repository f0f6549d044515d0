// The local X-Ray stand-in (@tracemesh/devkit, sinks/xray.ts + xray-traces.ts) driven by the real AWS client,
// @aws-sdk/client-xray, as the demo's Collector and `tracemesh compare` drive it: PutTraceSegments, then X-Ray's
// read calls answered from what it accepted — BatchGetTraces (1 to 5 ids, unknown ids unprocessed),
// GetTraceSummaries (time range by trace id or by event, pages with NextToken, the fault/error/partial flags),
// GetServiceGraph (empty, as for a new account: compare then rebuilds the map from the traces) — and the
// refusals X-Ray sends (signature, too many ids, a filter expression the stand-in does not model). AWS cannot be
// reached from here; the documents are the trace model's fixture, a real run's segments.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { BatchGetTracesCommand, GetServiceGraphCommand, GetTraceSummariesCommand, PutTraceSegmentsCommand, XRayClient } from "@aws-sdk/client-xray";
import { STAND_IN_AWS_CREDENTIALS, STAND_IN_AWS_REGION, startXrayStandIn, type XrayStandIn } from "@tracemesh/devkit";
import { graphFromXraySegments, type XraySegment } from "@tracemesh/trace-model";
import { fetchXrayGraph } from "../src/index.js";

const fixtures = join(dirname(require.resolve("@tracemesh/trace-model/package.json")), "test", "fixtures");
const FIXTURE_LINES = readFileSync(join(fixtures, "xray-segments.jsonl"), "utf8").split("\n").filter(Boolean);
const FIXTURE_DOCS = FIXTURE_LINES.map((l) => JSON.parse(l) as XraySegment);
const FIXTURE_TRACES = [...new Set(FIXTURE_DOCS.map((d) => d.trace_id!))];

/** An X-Ray trace id for a time in epoch seconds, numbered. */
const traceIdAt = (seconds: number, n: number) => `1-${Math.floor(seconds).toString(16)}-${n.toString(16).padStart(24, "0")}`;
const segmentId = (n: number) => n.toString(16).padStart(16, "0");

describe("the X-Ray stand-in's API, through @aws-sdk/client-xray", { timeout: 60_000 }, () => {
  let xray: XrayStandIn;
  let client: XRayClient;
  const now = Math.floor(Date.now() / 1000);
  const bounded = () => ({ abortSignal: AbortSignal.timeout(10_000) });

  before(async () => {
    // fetchXrayGraph takes its credentials from the environment, as the CLI does.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: STAND_IN_AWS_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: STAND_IN_AWS_CREDENTIALS.secretAccessKey, AWS_SESSION_TOKEN: "", AWS_PROFILE: "" });
    xray = await startXrayStandIn();
    client = new XRayClient({ region: STAND_IN_AWS_REGION, endpoint: xray.endpoint, credentials: STAND_IN_AWS_CREDENTIALS, maxAttempts: 1 });
    const put = await client.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: FIXTURE_LINES }), bounded());
    assert.deepEqual(put.UnprocessedTraceSegments, []);
  });
  after(async () => {
    client?.destroy();
    await xray?.stop();
  });

  test("BatchGetTraces returns each trace's documents as sent; unknown ids come back unprocessed", async () => {
    const unknown = traceIdAt(now, 0xdead);
    const out = await client.send(new BatchGetTracesCommand({ TraceIds: [FIXTURE_TRACES[0]!, unknown] }), bounded());
    assert.deepEqual(out.UnprocessedTraceIds, [unknown]);
    assert.equal(out.Traces?.length, 1);
    const [trace] = out.Traces!;
    const sent = FIXTURE_DOCS.filter((d) => d.trace_id === FIXTURE_TRACES[0]);
    assert.equal(trace!.Id, FIXTURE_TRACES[0]);
    assert.deepEqual(trace!.Segments!.map((s) => JSON.parse(s.Document!) as XraySegment), sent);
    assert.deepEqual(trace!.Segments!.map((s) => s.Id), sent.map((d) => d.id));
    const start = Math.min(...sent.map((d) => d.start_time));
    const end = Math.max(...sent.map((d) => d.end_time ?? 0));
    assert.equal(trace!.Duration, Math.round((end - start) * 1000) / 1000, "from the first start to the last end");
  });

  test("GetTraceSummaries: by the time in the trace id (the default) or by event time, flags from the documents", async () => {
    // Trace 1 started two hours ago by its id but has a document now; trace 2 is now, with a fault in a subsegment
    // embedded in its segment and a document still in progress.
    const old = traceIdAt(now - 7200, 1);
    const fresh = traceIdAt(now, 2);
    const docs: XraySegment[] = [
      { name: "api", id: segmentId(1), trace_id: old, start_time: now - 1, end_time: now - 0.5 },
      { name: "api", id: segmentId(2), trace_id: fresh, start_time: now - 2, end_time: now - 1.75, subsegments: [{ name: "users", id: segmentId(3), start_time: now - 1.9, end_time: now - 1.8, fault: true }] },
      { name: "notifications", id: segmentId(4), trace_id: fresh, parent_id: segmentId(2), start_time: now - 1.5, in_progress: true },
    ];
    await client.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: docs.map((d) => JSON.stringify(d)) }), bounded());
    const window = { StartTime: new Date((now - 600) * 1000), EndTime: new Date((now + 60) * 1000) };
    const byTraceId = await client.send(new GetTraceSummariesCommand(window), bounded());
    assert.deepEqual(byTraceId.TraceSummaries?.map((s) => s.Id), [fresh], "the old trace's id is outside the window");
    const summary = byTraceId.TraceSummaries![0]!;
    assert.equal(summary.HasFault, true, "the embedded subsegment's fault");
    assert.equal(summary.HasError, false);
    assert.equal(summary.IsPartial, true, "a document in progress");
    assert.equal(summary.ResponseTime, 0.25, "the root segment's");
    const byEvent = await client.send(new GetTraceSummariesCommand({ ...window, TimeRangeType: "Event" }), bounded());
    assert.deepEqual(byEvent.TraceSummaries?.map((s) => s.Id).sort(), [old, fresh].sort(), "by event time the old trace's document counts");
  });

  test("GetTraceSummaries pages with NextToken; every trace once", async () => {
    const ids = Array.from({ length: 230 }, (_, i) => traceIdAt(now + 3600, 0x1000 + i));
    const docs = ids.map((id, i) => JSON.stringify({ name: "api", id: segmentId(0x1000 + i), trace_id: id, start_time: now + 3600, end_time: now + 3600.01 }));
    for (let i = 0; i < docs.length; i += 50) await client.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: docs.slice(i, i + 50) }), bounded());
    const seen: string[] = [];
    let pages = 0;
    let token: string | undefined;
    do {
      const page = await client.send(new GetTraceSummariesCommand({ StartTime: new Date((now + 3500) * 1000), EndTime: new Date((now + 3700) * 1000), NextToken: token }), bounded());
      seen.push(...(page.TraceSummaries ?? []).map((s) => s.Id!));
      token = page.NextToken;
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(seen.sort(), [...ids].sort());
  });

  test("refusals as X-Ray sends them: more than 5 ids, a filter expression, a bad signature; each recorded", async () => {
    const before = xray.rejected().length;
    await assert.rejects(client.send(new BatchGetTracesCommand({ TraceIds: FIXTURE_TRACES.concat(traceIdAt(now, 9)) }), bounded()), (err: Error & { name: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, "InvalidRequestException");
      assert.equal(err.$metadata?.httpStatusCode, 400);
      assert.match(err.message, /1 to 5 trace ids/);
      return true;
    });
    await assert.rejects(
      client.send(new GetTraceSummariesCommand({ StartTime: new Date((now - 60) * 1000), EndTime: new Date(now * 1000), FilterExpression: 'service("api")' }), bounded()),
      /FilterExpression: not modelled/,
    );
    const forged = new XRayClient({ region: STAND_IN_AWS_REGION, endpoint: xray.endpoint, credentials: { ...STAND_IN_AWS_CREDENTIALS, secretAccessKey: "not-the-key" }, maxAttempts: 1 });
    try {
      await assert.rejects(forged.send(new BatchGetTracesCommand({ TraceIds: [FIXTURE_TRACES[0]!] }), bounded()), (err: { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 403);
    } finally {
      forged.destroy();
    }
    assert.equal(xray.rejected().length - before, 3);
  });

  test("compare's live path: GetServiceGraph is empty, so the map comes from the traces and matches the documents'", async () => {
    const graph = await client.send(new GetServiceGraphCommand({ StartTime: new Date(1767261500 * 1000), EndTime: new Date(1767261700 * 1000) }), bounded());
    assert.deepEqual(graph.Services, []);
    const live = await fetchXrayGraph({ region: STAND_IN_AWS_REGION, endpoint: xray.endpoint, start: new Date(1767261500 * 1000), end: new Date(1767261700 * 1000), timeoutMs: 5_000 });
    assert.match(live.via, /BatchGetTraces \(5 traces; GetServiceGraph was empty\)/);
    const offline = graphFromXraySegments(FIXTURE_LINES);
    assert.deepEqual(live.graph.edges.map((e) => [e.from, e.to, e.calls]), offline.edges.map((e) => [e.from, e.to, e.calls]));
    assert.ok(live.graph.edges.length >= 4, `${live.graph.edges.length} edges`);
  });
});

describe("the X-Ray stand-in with a retention (`tracemesh demo --keep-running`)", { timeout: 60_000 }, () => {
  test("whole traces go, the first seen first, once more documents are kept than allowed; the newest still read back", async () => {
    // The fixture's 5 traces hold 17, 6, 6, 3 and 6 documents (38): with room for 20, the oldest trace (17) goes
    // once the second arrives, then the third and fourth whenever the kept ones pass 20 again.
    const xray = await startXrayStandIn({ retention: { maxItems: 20 } });
    const client = new XRayClient({ region: STAND_IN_AWS_REGION, endpoint: xray.endpoint, credentials: STAND_IN_AWS_CREDENTIALS, maxAttempts: 1 });
    try {
      for (const id of FIXTURE_TRACES) {
        const lines = FIXTURE_LINES.filter((_, i) => FIXTURE_DOCS[i]!.trace_id === id);
        await client.send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: lines }), { abortSignal: AbortSignal.timeout(10_000) });
      }
      const out = await client.send(new BatchGetTracesCommand({ TraceIds: FIXTURE_TRACES }), { abortSignal: AbortSignal.timeout(10_000) });
      const kept = out.Traces!.map((t) => t.Id!);
      const total = (ids: string[]) => FIXTURE_DOCS.filter((d) => ids.includes(d.trace_id!)).length;
      assert.ok(total(kept) <= 20, `${total(kept)} documents kept`);
      assert.ok(kept.includes(FIXTURE_TRACES.at(-1)!), "the newest trace is kept");
      assert.ok(out.UnprocessedTraceIds!.includes(FIXTURE_TRACES[0]!), "the oldest trace is gone");
      assert.deepEqual([...kept, ...out.UnprocessedTraceIds!].sort(), [...FIXTURE_TRACES].sort());
      // The record behind xray.segments() is bounded the same way, by whole PutTraceSegments calls.
      const counts = xray.segmentCounts();
      assert.equal(counts.kept + counts.dropped, FIXTURE_DOCS.length);
      assert.ok(counts.kept <= 20 && counts.dropped > 0, JSON.stringify(counts));
      assert.equal(xray.segments().length, counts.kept);
    } finally {
      client.destroy();
      await xray.stop();
    }
  });
});
