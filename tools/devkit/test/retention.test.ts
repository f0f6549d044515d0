// The bounded keeping of `tracemesh demo --keep-running`'s stand-ins (sinks/retention.ts): records kept by their
// items, the oldest whole records dropped first; and the CloudWatch Logs store under it, whose streams lose their
// oldest events while FilterLogEvents still finds the newest.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CloudWatchLogsStore, RetainedRecords } from "../src/index.js";

describe("RetainedRecords", () => {
  test("without a limit everything is kept", () => {
    const kept = new RetainedRecords<number>();
    for (let i = 0; i < 5000; i++) assert.deepEqual(kept.push(i), []);
    assert.equal(kept.values().length, 5000);
    assert.deepEqual(kept.counts(), { kept: 5000, dropped: 0 });
  });

  test("with a limit of items, whole records go, oldest first, until the rest fits", () => {
    // Each record is an export of n spans.
    const kept = new RetainedRecords<{ id: string; n: number }>({ maxItems: 10 }, (r) => r.n);
    kept.push({ id: "a", n: 4 });
    kept.push({ id: "b", n: 4 });
    assert.deepEqual(kept.push({ id: "c", n: 3 }).map((r) => r.id), ["a"], "11 items: a goes");
    assert.deepEqual(kept.values().map((r) => r.id), ["b", "c"]);
    assert.deepEqual(kept.push({ id: "d", n: 9 }).map((r) => r.id), ["b", "c"]);
    assert.deepEqual(kept.push({ id: "e", n: 25 }).map((r) => r.id), ["d"], "the newest record is kept even when it alone is over the limit");
    assert.deepEqual(kept.values().map((r) => r.id), ["e"]);
    assert.deepEqual(kept.counts(), { kept: 25, dropped: 20 });
  });

  test("long runs: the values stay the newest, in order, across the internal compaction", () => {
    const kept = new RetainedRecords<number>({ maxItems: 100 });
    for (let i = 0; i < 10_000; i++) kept.push(i);
    assert.deepEqual(kept.values(), Array.from({ length: 100 }, (_, i) => 9900 + i));
    assert.deepEqual(kept.counts(), { kept: 100, dropped: 9900 });
  });
});

describe("CloudWatchLogsStore with a retention", () => {
  const put = (store: CloudWatchLogsStore, stream: string, messages: string[], at: number) =>
    store.call("PutLogEvents", { logGroupName: "g", logStreamName: stream, logEvents: messages.map((message) => ({ timestamp: at, message })) }, at);

  test("the oldest batches' events leave their streams; the newest are still read and filtered", () => {
    const store = new CloudWatchLogsStore(undefined, { maxItems: 4 });
    const now = Date.now();
    store.call("CreateLogGroup", { logGroupName: "g" }, now);
    for (const s of ["api", "users"]) store.call("CreateLogStream", { logGroupName: "g", logStreamName: s }, now);
    put(store, "api", ["a1", "a2"], now);
    put(store, "users", ["u1"], now + 1);
    put(store, "api", ["a3 trace-x"], now + 2);
    assert.deepEqual(store.events("g").map((e) => e.message), ["a1", "a2", "a3 trace-x", "u1"], "4 events: all kept");
    put(store, "users", ["u2 trace-x", "u3"], now + 3);
    // 6 events over the limit of 4: the first batch (a1, a2) goes; api keeps a3.
    assert.deepEqual(store.events("g").map((e) => e.message), ["a3 trace-x", "u1", "u2 trace-x", "u3"]);
    assert.deepEqual(store.eventCounts(), { kept: 4, dropped: 2 });
    const found = store.call("FilterLogEvents", { logGroupName: "g", filterPattern: '"trace-x"' }, now + 4) as { events: Array<{ message: string }> };
    assert.deepEqual(found.events.map((e) => e.message).sort(), ["a3 trace-x", "u2 trace-x"]);
    const streams = store.call("DescribeLogStreams", { logGroupName: "g" }, now + 4) as { logStreams: Array<{ logStreamName: string; storedBytes: number }> };
    assert.deepEqual(
      streams.logStreams.map((s) => [s.logStreamName, s.storedBytes]),
      [["api", Buffer.byteLength("a3 trace-x")], ["users", Buffer.byteLength("u1u2 trace-xu3")]],
      "stored bytes count only what is kept",
    );
  });
});
