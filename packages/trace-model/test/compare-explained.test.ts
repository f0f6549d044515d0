// compare keeps a known, explained difference apart from the ones nobody can account for: X-Ray's
// extra `notifications → redis` calls are the awsxray exporter's dependency subsegments of the
// local-root CONSUMER spans (aws.span.kind=LOCAL_ROOT), one per consumer span.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { compareGraphs, graphFromSpans, graphFromXraySegments, renderTable, spansFromRequest, type XraySegment } from "../src/index.js";

const TRACE = "6b05d746dbc542b7fb21e379eb25bd97";
const XRAY_TRACE = "1-6b05d746-dbc542b7fb21e379eb25bd97";

/** The consumer span c1 (50 ms) and `n` XACK client spans under it (2 ms each), as OTLP. */
function otlpSide(n: number) {
  const span = (id: string, parent: string, name: string, kind: number, startMs: number, durMs: number, attrs: Record<string, string>) => ({
    traceId: TRACE,
    spanId: id,
    parentSpanId: parent,
    name,
    kind,
    startTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt(startMs * 1e6)),
    endTimeUnixNano: String(1_700_000_000_000_000_000n + BigInt((startMs + durMs) * 1e6)),
    attributes: Object.entries(attrs).map(([key, value]) => ({ key, value: { stringValue: value } })),
    status: {},
  });
  return graphFromSpans(
    spansFromRequest({
      resourceSpans: [
        {
          resource: { attributes: [{ key: "service.name", value: { stringValue: "notifications" } }] },
          scopeSpans: [
            {
              spans: [
                span("c100000000000001", "", "process tracemesh:events", 5, 0, 50, { "messaging.system": "redis" }),
                ...Array.from({ length: n }, (_, i) =>
                  span(`c20000000000000${i}`, "c100000000000001", "xack", 3, 10 + i * 3, 2, { "db.system.name": "redis", "peer.service": "redis" }),
                ),
              ],
            },
          ],
        },
      ],
    }),
  );
}

/** What the exporter makes of it: a service segment, the dependency subsegment (the consumer's id), `n` redis subsegments. */
function xraySide(n: number) {
  const t = 1_700_000_000;
  const docs: XraySegment[] = [
    { name: "notifications", id: "a100000000000001", trace_id: XRAY_TRACE, start_time: t, end_time: t + 0.05, metadata: { default: { "otel.resource.service.name": "notifications" } } },
    {
      name: "redis",
      id: "c100000000000001",
      trace_id: XRAY_TRACE,
      parent_id: "a100000000000001",
      type: "subsegment",
      namespace: "remote",
      start_time: t,
      end_time: t + 0.05,
      metadata: { default: { "aws.span.kind": "LOCAL_ROOT", "messaging.system": "redis" } },
    },
    ...Array.from({ length: n }, (_, i) => ({
      name: "redis",
      id: `c20000000000000${i}`,
      trace_id: XRAY_TRACE,
      parent_id: "c100000000000001",
      type: "subsegment",
      namespace: "remote",
      start_time: t + 0.01 + i * 0.003,
      end_time: t + 0.012 + i * 0.003,
      metadata: { default: { "peer.service": "redis", "db.system.name": "redis" } },
    })),
  ];
  return graphFromXraySegments(docs);
}

describe("compare: explained and unexplained differences", { timeout: 10_000 }, () => {
  test("X-Ray's extra calls are exactly the dependency subsegments: explained, not differing", () => {
    const c = compareGraphs(xraySide(1), otlpSide(1));
    const row = c.edges.find((e) => e.otlp?.from === "notifications" && e.otlp.to === "redis");
    assert.ok(row, renderTable(c));
    assert.deepEqual(row.differences, [], "nothing unexplained");
    assert.deepEqual(row.explained.map((e) => e.difference.split(" ")[0]), ["calls", "p99"], "p50 of [2, 50] ms is 2 ms on both sides");
    assert.match(row.explained[0]!.explanation, /all 1 extra X-Ray calls are the exporter's dependency subsegments/);
    assert.equal(c.summary.explained, 1);
    assert.equal(c.summary.differing, 0);
    const table = renderTable(c);
    assert.match(table, /Explained differences \(1\): known behaviour, not a problem\n {2}notifications → redis: calls 2 vs 1/);
    assert.match(table, /Unexplained differences beyond tolerance \(0\)\n/);
  });

  test("a count the dependency subsegments do not account for stays unexplained", () => {
    // X-Ray has the dependency plus 3 commands; the OTLP capture only 1 command: 3 extra calls, 1 dependency.
    const c = compareGraphs(xraySide(3), otlpSide(1));
    const row = c.edges.find((e) => e.otlp?.from === "notifications" && e.otlp.to === "redis");
    assert.ok(row);
    assert.deepEqual(row.explained, []);
    assert.ok(row.differences.some((d) => d === "calls 4 vs 1"), row.differences.join(", "));
    assert.equal(c.summary.differing, 1);
    assert.equal(c.summary.explained, 0);
    assert.match(renderTable(c), /Unexplained differences beyond tolerance \(1\)\n {2}notifications → redis: calls 4 vs 1/);
  });
});
