// tools: collector
/**
 * The Collector configuration, checked by the real Collector (otelcol-tracemesh, built by
 * scripts/tools/20-collector.sh): `validate` on every Collector config in the repo, then a live run
 * of config.yaml + local.yaml that must deliver spans to the Honeycomb stand-in (with the team
 * header), the X-Ray stand-in (it checks SigV4 and the segment documents as X-Ray does and answers
 * BatchGetTraces from what it accepted; we cannot reach the real SaaS) and the file exporter; and the
 * same with the xray-otlp overlay, which sends to X-Ray's OTLP endpoint instead (the stand-in verifies
 * the SigV4 signature for service xray with the placeholder key and decodes the OTLP protobuf body, as
 * AWS would).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import crypto from "node:crypto";
import dgram from "node:dgram";
import fs from "node:fs";
import path from "node:path";
import {
  STAND_IN_AWS_CREDENTIALS,
  findCollector,
  repoRoot,
  signSigV4,
  standInCollectorEnv,
  startCollector,
  startHoneycombStandIn,
  startRollbarStandIn,
  startXrayStandIn,
  waitFor,
  type HoneycombStandIn,
  type LocalCollector,
  type RollbarStandIn,
  type XrayExporter,
  type XrayStandIn,
} from "@tracemesh/devkit";
import { xrayTraceId } from "@tracemesh/trace-model";

const ROOT = repoRoot();
const BASE = path.join(ROOT, "deploy", "collector", "config.yaml");

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(full) : [full];
  });
}

/**
 * Every Collector config in the repo as the command lines that load it. Candidates: YAML files
 * under deploy/ or charts/ whose path mentions "collector" (deploy/collector/*, the kustomize and
 * Helm copies…), except the builder manifest, Kubernetes manifests (top-level `kind:`) and Helm
 * templates. A file with its own receivers and pipelines is validated alone; an overlay (such as
 * local.yaml or k8s.yaml) on top of deploy/collector/config.yaml, as it is deployed.
 */
function collectorConfigSets(): string[][] {
  const candidates = [...listFiles(path.join(ROOT, "deploy")), ...listFiles(path.join(ROOT, "charts"))]
    .filter((f) => /\.ya?ml$/.test(f) && /collector/i.test(path.relative(ROOT, f)) && path.basename(f) !== "builder.yaml")
    .sort();
  const sets: string[][] = [[BASE]];
  for (const f of candidates) {
    if (f === BASE) continue;
    const text = fs.readFileSync(f, "utf8");
    if (/^(apiVersion|kind):/m.test(text) || text.includes("{{")) continue;
    const standalone = /^receivers:/m.test(text) && /^\s+pipelines:/m.test(text);
    sets.push(standalone ? [f] : [BASE, f]);
  }
  return sets;
}

function validate(configs: string[]): Promise<{ code: number; output: string }> {
  const args = ["validate", ...configs.flatMap((c) => ["--config", c])];
  // K8S_NODE_NAME: the k8s overlay's k8sattributes filter requires it (the DaemonSet sets it). AWS keys
  // (placeholders): the xray-otlp overlay's SigV4 signer resolves credentials when the config loads.
  const env = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    K8S_NODE_NAME: "validate-node",
    AWS_ACCESS_KEY_ID: STAND_IN_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: STAND_IN_AWS_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: "true",
  };
  return new Promise((resolve) => {
    execFile(findCollector(), args, { env, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}

describe("Collector configs validate with the real Collector", { timeout: 120_000 }, () => {
  const sets = collectorConfigSets();

  test("finds the shared config and its overlays", () => {
    const names = sets.map((s) => s.map((f) => path.relative(ROOT, f)).join(" + "));
    assert.ok(names.includes("deploy/collector/config.yaml"), names.join(", "));
    assert.ok(names.includes("deploy/collector/config.yaml + deploy/collector/local.yaml"), names.join(", "));
    assert.ok(names.includes("deploy/collector/config.yaml + deploy/collector/k8s.yaml"), names.join(", "));
    assert.ok(names.includes("deploy/collector/config.yaml + deploy/collector/xray-otlp.yaml"), names.join(", "));
    assert.ok(names.includes("deploy/collector/config.yaml + deploy/collector/file.yaml"), names.join(", "));
  });

  for (const set of sets) {
    const label = set.map((f) => path.relative(ROOT, f)).join(" + ");
    test(`validate ${label}`, async () => {
      const { code, output } = await validate(set);
      assert.equal(code, 0, output);
    });
  }

  test("validate rejects a broken config (the check can fail)", async () => {
    const broken = path.join(fs.mkdtempSync(path.join(ROOT, "tests", ".tmp-")), "broken.yaml");
    fs.writeFileSync(broken, "exporters:\n  otlp_http/honeycomb:\n    endpoint: 42\n    no_such_option: true\n");
    try {
      const { code, output } = await validate([BASE, broken]);
      assert.notEqual(code, 0);
      assert.match(output, /no_such_option/);
    } finally {
      fs.rmSync(path.dirname(broken), { recursive: true, force: true });
    }
  });
});

// ---- live run -----------------------------------------------------------------------------

const HONEYCOMB_KEY = "hc-test-key";

function hex(bytes: number): string {
  return crypto.randomBytes(bytes).toString("hex");
}

/** An X-Ray-style trace id (first 8 hex digits = epoch seconds), as the services' id generator makes. */
function xrayStyleTraceId(): string {
  return Math.floor(Date.now() / 1000).toString(16).padStart(8, "0") + hex(12);
}

function otlpJsonTrace(traceId: string, serverSpanId: string, clientSpanId: string): unknown {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const str = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const int = (key: string, value: number) => ({ key, value: { intValue: String(value) } });
  return {
    resourceSpans: [
      {
        resource: { attributes: [str("service.name", "api"), str("deployment.environment.name", "test")] },
        scopeSpans: [
          {
            scope: { name: "collector-config.test" },
            spans: [
              {
                traceId,
                spanId: serverSpanId,
                name: "GET /api/users/:handle",
                kind: 2,
                startTimeUnixNano: String(nowNs - 50_000_000n),
                endTimeUnixNano: String(nowNs),
                attributes: [
                  str("http.request.method", "GET"),
                  str("http.route", "/api/users/:handle"),
                  str("url.path", "/api/users/ada"),
                  int("http.response.status_code", 200),
                  str("app.user.handle", "ada"),
                  str("enduser.id", "u-1"),
                ],
                status: {},
              },
              {
                traceId,
                spanId: clientSpanId,
                parentSpanId: serverSpanId,
                name: "grpc.tracemesh.v1.UsersService/GetUser",
                kind: 3,
                startTimeUnixNano: String(nowNs - 40_000_000n),
                endTimeUnixNano: String(nowNs - 10_000_000n),
                attributes: [
                  str("rpc.system", "grpc"),
                  str("rpc.service", "tracemesh.v1.UsersService"),
                  str("rpc.method", "GetUser"),
                  str("peer.service", "users"),
                  int("rpc.grpc.status_code", 0),
                ],
                status: {},
              },
            ],
          },
        ],
      },
    ],
  };
}

interface Running {
  honeycomb: HoneycombStandIn;
  xray: XrayStandIn;
  collector: LocalCollector;
}

/** The Honeycomb and X-Ray stand-ins and the real Collector exporting to them, on one X-Ray path. */
async function startStandInsAndCollector(
  xrayExporter: XrayExporter,
  file: { tracesFile?: string; tracesFileRotation?: { maxMegabytes: number; maxBackups: number } } = {},
): Promise<Running> {
  const honeycomb = await startHoneycombStandIn({ apiKey: HONEYCOMB_KEY });
  const xray = await startXrayStandIn();
  const collector = await startCollector({
    xrayExporter,
    env: standInCollectorEnv({ honeycombUrl: honeycomb.url, honeycombKey: HONEYCOMB_KEY, xrayEndpoint: xray.endpoint }),
    ...file,
  });
  return { honeycomb, xray, collector };
}

async function stopStandInsAndCollector(running: Partial<Running>): Promise<void> {
  await running.collector?.stop();
  await running.xray?.stop();
  await running.honeycomb?.stop();
}

/** Sends one server + client span pair to the Collector over OTLP/HTTP (JSON). */
async function sendTrace(collector: LocalCollector, traceId: string, serverSpanId: string, clientSpanId: string): Promise<void> {
  const res = await fetch(`${collector.otlpHttpUrl}/v1/traces`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(otlpJsonTrace(traceId, serverSpanId, clientSpanId)),
    signal: AbortSignal.timeout(5000),
  });
  assert.equal(res.status, 200, await res.text());
}

describe("the Collector delivers to Honeycomb, X-Ray and the file (config.yaml + local.yaml + file.yaml)", { timeout: 180_000 }, () => {
  let honeycomb: HoneycombStandIn;
  let xray: XrayStandIn;
  let collector: LocalCollector;
  const traceId = xrayStyleTraceId();
  const serverSpanId = hex(8);
  const clientSpanId = hex(8);
  const xrayId = xrayTraceId(traceId);

  before(async () => {
    ({ honeycomb, xray, collector } = await startStandInsAndCollector("awsxray"));
  });
  after(() => stopStandInsAndCollector({ honeycomb, xray, collector }));

  test("accepts OTLP/HTTP and answers a browser's CORS preflight", async () => {
    const preflight = await fetch(`${collector.otlpHttpUrl}/v1/traces`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:5173", "access-control-request-method": "POST", "access-control-request-headers": "content-type" },
      signal: AbortSignal.timeout(5000),
    });
    assert.ok(preflight.status === 200 || preflight.status === 204, `preflight ${preflight.status}`);
    assert.equal(preflight.headers.get("access-control-allow-origin"), "http://localhost:5173");

    await sendTrace(collector, traceId, serverSpanId, clientSpanId);
  });

  test("Honeycomb stand-in received the spans, with x-honeycomb-team", async () => {
    const spans = await waitFor(
      "both spans at the Honeycomb stand-in",
      () => {
        const got = honeycomb.spans().filter((s) => s.traceId === traceId);
        return got.length >= 2 && got;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal(honeycomb.rejected(), 0);
    const request = honeycomb.requests().find((r) => r.spans.some((s) => s.traceId === traceId));
    assert.equal(request?.team, HONEYCOMB_KEY);
    assert.equal(request?.contentType, "application/x-protobuf", "the otlp_http exporter sends protobuf");
    const server = spans.find((s) => s.spanId === serverSpanId);
    assert.equal(server?.resource["service.name"], "api");
    assert.ok(server?.resource["host.name"], "resourcedetection (system) added host.name");
    assert.equal(spans.find((s) => s.spanId === clientSpanId)?.parentSpanId, serverSpanId);
  });

  test("X-Ray stand-in received PutTraceSegments with X-Ray trace ids, peer names and annotations", async () => {
    await waitFor(
      "the segment and subsegment at the X-Ray stand-in",
      () => xray.segments().filter((s) => s.trace_id === xrayId).length >= 2,
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.deepEqual(xray.rejected(), []);
    const docs = xray.segments().filter((s) => s.trace_id === xrayId);
    assert.match(xray.puts()[0]!.credentialScope, /\/us-east-1\/xray\/aws4_request$/);
    const segment = docs.find((d) => d.id === serverSpanId);
    assert.ok(segment, JSON.stringify(docs));
    assert.equal(segment.name, "api");
    // indexed_attributes → searchable annotations (v0.143 keeps the dotted keys); enduser.id → the segment's user.
    assert.equal(segment.annotations?.["app.user.handle"], "ada", JSON.stringify(segment));
    assert.equal(segment.annotations?.["http.route"], "/api/users/:handle");
    assert.equal(segment.user, "u-1");
    assert.equal(segment.fault, false);
    const sub = docs.find((d) => d.id === clientSpanId);
    assert.ok(sub, JSON.stringify(docs));
    assert.equal(sub.name, "users", "named after peer.service, not tracemesh.v1.UsersService");
    assert.equal(sub.parent_id, serverSpanId);
    assert.equal(sub.namespace, "remote");

    // Read back through the X-Ray API as the console would (a signed BatchGetTraces to the stand-in), bounded.
    const traces = await waitFor("the trace through BatchGetTraces", async () => {
      const got = await xray.batchGetTraces([xrayId]);
      return got.length > 0 && got;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    assert.equal(traces.length, 1);
    assert.ok(traces[0]!.Segments.some((s) => s.id === serverSpanId));
  });

  test("file exporter wrote the spans as OTLP JSON lines", async () => {
    const spans = await waitFor(
      "both spans in the file",
      () => {
        const got = collector.fileSpans().filter((s) => s.traceId === traceId);
        return got.length >= 2 && got;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.deepEqual(new Set(spans.map((s) => s.spanId)), new Set([serverSpanId, clientSpanId]));
  });

  test("the awsxray receiver takes X-Ray daemon UDP segments and exports them like OTLP spans", async () => {
    const udpTraceId = xrayStyleTraceId();
    const segmentId = hex(8);
    const now = Date.now() / 1000;
    const segment = { name: "legacy-xray-sdk", id: segmentId, trace_id: xrayTraceId(udpTraceId), start_time: now - 0.05, end_time: now };
    const socket = dgram.createSocket("udp4");
    const packet = Buffer.from(`{"format": "json", "version": 1}\n${JSON.stringify(segment)}`);
    await new Promise<void>((resolve, reject) => socket.send(packet, collector.xrayUdpPort, "127.0.0.1", (err) => (err ? reject(err) : resolve())));
    socket.close();
    const span = await waitFor(
      "the UDP segment at the Honeycomb stand-in",
      () => honeycomb.spans().find((s) => s.traceId === udpTraceId),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.equal(span.spanId, segmentId);
    assert.equal(span.resource["service.name"], "legacy-xray-sdk");
  });
});

describe("the traces file rotates when asked (the demo's --keep-running): bounded on disk, the newest spans kept", { timeout: 180_000 }, () => {
  let running: Running;
  let dir: string;
  before(async () => {
    dir = fs.mkdtempSync(path.join(ROOT, "tests", ".tmp-"));
    running = await startStandInsAndCollector("awsxray", { tracesFile: path.join(dir, "traces.jsonl"), tracesFileRotation: { maxMegabytes: 1, maxBackups: 1 } });
  });
  after(async () => {
    await stopStandInsAndCollector(running ?? {});
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("past 1 MB the file is renamed and a new one started; one renamed file is kept; the last trace is in the new file", async () => {
    // 30 exports of 100 spans, each with a 400-byte attribute: about 2.4 MB of OTLP JSON lines in all, so the
    // file rotates at least twice and the older renamed file must be removed.
    const padding = "x".repeat(400);
    const traceIds: string[] = [];
    for (let i = 0; i < 30; i++) {
      const traceId = xrayStyleTraceId();
      traceIds.push(traceId);
      const body = otlpJsonTrace(traceId, hex(8), hex(8)) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: Array<Record<string, unknown>> }> }> };
      const [server, client] = body.resourceSpans[0]!.scopeSpans[0]!.spans;
      body.resourceSpans[0]!.scopeSpans[0]!.spans = Array.from({ length: 100 }, (_, n) => ({
        ...(n === 0 ? server : client),
        spanId: n === 0 ? server!.spanId : hex(8),
        attributes: [...((n === 0 ? server : client)!.attributes as unknown[]), { key: "test.padding", value: { stringValue: padding } }],
      }));
      const res = await fetch(`${running.collector.otlpHttpUrl}/v1/traces`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(res.status, 200, await res.text());
    }
    const lastTrace = traceIds.at(-1)!;
    const files = await waitFor(
      "the last trace in traces.jsonl and exactly one renamed file beside it",
      () => {
        const names = fs.readdirSync(dir).sort();
        const renamed = names.filter((n) => /^traces-.+\.jsonl$/.test(n));
        const current = fs.existsSync(path.join(dir, "traces.jsonl")) ? fs.readFileSync(path.join(dir, "traces.jsonl"), "utf8") : "";
        return renamed.length === 1 && current.includes(lastTrace) && { names, renamed };
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    assert.deepEqual(files.names, [files.renamed[0], "traces.jsonl"].sort(), "nothing else in the folder");
    for (const name of files.names) {
      const size = fs.statSync(path.join(dir, name)).size;
      assert.ok(size <= 1024 * 1024, `${name}: ${size} bytes, over the 1 MB rotation size`);
    }
    const kept = files.names.flatMap((n) => fs.readFileSync(path.join(dir, n), "utf8").split("\n").filter(Boolean));
    const keptTraces = new Set(kept.flatMap((line) => [...line.matchAll(/"traceId":"([0-9a-f]{32})"/g)].map((m) => m[1]!)));
    assert.ok(!keptTraces.has(traceIds[0]!), "the first trace's file was removed");
    assert.ok(keptTraces.size < traceIds.length, `${keptTraces.size} of ${traceIds.length} traces still on disk`);
  });
});

describe("X-Ray's OTLP endpoint instead of PutTraceSegments (config.yaml + local.yaml + xray-otlp.yaml)", { timeout: 180_000 }, () => {
  let honeycomb: HoneycombStandIn;
  let xray: XrayStandIn;
  let collector: LocalCollector;
  const traceId = xrayStyleTraceId();
  const serverSpanId = hex(8);
  const clientSpanId = hex(8);

  before(async () => {
    ({ honeycomb, xray, collector } = await startStandInsAndCollector("otlp_http/xray"));
  });
  after(() => stopStandInsAndCollector({ honeycomb, xray, collector }));

  test("spans reach X-Ray's OTLP endpoint SigV4-signed for xray, as protobuf; no PutTraceSegments; Honeycomb unchanged", async () => {
    await sendTrace(collector, traceId, serverSpanId, clientSpanId);
    const spans = await waitFor(
      "both spans at X-Ray's OTLP endpoint",
      () => {
        const got = xray.otlpSpans().filter((s) => s.traceId === traceId);
        return got.length >= 2 && got;
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    assert.deepEqual(xray.rejected(), [], "the stand-in verified every signature and body");
    const exports = xray.otlpExports().filter((e) => e.spans.some((s) => s.traceId === traceId));
    for (const e of exports) assert.match(e.credentialScope, /^\d{8}\/us-east-1\/xray\/aws4_request$/);
    // The exporter's default gzip: the signature covers the compressed bytes, as AWS verifies them.
    assert.ok(exports.every((e) => e.contentEncoding === "gzip"), JSON.stringify(exports.map((e) => e.contentEncoding)));
    assert.equal(spans.find((s) => s.spanId === clientSpanId)?.parentSpanId, serverSpanId);
    assert.equal(spans.find((s) => s.spanId === clientSpanId)?.attributes["peer.service"], "users");
    assert.equal(spans.find((s) => s.spanId === serverSpanId)?.resource["service.name"], "api");
    assert.deepEqual(xray.puts(), [], "the awsxray exporter is not in the pipeline");
    await waitFor("both spans at the Honeycomb stand-in", () => honeycomb.spans().filter((s) => s.traceId === traceId).length >= 2, { timeoutMs: 20_000, intervalMs: 200 });
    await waitFor("both spans in the file", () => collector.fileSpans().filter((s) => s.traceId === traceId).length >= 2, { timeoutMs: 20_000, intervalMs: 200 });
  });
});

describe("the SaaS stand-ins refuse what the real APIs refuse", { timeout: 60_000 }, () => {
  let honeycomb: HoneycombStandIn;
  let xray: XrayStandIn;
  let rollbar: RollbarStandIn;
  before(async () => {
    [honeycomb, xray, rollbar] = await Promise.all([
      startHoneycombStandIn({ apiKey: HONEYCOMB_KEY }),
      startXrayStandIn(),
      startRollbarStandIn({ accessToken: "rb-token" }),
    ]);
  });
  after(async () => {
    await Promise.all([honeycomb?.stop(), xray?.stop(), rollbar?.stop()]);
  });
  const post = (url: string, headers: Record<string, string>, body: string) =>
    fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(5000) }).then(async (r) => ({ status: r.status, text: await r.text() }));

  test("Honeycomb: 401 without or with a wrong x-honeycomb-team, 200 with it", async () => {
    const body = JSON.stringify(otlpJsonTrace(xrayStyleTraceId(), hex(8), hex(8)));
    const json = { "content-type": "application/json" };
    assert.equal((await post(`${honeycomb.url}/v1/traces`, json, body)).status, 401);
    assert.equal((await post(`${honeycomb.url}/v1/traces`, { ...json, "x-honeycomb-team": "wrong" }, body)).status, 401);
    assert.equal((await post(`${honeycomb.url}/v1/traces`, { ...json, "x-honeycomb-team": HONEYCOMB_KEY }, body)).status, 200);
    assert.equal(honeycomb.spans().length, 2);
  });

  test("X-Ray: 403 unsigned or with a forged signature, 400 for a document without a valid trace id, 200 signed", async () => {
    const now = Date.now() / 1000;
    const doc = (traceId: string) => JSON.stringify({ TraceSegmentDocuments: [JSON.stringify({ name: "api", id: hex(8), trace_id: traceId, start_time: now, end_time: now })] });
    const url = `${xray.endpoint}/TraceSegments`;
    const signed = (body: string) =>
      signSigV4({ method: "POST", url, headers: { "content-type": "application/json" }, body: Buffer.from(body), service: "xray", region: "us-east-1", credentials: STAND_IN_AWS_CREDENTIALS });
    const good = doc(`1-${Math.floor(now).toString(16)}-${hex(12)}`);
    assert.equal((await post(url, { "content-type": "application/json" }, good)).status, 403);
    // A well-formed header whose signature was made up (this test once showed such a request answered 200).
    const headers = signed(good);
    const forged = await post(url, { ...headers, authorization: headers.authorization!.replace(/Signature=[0-9a-f]{64}/, `Signature=${"a".repeat(64)}`) }, good);
    assert.equal(forged.status, 403, forged.text);
    assert.match(forged.text, /signature we calculated does not match/);
    const badId = doc(hex(16));
    assert.equal((await post(url, signed(badId), badId)).status, 400);
    const ok = await post(url, signed(good), good);
    assert.equal(ok.status, 200, ok.text);
    assert.deepEqual(JSON.parse(ok.text), { UnprocessedTraceSegments: [] });
  });

  test("X-Ray OTLP endpoint: 403 unsigned, for another service or with a wrong signature; 415 for JSON; 200 signed protobuf", async () => {
    const url = `${xray.endpoint}/v1/traces`;
    const sign = (body: Buffer, contentType: string, service = "xray") =>
      signSigV4({ method: "POST", url, headers: { "content-type": contentType }, body, service, region: "us-east-1", credentials: STAND_IN_AWS_CREDENTIALS });
    const send = (headers: Record<string, string>, body: Buffer) =>
      fetch(url, { method: "POST", headers, body, signal: AbortSignal.timeout(5000) }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const empty = Buffer.alloc(0); // an ExportTraceServiceRequest with no spans, in protobuf
    const protobuf = "application/x-protobuf";
    assert.equal((await send({ "content-type": protobuf }, empty)).status, 403);
    assert.match((await send(sign(empty, protobuf, "logs"), empty)).text, /Credential should be scoped to correct service: 'xray'/);
    const tampered = await send(sign(Buffer.from("a"), protobuf), Buffer.from("b"));
    assert.equal(tampered.status, 403);
    assert.match(tampered.text, /signature we calculated does not match/);
    const wrongKey = signSigV4({ method: "POST", url, headers: { "content-type": protobuf }, body: empty, service: "xray", region: "us-east-1", credentials: { ...STAND_IN_AWS_CREDENTIALS, secretAccessKey: "other" } });
    assert.equal((await send(wrongKey, empty)).status, 403);
    const json = Buffer.from("{}");
    assert.equal((await send(sign(json, "application/json"), json)).status, 415);
    const ok = await send(sign(empty, protobuf), empty);
    assert.equal(ok.status, 200, ok.text);
  });

  test("Rollbar: 401 without a token, 403 with a wrong one, 422 without data.body", async () => {
    const item = JSON.stringify({ data: { body: { message: { body: "hello" } }, level: "error" } });
    assert.equal((await post(rollbar.endpoint, { "content-type": "application/json" }, item)).status, 401);
    assert.equal((await post(rollbar.endpoint, { "x-rollbar-access-token": "nope" }, item)).status, 403);
    assert.equal((await post(rollbar.endpoint, { "x-rollbar-access-token": "rb-token" }, JSON.stringify({ data: {} }))).status, 422);
    assert.equal((await post(rollbar.endpoint, { "x-rollbar-access-token": "rb-token" }, item)).status, 200);
    assert.equal(rollbar.items().length, 1);
  });
});
