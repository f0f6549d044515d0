// The stream's wire format as units: the event codec, and the W3C trace context that crosses the stream
// in the entry (producer injects, consumer extracts), through the real W3C propagator.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { ROOT_CONTEXT, propagation, trace, TraceFlags } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  EVENTS_CONSUMER_GROUP,
  EVENTS_STREAM,
  MalformedEventError,
  decodeEvent,
  encodeEvent,
  eventSpanAttributes,
  extractEventTraceContext,
  injectEventTraceContext,
  type ActivityEvent,
} from "../src/index.js";

const event: ActivityEvent = {
  type: "activity.replied",
  actor: "ada",
  activityUuid: "6b05e0c6-7f9a-4e89-92c3-7b0467253c94",
  targetHandle: "bob",
  targetActivityUuid: "0f9b4a51-2c5e-4d41-9c1e-5d2a1b3c4d5e",
  message: "hi @bob",
  createdAt: "2026-12-01T20:00:00.000Z",
  traceparent: "00-6b05e0c67f9a2e8952c37b0467253c94-1a2b3c4d5e6f7a8b-01",
  tracestate: "vendor=value",
};

describe("event codec", () => {
  test("encode → decode is the identity; the fields are snake_case", () => {
    const flat = encodeEvent(event);
    assert.deepEqual(flat.filter((_, i) => i % 2 === 0), [
      "type",
      "actor",
      "activity_uuid",
      "target_handle",
      "target_activity_uuid",
      "message",
      "created_at",
      "traceparent",
      "tracestate",
    ]);
    assert.deepEqual(decodeEvent(flat), event);
  });

  test("empty and missing optional fields are not written", () => {
    const flat = encodeEvent({ type: "activity.liked", actor: "ada", activityUuid: "u1", targetHandle: "", createdAt: event.createdAt });
    assert.deepEqual(flat, ["type", "activity.liked", "actor", "ada", "activity_uuid", "u1", "created_at", event.createdAt]);
  });

  test("malformed entries are refused with MalformedEventError", () => {
    const good = encodeEvent(event);
    const without = (field: string) => {
      const i = good.indexOf(field);
      return [...good.slice(0, i), ...good.slice(i + 2)];
    };
    const cases: Array<[string[], RegExp]> = [
      [without("type"), /type ""/],
      [["type", "activity.deleted", ...good.slice(2)], /type "activity.deleted"/],
      [without("actor"), /missing actor/],
      [without("activity_uuid"), /missing activity_uuid/],
      [without("created_at"), /created_at/],
      [[...without("created_at"), "created_at", "yesterday"], /bad created_at/],
    ];
    for (const [flat, message] of cases) {
      assert.throws(() => decodeEvent(flat), (err: unknown) => err instanceof MalformedEventError && message.test(err.message));
    }
  });
});

describe("trace context across the stream", () => {
  before(() => propagation.setGlobalPropagator(new W3CTraceContextPropagator()));
  after(() => propagation.disable());

  const spanContext = { traceId: "6b05e0c67f9a2e8952c37b0467253c94", spanId: "1a2b3c4d5e6f7a8b", traceFlags: TraceFlags.SAMPLED };

  test("the producer's context goes into the entry and comes out at the consumer", () => {
    const fields = injectEventTraceContext(trace.setSpanContext(ROOT_CONTEXT, spanContext));
    assert.equal(fields.traceparent, "00-6b05e0c67f9a2e8952c37b0467253c94-1a2b3c4d5e6f7a8b-01");
    const flat = encodeEvent({ ...event, ...fields });
    const extracted = trace.getSpanContext(extractEventTraceContext(flat));
    assert.equal(extracted?.traceId, spanContext.traceId);
    assert.equal(extracted?.spanId, spanContext.spanId);
    assert.equal(extracted?.isRemote, true);
  });

  test("an entry without trace context (or a malformed one) yields the root context", () => {
    const { traceparent: _traceparent, tracestate: _tracestate, ...untraced } = event;
    assert.equal(trace.getSpanContext(extractEventTraceContext(encodeEvent(untraced))), undefined);
    assert.equal(trace.getSpanContext(extractEventTraceContext(["traceparent", "garbage", "type"])), undefined);
  });

  test("no active span: nothing to inject", () => {
    assert.deepEqual(injectEventTraceContext(ROOT_CONTEXT), { traceparent: undefined, tracestate: undefined });
  });

  test("messaging attributes of the producer and consumer spans", () => {
    assert.deepEqual(eventSpanAttributes("send"), {
      "messaging.system": "redis",
      "messaging.destination.name": EVENTS_STREAM,
      "messaging.operation.type": "send",
      "messaging.operation.name": "send",
      "peer.service": "notifications",
    });
    assert.deepEqual(eventSpanAttributes("process"), {
      "messaging.system": "redis",
      "messaging.destination.name": EVENTS_STREAM,
      "messaging.operation.type": "process",
      "messaging.operation.name": "process",
      "messaging.consumer.group.name": EVENTS_CONSUMER_GROUP,
    });
  });
});
