// The events activities appends to the `tracemesh:events` stream and notifications consumes.
// Stream entries are flat string fields; this file is the only code that knows the field names
// (the event's and the W3C trace context's) and the messaging attributes of the stream's spans,
// so producer and consumer cannot drift apart.
import { context, propagation, ROOT_CONTEXT, type Attributes, type Context } from "@opentelemetry/api";
import { EVENTS_CONSUMER_GROUP, EVENTS_STREAM } from "./keys.js";

export const EVENT_TYPES = ["activity.created", "activity.replied", "activity.liked"] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface ActivityEvent {
  type: EventType;
  /** Handle of the user who acted. */
  actor: string;
  /** The activity created, the reply created, or the activity liked. */
  activityUuid: string;
  /** For replies and likes: author of the activity replied to or liked (the one to notify). */
  targetHandle?: string;
  /** For replies: the activity replied to. */
  targetActivityUuid?: string;
  /** Message text of a created activity or reply (for mentions and excerpts). */
  message?: string;
  /** ISO 8601. */
  createdAt: string;
  /** W3C trace context of the producer, so the consumer continues the same trace. */
  traceparent?: string;
  tracestate?: string;
}

/** Field/value pairs ready for XADD. */
export function encodeEvent(event: ActivityEvent): string[] {
  const fields: Array<[string, string | undefined]> = [
    ["type", event.type],
    ["actor", event.actor],
    ["activity_uuid", event.activityUuid],
    ["target_handle", event.targetHandle],
    ["target_activity_uuid", event.targetActivityUuid],
    ["message", event.message],
    ["created_at", event.createdAt],
    [TRACEPARENT, event.traceparent],
    [TRACESTATE, event.tracestate],
  ];
  return fields.filter((f): f is [string, string] => f[1] !== undefined && f[1] !== "").flat();
}

export class MalformedEventError extends Error {
  constructor(detail: string) {
    super(`malformed event: ${detail}`);
    this.name = "MalformedEventError";
  }
}

/** Parses XREADGROUP's flat [field, value, ...] list; throws MalformedEventError on bad entries. */
export function decodeEvent(flat: string[]): ActivityEvent {
  const map = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) map.set(flat[i]!, flat[i + 1]!);
  const type = map.get("type");
  if (!type || !(EVENT_TYPES as readonly string[]).includes(type)) throw new MalformedEventError(`type "${type ?? ""}"`);
  const actor = map.get("actor");
  const activityUuid = map.get("activity_uuid");
  const createdAt = map.get("created_at");
  if (!actor) throw new MalformedEventError("missing actor");
  if (!activityUuid) throw new MalformedEventError("missing activity_uuid");
  if (!createdAt || Number.isNaN(Date.parse(createdAt))) throw new MalformedEventError("missing or bad created_at");
  return {
    type: type as EventType,
    actor,
    activityUuid,
    targetHandle: map.get("target_handle"),
    targetActivityUuid: map.get("target_activity_uuid"),
    message: map.get("message"),
    createdAt,
    traceparent: map.get(TRACEPARENT),
    tracestate: map.get(TRACESTATE),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Tracing across the stream: the producer writes its W3C trace context into the entry, the consumer continues it.

const TRACEPARENT = "traceparent";
const TRACESTATE = "tracestate";

/** The W3C trace context fields an entry carries. */
export type EventTraceContext = Pick<ActivityEvent, "traceparent" | "tracestate">;

/** The trace context of `ctx` (default: the active one) as the entry's fields. */
export function injectEventTraceContext(ctx: Context = context.active()): EventTraceContext {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return { traceparent: carrier[TRACEPARENT], tracestate: carrier[TRACESTATE] };
}

/**
 * The producer's context from a raw entry (XREADGROUP's flat field list), read before the event is decoded
 * so even a malformed entry is processed in the producer's trace. ROOT_CONTEXT when the entry carries none.
 */
export function extractEventTraceContext(flat: readonly string[]): Context {
  const carrier: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) {
    if (flat[i] === TRACEPARENT || flat[i] === TRACESTATE) carrier[flat[i]!] = flat[i + 1]!;
  }
  return propagation.extract(ROOT_CONTEXT, carrier);
}

/**
 * The service that consumes the stream (the consumer group's owner). The producer's span names it as
 * `peer.service`: X-Ray names the subsegment (and the service-map edge) after it, so the map shows
 * activities → notifications and the consumer's segment hangs under it.
 */
export const EVENTS_CONSUMER_SERVICE = "notifications";

/** The messaging attributes of the stream's PRODUCER ("send") and CONSUMER ("process") spans. */
export function eventSpanAttributes(operation: "send" | "process"): Attributes {
  return {
    "messaging.system": "redis",
    "messaging.destination.name": EVENTS_STREAM,
    "messaging.operation.type": operation,
    "messaging.operation.name": operation,
    ...(operation === "send" ? { "peer.service": EVENTS_CONSUMER_SERVICE } : { "messaging.consumer.group.name": EVENTS_CONSUMER_GROUP }),
  };
}
