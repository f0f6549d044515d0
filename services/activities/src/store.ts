// All of activities' Redis access. Only activities reads or writes these keys; what it knows of users
// comes from the api (the author of a write) and from users' gRPC API (display names on reads).
// Every write that produces an event appends it in the same MULTI (or Lua script) as the data, so
// no event is lost and none refers to data that was not written.
import { MAX_TTL_MS } from "@tracemesh/domain/ttl";
import { EVENTS_STREAM, pipeline, redisKey, transaction, type Redis } from "@tracemesh/runtime";

/** activities' Redis keys (renaming one would orphan the data stored under it). */
export const keys = {
  /** Hash: uuid, handle, message, created_at, expires_at (ms), reply_to; PEXPIREAT expires_at. */
  activity: (uuid: string) => redisKey("activity", uuid),
  /** Sorted set of every top-level activity uuid by created_at in ms. */
  homeTimeline: () => redisKey("timeline", "home"),
  /** Sorted set of one user's top-level activity uuids by created_at in ms. */
  userTimeline: (handle: string) => redisKey("timeline", "user", handle),
  /** Sorted set of reply uuids by created_at in ms; expires with the parent. */
  replies: (uuid: string) => redisKey("replies", uuid),
  /** Set of handles that liked the activity; expires with the activity. */
  likes: (uuid: string) => redisKey("likes", uuid),
} as const;

export interface StoredActivity {
  uuid: string;
  handle: string;
  message: string;
  createdAt: number;
  expiresAt: number;
  /** Set on replies. */
  replyTo?: string;
}

export interface ActivityRecord extends StoredActivity {
  likesCount: number;
  repliesCount: number;
}

export interface TimelineEntry {
  uuid: string;
  score: number;
}

/** redis-slow-timeline: at most this many slowed reads wait in Redis at once; beyond that they share connections. */
const SLOW_CONNECTIONS_MAX = 32;

// Likes must append an event only when the like is new: SADD and XADD decide together, atomically.
const LIKE_SCRIPT = `
local added = redis.call('SADD', KEYS[1], ARGV[1])
local id = false
if added == 1 then
  redis.call('PEXPIREAT', KEYS[1], ARGV[2])
  id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', unpack(ARGV, 4))
end
return {added, redis.call('SCARD', KEYS[1]), id}
`;

/** The hash fields of an activity, flattened for HSET. */
function activityFields(a: StoredActivity): string[] {
  const fields: Record<string, string> = {
    uuid: a.uuid,
    handle: a.handle,
    message: a.message,
    created_at: String(a.createdAt),
    expires_at: String(a.expiresAt),
  };
  if (a.replyTo) fields.reply_to = a.replyTo;
  return Object.entries(fields).flat();
}

function parseActivity(hash: Record<string, string>): StoredActivity | undefined {
  if (!hash.uuid || !hash.handle) return undefined;
  const createdAt = Number(hash.created_at);
  const expiresAt = Number(hash.expires_at);
  if (!Number.isFinite(createdAt) || !Number.isFinite(expiresAt)) return undefined;
  return { uuid: hash.uuid, handle: hash.handle, message: hash.message ?? "", createdAt, expiresAt, replyTo: hash.reply_to || undefined };
}

function toEntries(flat: string[]): TimelineEntry[] {
  const entries: TimelineEntry[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) entries.push({ uuid: flat[i]!, score: Number(flat[i + 1]) });
  return entries;
}

export class ActivitiesStore {
  // The connections the redis-slow-timeline fault blocks, opened as concurrent slowed reads need them.
  private readonly slow: Array<{ redis: Redis; inFlight: number }> = [];

  constructor(
    private readonly redis: Redis,
    private readonly eventsMaxLen: number,
  ) {}

  /** Writes a top-level activity, its timeline entries and its event; resolves the event's stream id. */
  async createActivity(a: StoredActivity, event: string[]): Promise<string> {
    // Timelines are scored by created_at, not expires_at, so expiry is checked on read; this trim
    // only drops what is older than the longest TTL, keeping the sets bounded.
    const certainlyExpired = `(${a.createdAt - MAX_TTL_MS}`;
    const results = await transaction(this.redis, [
      ["hset", keys.activity(a.uuid), ...activityFields(a)],
      ["pexpireat", keys.activity(a.uuid), a.expiresAt],
      ["zadd", keys.homeTimeline(), a.createdAt, a.uuid],
      ["zadd", keys.userTimeline(a.handle), a.createdAt, a.uuid],
      ["zremrangebyscore", keys.homeTimeline(), "-inf", certainlyExpired],
      ["zremrangebyscore", keys.userTimeline(a.handle), "-inf", certainlyExpired],
      ["xadd", EVENTS_STREAM, "MAXLEN", "~", this.eventsMaxLen, "*", ...event],
    ]);
    return String(results[results.length - 1]);
  }

  /** Writes a reply (it expires with its parent) and its event; resolves the event's stream id. */
  async createReply(reply: StoredActivity & { replyTo: string }, event: string[]): Promise<string> {
    const results = await transaction(this.redis, [
      ["hset", keys.activity(reply.uuid), ...activityFields(reply)],
      ["pexpireat", keys.activity(reply.uuid), reply.expiresAt],
      ["zadd", keys.replies(reply.replyTo), reply.createdAt, reply.uuid],
      ["pexpireat", keys.replies(reply.replyTo), reply.expiresAt],
      ["xadd", EVENTS_STREAM, "MAXLEN", "~", this.eventsMaxLen, "*", ...event],
    ]);
    return String(results[results.length - 1]);
  }

  /** Adds a like; the event is appended only when the like is new. */
  async like(
    uuid: string,
    handle: string,
    expiresAt: number,
    event: string[],
  ): Promise<{ newlyLiked: boolean; likesCount: number; streamId?: string }> {
    const [added, count, id] = (await this.redis.eval(
      LIKE_SCRIPT,
      2,
      keys.likes(uuid),
      EVENTS_STREAM,
      handle,
      String(expiresAt),
      String(this.eventsMaxLen),
      ...event,
    )) as [number, number, string | null];
    return { newlyLiked: added === 1, likesCount: count, streamId: id ?? undefined };
  }

  /** Activities with their counts, keyed by uuid; missing (expired or unknown) ones are absent. One round trip. */
  async getActivities(uuids: string[]): Promise<Map<string, ActivityRecord>> {
    const found = new Map<string, ActivityRecord>();
    if (uuids.length === 0) return found;
    const results = await pipeline(
      this.redis,
      uuids.flatMap((uuid) => [["hgetall", keys.activity(uuid)], ["scard", keys.likes(uuid)], ["zcard", keys.replies(uuid)]]),
    );
    uuids.forEach((uuid, i) => {
      const stored = parseActivity(results[i * 3] as Record<string, string>);
      if (stored) {
        found.set(uuid, { ...stored, likesCount: Number(results[i * 3 + 1]), repliesCount: Number(results[i * 3 + 2]) });
      }
    });
    return found;
  }

  /** Oldest first, at most `max`. */
  async replyUuids(parentUuid: string, max: number): Promise<string[]> {
    return this.redis.zrange(keys.replies(parentUuid), 0, max - 1);
  }

  /** Newest first: entries scored <= maxScore, skipping `offset` of them. */
  async timelineSlice(key: string, maxScore: number | "+inf", offset: number, count: number): Promise<TimelineEntry[]> {
    return toEntries(await this.redis.zrevrangebyscore(key, maxScore, "-inf", "WITHSCORES", "LIMIT", offset, count));
  }

  /**
   * timelineSlice, made `extraMs` slower inside Redis (redis-slow-timeline): WAIT for a replica that does
   * not exist blocks its connection for extraMs, then the same read runs in the same round trip, so the
   * trace shows one slow Redis span. Slowed reads run on connections of their own, so the rest of
   * activities' Redis traffic does not queue behind them, and each waits its own extraMs: on one shared
   * connection they queued behind each other, and under load the queue outgrew the command timeout.
   */
  async slowTimelineSlice(
    key: string,
    maxScore: number | "+inf",
    offset: number,
    count: number,
    extraMs: number,
    attributes: Record<string, string | number>,
  ): Promise<TimelineEntry[]> {
    const connection = this.slowConnection();
    connection.inFlight++;
    try {
      const [, flat] = (await pipeline(
        connection.redis,
        [
          ["wait", 1, Math.round(extraMs)],
          ["zrevrangebyscore", key, maxScore, "-inf", "WITHSCORES", "LIMIT", offset, count],
        ],
        attributes,
      )) as [number, string[]];
      return toEntries(flat);
    } finally {
      connection.inFlight--;
    }
  }

  /** An idle slow-read connection, a new one while fewer than SLOW_CONNECTIONS_MAX exist, else the least busy. */
  private slowConnection(): { redis: Redis; inFlight: number } {
    const idle = this.slow.find((c) => c.inFlight === 0);
    if (idle) return idle;
    if (this.slow.length < SLOW_CONNECTIONS_MAX) {
      const redis = this.redis.duplicate();
      // The main client logs the same outage; these only must not crash on it.
      redis.on("error", () => undefined);
      // They live as long as the main client: its quit at shutdown closes them too.
      if (this.slow.length === 0) this.redis.once("end", () => this.slow.splice(0).forEach((c) => c.redis.disconnect()));
      const connection = { redis, inFlight: 0 };
      this.slow.push(connection);
      return connection;
    }
    return this.slow.reduce((least, c) => (c.inFlight < least.inFlight ? c : least));
  }

  /** Drops timeline members whose activity has expired. */
  async removeFromTimeline(key: string, uuids: string[]): Promise<void> {
    if (uuids.length > 0) await this.redis.zrem(key, ...uuids);
  }
}
