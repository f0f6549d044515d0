// The service graphs and their comparison on fixtures that follow the real formats: test/fixtures/otlp.jsonl is what the Collector's file exporter
// writes (OTLP/JSON, one ExportTraceServiceRequest per line) and test/fixtures/xray-segments.jsonl what the awsxray
// exporter v0.143.0 sends for the same spans (see test/fixtures/generate.mjs, which regenerates both). The X-Ray
// side holds one trace fewer, as if X-Ray's sampling had kept less.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import {
  compareGraphs,
  graphFromOtlp,
  graphFromSpans,
  graphFromXrayFiles,
  graphFromXraySegments,
  spansFromRequest,
  type ServiceGraph,
  type XraySegment,
} from "../src/index.js";

const fixtures = join(__dirname, "..", "..", "test", "fixtures");
const otlpFile = join(fixtures, "otlp.jsonl");
const xrayFile = join(fixtures, "xray-segments.jsonl");
const scratch = mkdtempSync(join(tmpdir(), "tracemesh-trace-model-"));
after(() => rmSync(scratch, { recursive: true, force: true }));

const edgeNames = (g: ServiceGraph): string[] => g.edges.map((e) => `${e.from} -> ${e.to}`);
const edge = (g: ServiceGraph, from: string, to: string) => {
  const found = g.edges.find((e) => e.from === from && e.to === to);
  assert.ok(found, `edge ${from} -> ${to} in ${edgeNames(g).join(", ")}`);
  return found;
};

describe("graph from OTLP", { timeout: 30_000 }, () => {
  const g = graphFromOtlp([otlpFile]);

  test("edges go from a client span's service to the service of the span answering it", { timeout: 5_000 }, () => {
    assert.deepEqual(edgeNames(g), [
      "activities -> notifications",
      "activities -> redis",
      "activities -> users",
      "api -> activities",
      "api -> users",
      "loadgen -> api",
      "notifications -> redis",
      "users -> redis",
    ]);
    assert.equal(g.traceCount, 6);
    assert.equal(g.nodes.find((n) => n.name === "redis")?.inferred, true);
    assert.equal(g.nodes.find((n) => n.name === "users")?.inferred, false);
  });

  test("counts, failures as X-Ray classifies them, and client-side latency", { timeout: 5_000 }, () => {
    const loadgen = edge(g, "loadgen", "api");
    assert.equal(loadgen.calls, 6);
    assert.equal(loadgen.errors, 1); // the 404
    assert.equal(loadgen.faults, 1); // the 500
    const users = edge(g, "api", "users");
    assert.equal(users.calls, 2);
    assert.equal(users.faults, 1); // gRPC NOT_FOUND: ERROR status without an HTTP status → fault
    assert.equal(users.p50Ms, 4);
    assert.equal(users.p99Ms, 6);
    // the Redis read without peer.service is still named redis through db.system.name
    assert.equal(edge(g, "activities", "redis").calls, 5);
  });

  test("the async hop is a PRODUCER → CONSUMER edge, noted as child and link", { timeout: 5_000 }, () => {
    const hop = edge(g, "activities", "notifications");
    assert.equal(hop.calls, 1);
    assert.match(hop.notes.join("\n"), /async hop: PRODUCER .* CONSUMER span "process tracemesh:events" .*\(child and link\)/);
  });

  test("enum names and base64 ids as a generic protobuf-JSON writer would give them are accepted", { timeout: 5_000 }, () => {
    const spans = spansFromRequest({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "api" } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: Buffer.from("0123456789abcdef0123456789abcdef", "hex").toString("base64"),
                  spanId: Buffer.from("0123456789abcdef", "hex").toString("base64"),
                  name: "GET",
                  kind: "SPAN_KIND_CLIENT",
                  startTimeUnixNano: "1000000",
                  endTimeUnixNano: "3000000",
                  attributes: [{ key: "peer.service", value: { stringValue: "users" } }],
                  status: { code: "STATUS_CODE_ERROR" },
                },
              ],
            },
          ],
        },
      ],
    });
    assert.equal(spans[0].traceId, "0123456789abcdef0123456789abcdef");
    assert.equal(spans[0].kind, "CLIENT");
    const g2 = graphFromSpans(spans);
    assert.deepEqual(edgeNames(g2), ["api -> users"]);
    assert.equal(g2.edges[0].faults, 1);
    assert.equal(g2.edges[0].p50Ms, 2);
  });
});

describe("graph from X-Ray segment documents", { timeout: 30_000 }, () => {
  const g = graphFromXrayFiles([xrayFile]);

  test("names and nesting follow the exporter: consumer segment by span name, inferred redis", { timeout: 5_000 }, () => {
    assert.deepEqual(edgeNames(g), [
      "activities -> process tracemesh:events",
      "activities -> redis",
      "activities -> users",
      "activities -> zrevrange",
      "api -> activities",
      "api -> users",
      "flow boom -> api",
      "flow home-feed -> api",
      "flow post-with-mention -> api",
      "flow profile -> api",
      "process tracemesh:events -> redis",
      "users -> redis",
    ]);
    const inferred = g.nodes.filter((n) => n.inferred).map((n) => n.name);
    assert.deepEqual(inferred, ["redis", "zrevrange"]);
    assert.equal(g.nodes.find((n) => n.name === "process tracemesh:events")?.serviceName, "notifications");
    assert.equal(g.traceCount, 5);
  });

  test("faults and errors come from the client subsegment flags", { timeout: 5_000 }, () => {
    const users = edge(g, "api", "users");
    assert.equal(users.faults, 1);
    assert.equal(edge(g, "flow boom", "api").faults, 1);
    assert.equal(edge(g, "flow profile", "api").errors, 1);
  });

  test("BatchGetTraces output with embedded subsegments gives the same edges", { timeout: 5_000 }, () => {
    const traceId = "1-695645a1-000000000000000000abc009";
    const api: XraySegment = {
      name: "api",
      id: "aaaaaaaaaaaa2001",
      trace_id: traceId,
      start_time: 1767261601,
      end_time: 1767261601.02,
      subsegments: [
        {
          name: "tracemesh.v1.UsersService",
          id: "aaaaaaaaaaaa2002",
          start_time: 1767261601.001,
          end_time: 1767261601.011,
          namespace: "remote",
          subsegments: [],
        },
      ],
    };
    const users: XraySegment = {
      name: "users",
      id: "aaaaaaaaaaaa2003",
      trace_id: traceId,
      parent_id: "aaaaaaaaaaaa2002",
      start_time: 1767261601.002,
      end_time: 1767261601.009,
    };
    const file = join(scratch, "batch.json");
    writeFileSync(
      file,
      JSON.stringify({
        Traces: [{ Id: traceId, Duration: 0.02, Segments: [api, users].map((d) => ({ Id: d.id, Document: JSON.stringify(d) })) }],
        UnprocessedTraceIds: [],
      }),
    );
    const g2 = graphFromXrayFiles([file]);
    assert.deepEqual(edgeNames(g2), ["api -> users"]);
    assert.equal(g2.edges[0].p50Ms, 10); // the client subsegment's duration
    assert.deepEqual(g2.edges[0].calleeAliases, ["tracemesh.v1.UsersService"]);
  });
});

describe("compareGraphs", { timeout: 30_000 }, () => {
  const c = compareGraphs(graphFromXrayFiles([xrayFile]), graphFromOtlp([otlpFile]));
  const row = (from: string, to: string) => {
    const r = c.edges.find((e) => e.otlp?.from === from && e.otlp.to === to);
    assert.ok(r, `row for ${from} -> ${to}`);
    return r;
  };

  test("the fixtures line up: same edges, renamed edges with reasons, sampling differences", { timeout: 5_000 }, () => {
    assert.deepEqual(c.summary, { both: 4, renamed: 4, "only-xray": 0, "only-otlp": 0, differing: 3, explained: 0 });
    assert.equal(row("api", "users").category, "both");
    assert.deepEqual(row("api", "users").differences, []);
  });

  test("the async hop: X-Ray names the consumer segment after its span", { timeout: 5_000 }, () => {
    const hop = row("activities", "notifications");
    assert.equal(hop.category, "renamed");
    assert.deepEqual(hop.xray.map((e) => e.to), ["process tracemesh:events"]);
    assert.match(hop.reasons.join("\n"), /async hop: X-Ray's node for notifications is the CONSUMER segment/);
    const redis = row("notifications", "redis");
    assert.equal(redis.category, "renamed");
    assert.match(redis.reasons.join("\n"), /"process tracemesh:events" is service notifications/);
  });

  test("redis: inferred in X-Ray; the call without peer.service is named after its span there", { timeout: 5_000 }, () => {
    const r = row("activities", "redis");
    assert.deepEqual(r.xray.map((e) => e.to).sort(), ["redis", "zrevrange"]);
    assert.match(r.reasons.join("\n"), /inferred node/);
    assert.match(r.reasons.join("\n"), /"zrevrange".*lacks peer\.service/);
    assert.deepEqual(r.differences, ["calls 4 vs 5"]);
    assert.match(r.reasons.join("\n"), /sampling\/window: X-Ray saw 4 of 5 calls/);
  });

  test("gRPC naming through rpc.service when the callee has no segment in X-Ray", { timeout: 5_000 }, () => {
    const xray = graphFromXraySegments([
      { name: "api", id: "a1", trace_id: "1-1-1", parent_id: "", type: "", start_time: 1, end_time: 1.01 },
      { name: "tracemesh.v1.UsersService", id: "a2", trace_id: "1-1-1", parent_id: "a1", type: "subsegment", namespace: "remote", start_time: 1, end_time: 1.004, metadata: { default: { "rpc.service": "tracemesh.v1.UsersService" } } },
    ]);
    const otlp = graphFromSpans(
      spansFromRequest({
        resourceSpans: [
          {
            resource: { attributes: [{ key: "service.name", value: { stringValue: "api" } }] },
            scopeSpans: [{ spans: [{ traceId: "0".repeat(31) + "1", spanId: "0".repeat(15) + "2", parentSpanId: "0".repeat(15) + "1", name: "tracemesh.v1.UsersService/GetUser", kind: 3, startTimeUnixNano: "1000000000", endTimeUnixNano: "1004000000", attributes: [{ key: "rpc.service", value: { stringValue: "tracemesh.v1.UsersService" } }], status: {} }] }],
          },
          {
            resource: { attributes: [{ key: "service.name", value: { stringValue: "users" } }] },
            scopeSpans: [{ spans: [{ traceId: "0".repeat(31) + "1", spanId: "0".repeat(15) + "3", parentSpanId: "0".repeat(15) + "2", name: "tracemesh.v1.UsersService/GetUser", kind: 2, startTimeUnixNano: "1001000000", endTimeUnixNano: "1003000000", status: {} }] }],
          },
        ],
      }),
    );
    const result = compareGraphs(xray, otlp);
    assert.equal(result.edges.length, 1);
    assert.equal(result.edges[0].category, "renamed");
    assert.match(result.edges[0].reasons.join("\n"), /"tracemesh\.v1\.UsersService", Honeycomb users .*peer\.service/);
  });

  test("a consumer reached by a link only is missing from X-Ray; an unnamed remote call is X-Ray only", { timeout: 5_000 }, () => {
    const otlp = graphFromSpans(
      spansFromRequest({
        resourceSpans: [
          {
            resource: { attributes: [{ key: "service.name", value: { stringValue: "activities" } }] },
            scopeSpans: [{ spans: [{ traceId: "a".repeat(32), spanId: "b".repeat(16), name: "publish", kind: 4, startTimeUnixNano: "1", endTimeUnixNano: "2000001", status: {} }] }],
          },
          {
            resource: { attributes: [{ key: "service.name", value: { stringValue: "notifications" } }] },
            scopeSpans: [{ spans: [{ traceId: "c".repeat(32), spanId: "d".repeat(16), name: "process", kind: 5, startTimeUnixNano: "5", endTimeUnixNano: "9", links: [{ traceId: "a".repeat(32), spanId: "b".repeat(16) }], status: {} }] }],
          },
        ],
      }),
    );
    const xray = graphFromXraySegments([
      { name: "activities", id: "e1", trace_id: "1-a-a", type: "", start_time: 1, end_time: 2 },
      { name: "smtp.example", id: "e2", trace_id: "1-a-a", parent_id: "e1", type: "subsegment", namespace: "remote", start_time: 1, end_time: 1.5 },
    ]);
    const result = compareGraphs(xray, otlp);
    const onlyOtlp = result.edges.find((e) => e.category === "only-otlp");
    assert.equal(onlyOtlp?.otlp?.to, "notifications");
    assert.match(onlyOtlp?.reasons.join("\n") ?? "", /link only.*X-Ray draws no span links/);
    const onlyXray = result.edges.find((e) => e.category === "only-xray");
    assert.equal(onlyXray?.xray[0].to, "smtp.example");
    assert.match(onlyXray?.reasons.join("\n") ?? "", /inferred node/);
  });
});

