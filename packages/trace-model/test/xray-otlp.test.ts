// compare reads the X-Ray side either as segment documents (PutTraceSegments, the awsxray exporter) or as the
// OTLP that X-Ray's OTLP endpoint received (otlp_http/xray). For the same spans both give the same X-Ray map:
// the fixtures' OTLP spans, turned into segments, draw the map the fixtures' segment documents draw.
import assert from "node:assert/strict";
import { join } from "node:path";
import { describe, test } from "node:test";
import {
  graphFromXrayFiles,
  graphFromXraySegments,
  segmentDocumentsFromFiles,
  segmentDocumentsFromSpans,
  spansFromOtlpFiles,
  spansFromRequest,
  type ServiceGraph,
} from "../src/index.js";

const fixtures = join(__dirname, "..", "..", "test", "fixtures");
const otlpFile = join(fixtures, "otlp.jsonl");
const xrayFile = join(fixtures, "xray-segments.jsonl");

const summary = (g: ServiceGraph) =>
  g.edges.map((e) => `${e.from} -> ${e.to}: ${e.calls} calls ${e.errors}e/${e.faults}f p50 ${e.p50Ms}`).sort();

describe("the X-Ray side from OTLP (X-Ray's OTLP endpoint)", { timeout: 30_000 }, () => {
  test("the fixtures' spans as segments draw the same X-Ray map as the exporter's segment documents", () => {
    // The X-Ray fixture holds one trace fewer (as if sampled out): compare the traces both sides have.
    const kept = new Set(segmentDocumentsFromFiles([xrayFile]).map((d) => d.trace_id));
    const spans = spansFromOtlpFiles([otlpFile]).filter((s) => kept.has(`1-${s.traceId.slice(0, 8)}-${s.traceId.slice(8)}`));
    const docs = segmentDocumentsFromSpans(spans);
    assert.equal(docs.length, spans.length, "one document per span (no local roots in the fixtures)");
    assert.deepEqual(summary(graphFromXraySegments(docs)), summary(graphFromXrayFiles([xrayFile])));
  });

  test("a local-root consumer becomes a service segment under the producer plus a dependency subsegment", () => {
    const tid = "6b05d7460123456789abcdef01234567";
    const docs = segmentDocumentsFromSpans(
      spansFromRequest({
        resourceSpans: [
          {
            resource: { attributes: [{ key: "service.name", value: { stringValue: "notifications" } }] },
            scopeSpans: [
              {
                spans: [
                  {
                    traceId: tid,
                    spanId: "c100000000000001",
                    parentSpanId: "b100000000000001",
                    name: "process tracemesh:events",
                    kind: 5,
                    startTimeUnixNano: "1796160000000000000",
                    endTimeUnixNano: "1796160000050000000",
                    attributes: [
                      { key: "aws.span.kind", value: { stringValue: "LOCAL_ROOT" } },
                      { key: "aws.local.service", value: { stringValue: "notifications" } },
                      { key: "aws.remote.service", value: { stringValue: "redis" } },
                      { key: "messaging.system", value: { stringValue: "redis" } },
                    ],
                    status: {},
                  },
                ],
              },
            ],
          },
        ],
      }),
    );
    assert.equal(docs.length, 2);
    const [segment, dependency] = docs;
    assert.equal(segment!.name, "notifications");
    assert.equal(segment!.parent_id, "b100000000000001", "hangs under the producer");
    assert.equal(segment!.trace_id, "1-6b05d746-0123456789abcdef01234567");
    assert.equal(segment!.metadata?.default?.["otel.resource.service.name"], "notifications");
    assert.deepEqual([dependency!.name, dependency!.id, dependency!.parent_id, dependency!.type, dependency!.namespace], ["redis", "c100000000000001", segment!.id, "subsegment", "remote"]);
    assert.equal(dependency!.metadata?.default?.["aws.span.kind"], "LOCAL_ROOT");
  });
});
