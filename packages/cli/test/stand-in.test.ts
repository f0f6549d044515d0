// The recording stand-in the CI cluster sends to instead of Honeycomb and X-Ray: it must refuse what the real
// APIs refuse and record exactly what they accepted, in the files `tracemesh verify` reads. The X-Ray side is
// driven by the real AWS SDK (SigV4-signed PutTraceSegments), the Honeycomb side by OTLP/JSON over fetch.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { PutTraceSegmentsCommand, XRayClient } from "@aws-sdk/client-xray";
import { RECORDED_FILES, STAND_IN_AWS_CREDENTIALS, startRecordingStandIn, type RecordingStandIn } from "@tracemesh/devkit";

const TRACE = "6b05d746dbc542b7fb21e379eb25bd97";
const otlpBody = JSON.stringify({
  resourceSpans: [
    {
      resource: { attributes: [{ key: "service.name", value: { stringValue: "api" } }] },
      scopeSpans: [{ spans: [{ traceId: TRACE, spanId: "aaaaaaaaaaaa0001", name: "GET", kind: 2, startTimeUnixNano: "1700000000000000000", endTimeUnixNano: "1700000000010000000" }] }],
    },
  ],
});
const segment = { name: "api", id: "aaaaaaaaaaaa0001", trace_id: "1-6b05d746-dbc542b7fb21e379eb25bd97", start_time: 1700000000, end_time: 1700000000.01 };

describe("tracemesh stand-in (Honeycomb + X-Ray, recorded to files)", () => {
  let dir: string;
  let standIn: RecordingStandIn;
  let base: string;
  const xray = (credentials = STAND_IN_AWS_CREDENTIALS) =>
    new XRayClient({ region: "us-east-1", endpoint: base, credentials, maxAttempts: 1 });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "stand-in-"));
    standIn = await startRecordingStandIn({ dir, host: "127.0.0.1", port: 0, honeycombApiKey: "ci-key" });
    base = `http://127.0.0.1:${standIn.port}`;
  });
  after(async () => {
    await standIn.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("Honeycomb: a wrong key is refused (401), an export with the key is recorded with its trace ids", async () => {
    const send = (key: string) =>
      fetch(`${base}/v1/traces`, { method: "POST", headers: { "content-type": "application/json", "x-honeycomb-team": key }, body: otlpBody, signal: AbortSignal.timeout(5000) });
    assert.equal((await send("wrong")).status, 401);
    assert.equal((await send("ci-key")).status, 200);
    const records = fs.readFileSync(path.join(dir, RECORDED_FILES.honeycomb), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { spans: number; traceIds: string[] });
    assert.deepEqual(records.map((r) => [r.spans, r.traceIds]), [[1, [TRACE]]]);
  });

  test("X-Ray: the SDK's signed PutTraceSegments is recorded; a wrong secret (bad signature) and a bad document are refused", async () => {
    const ok = await xray().send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: [JSON.stringify(segment)] }));
    assert.deepEqual(ok.UnprocessedTraceSegments, []);
    await assert.rejects(
      xray({ ...STAND_IN_AWS_CREDENTIALS, secretAccessKey: "not-the-secret" }).send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: [JSON.stringify(segment)] })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 403,
    );
    await assert.rejects(
      xray().send(new PutTraceSegmentsCommand({ TraceSegmentDocuments: [JSON.stringify({ ...segment, trace_id: "not-an-id" })] })),
      (err: Error & { $metadata?: { httpStatusCode?: number } }) => err.$metadata?.httpStatusCode === 400 && /trace_id/.test(err.message),
    );
    const docs = fs.readFileSync(path.join(dir, RECORDED_FILES.xray), "utf8").trim().split("\n").map((l) => JSON.parse(l) as { id: string });
    assert.deepEqual(docs.map((d) => d.id), [segment.id], "only the accepted document is recorded");
  });
});
