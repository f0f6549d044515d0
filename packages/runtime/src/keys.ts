// The one naming rule for Redis keys, and the one stream two services share. Every key starts with
// `tracemesh:`, so the mesh's data stays apart from anything else in the same Redis database. Each
// service names its own keys with redisKey, in its store.ts: it alone reads and writes them.
const PREFIX = "tracemesh";

/** `tracemesh:<part>:<part>…` */
export function redisKey(...parts: string[]): string {
  return [PREFIX, ...parts].join(":");
}

/** The stream activities appends to on create, reply and like; notifications consumes it (events.ts: its format). */
export const EVENTS_STREAM = redisKey("events");
/** The consumer group every notifications replica joins (also a messaging attribute of the consumer's spans). */
export const EVENTS_CONSUMER_GROUP = "notifications";
