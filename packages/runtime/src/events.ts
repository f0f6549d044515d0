// The events activities appends to the `tracemesh:events` stream and notifications consumes.
// Stream entries are flat string fields; encodeEvent/decodeEvent are the only code that knows
// the field names, so producer and consumer cannot drift apart.

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
    ["traceparent", event.traceparent],
    ["tracestate", event.tracestate],
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
    traceparent: map.get("traceparent"),
    tracestate: map.get("tracestate"),
  };
}

/** Handles @mentioned in a message, lower-cased, unique, in order of appearance. */
export function mentionedHandles(message: string): string[] {
  const found = new Set<string>();
  for (const m of message.matchAll(/(?:^|[^a-zA-Z0-9_@])@([a-zA-Z0-9_]{3,20})\b/g)) found.add(m[1]!.toLowerCase());
  return [...found];
}
