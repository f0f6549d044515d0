// trace-model's timing report (what the demo prints under `── Span times` and the e2e trace test asserts): which
// starts count as whole milliseconds, and which children lie outside their parent — in the same service only.
import assert from "node:assert/strict";
import { test } from "node:test";
import { onWholeMs, renderTimingReport, timingReport, type Span } from "@tracemesh/trace-model";

const MS = 1_000_000n;
const T0 = 1_796_000_000_000n * MS;

function span(id: string, parent: string, service: string, startUs: number, endUs: number): Span {
  return {
    traceId: "6b05d746dbc542b7fb21e379eb25bd97",
    spanId: id,
    parentSpanId: parent,
    name: `op ${id}`,
    kind: "INTERNAL",
    startNs: T0 + BigInt(startUs) * 1000n,
    endNs: T0 + BigInt(endUs) * 1000n,
    statusCode: "UNSET",
    statusMessage: "",
    attributes: {},
    events: [],
    links: [],
    serviceName: service,
    resource: { "service.name": service },
    scope: "test",
  };
}

test("a whole millisecond is one to within a microsecond either side (X-Ray's float seconds land a few hundred ns off)", () => {
  assert.equal(onWholeMs(T0), true);
  assert.equal(onWholeMs(T0 + 999n), true);
  assert.equal(onWholeMs(T0 - 300n), true);
  assert.equal(onWholeMs(T0 + 1_000n), false);
  assert.equal(onWholeMs(T0 + 523_417n), false);
});

test("children outside their parent are counted in one service only, early and late, and named", () => {
  const spans = [
    span("a", "", "api", 0, 10_000),
    span("b", "a", "api", 100, 9_000), // inside
    span("c", "a", "api", 200, 10_250), // ends 0.25 ms late
    span("d", "a", "api", -50, 5_000), // starts 0.05 ms early
    span("e", "a", "users", 300, 20_000), // another service: not judged
    span("f", "gone", "api", 0, 1), // parent not in the capture: not judged
  ];
  const report = timingReport(spans);
  assert.equal(report.spans, 6);
  assert.equal(report.wholeMsStarts, 2, "a and f start on T0");
  assert.deepEqual(report.wholeMsByService, { api: { spans: 5, wholeMs: 2 }, users: { spans: 1, wholeMs: 0 } });
  assert.equal(report.sameServiceChildren, 3);
  assert.deepEqual(report.outside.map((o) => [o.child, o.startsEarlyMs, o.endsLateMs]), [["op c", 0, 0.25], ["op d", 0.05, 0]]);
  const text = renderTimingReport(report);
  assert.match(text, /^span starts on a whole millisecond: 2 of 6 \(33\.3 %\)$/m);
  assert.match(text, /^same-service children outside their parent: 2 of 3 \(66\.7 %\)$/m);
  assert.match(text, /api: "op c" ends 0\.250 ms after "op a"/);
  assert.match(text, /api: "op d" starts 0\.050 ms before "op a"/);
});
