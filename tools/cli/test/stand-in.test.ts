// The recording stand-in the CI cluster sends to instead of Honeycomb and X-Ray: it must refuse what the real
// APIs refuse and record exactly what they accepted, in the files `tracemesh verify` reads. The X-Ray side is
// driven by the real AWS SDK (SigV4-signed PutTraceSegments), the Honeycomb side by OTLP/JSON over fetch.
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { PutTraceSegmentsCommand, XRayClient } from "@aws-sdk/client-xray";
import { RECORDED_FILES, STAND_IN_AWS_CREDENTIALS, signSigV4, startRecordingStandIn, type RecordingStandIn } from "@tracemesh/devkit";

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
  const xray = (credentials = STAND_IN_AWS_CREDENTIALS, more: { region?: string; systemClockOffset?: number } = {}) =>
    new XRayClient({ region: more.region ?? "us-east-1", endpoint: base, credentials, maxAttempts: 1, systemClockOffset: more.systemClockOffset });

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

  test("X-Ray: a forged, stale, other-region, other-service or unknown-key signature is answered 403 as AWS answers it", async () => {
    type AwsError = Error & { $metadata?: { httpStatusCode?: number }; $response?: { headers?: Record<string, string> } };
    const put = new PutTraceSegmentsCommand({ TraceSegmentDocuments: [JSON.stringify(segment)] });
    // The real SDK reads AWS's error from the answer: its name from x-amzn-ErrorType, its message from the body.
    const refusedBySdk = async (client: XRayClient, name: string, message: RegExp) =>
      assert.rejects(client.send(put), (err: AwsError) => {
        assert.equal(err.$metadata?.httpStatusCode, 403);
        assert.equal(err.name, name);
        assert.match(err.message, message);
        return true;
      });
    await refusedBySdk(xray({ ...STAND_IN_AWS_CREDENTIALS, secretAccessKey: "forged" }), "InvalidSignatureException", /^The request signature we calculated does not match/);
    await refusedBySdk(xray(STAND_IN_AWS_CREDENTIALS, { systemClockOffset: -20 * 60_000 }), "InvalidSignatureException", /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
    await refusedBySdk(xray(STAND_IN_AWS_CREDENTIALS, { region: "eu-west-1" }), "InvalidSignatureException", /^Credential should be scoped to a valid region, not 'eu-west-1'\. $/);
    await refusedBySdk(xray({ ...STAND_IN_AWS_CREDENTIALS, accessKeyId: "AKIDUNKNOWN000000000" }), "UnrecognizedClientException", /^The security token included in the request is invalid\.$/);

    const body = Buffer.from(JSON.stringify({ TraceSegmentDocuments: [JSON.stringify(segment)] }));
    const url = `${base}/TraceSegments`;
    const raw = (headers: Record<string, string>) =>
      fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(5000) }).then(async (r) => ({
        status: r.status,
        type: r.headers.get("x-amzn-errortype"),
        body: (await r.json()) as Record<string, unknown>,
      }));
    const signedFor = (service: string) =>
      signSigV4({ method: "POST", url, headers: { "content-type": "application/json" }, body, service, region: "us-east-1", credentials: STAND_IN_AWS_CREDENTIALS });
    const otherService = await raw(signedFor("logs"));
    assert.deepEqual(otherService, { status: 403, type: "InvalidSignatureException:http://internal.amazon.com/coral/com.amazon.coral.service/", body: { message: "Credential should be scoped to correct service: 'xray'. " } });
    // A well-formed header with a made-up signature (what collector-config.test.ts once sent and got 200 for).
    const good = signedFor("xray");
    const forged = await raw({ ...good, authorization: good.authorization!.replace(/Signature=[0-9a-f]{64}/, `Signature=${"a".repeat(64)}`) });
    assert.equal(forged.status, 403);
    assert.match(forged.type ?? "", /^InvalidSignatureException:/);
    assert.match(String(forged.body.message), /^The request signature we calculated does not match the signature you provided\./);
    const unsigned = await raw({ "content-type": "application/json" });
    assert.deepEqual([unsigned.status, unsigned.body], [403, { message: "Missing Authentication Token" }]);
    assert.equal((await raw(good)).status, 200, "the same request, signed");
    const docs = fs.readFileSync(path.join(dir, RECORDED_FILES.xray), "utf8").trim().split("\n");
    assert.equal(docs.length, 2, "only the two accepted puts were recorded");
  });
});
