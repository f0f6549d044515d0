// All of notifications' Redis access: the consumer group on tracemesh:events, the dead-letter
// stream, and per user a sorted set of notification ids (keys.notifications) pointing at hashes
// (keys.notification). Only notifications reads or writes these keys; it learns about users from
// users' gRPC API (users.ts).
import {
  EVENTS_CONSUMER_GROUP,
  EVENTS_STREAM,
  pipeline,
  redisKey,
  transaction,
  type PipelineCommand,
  type Redis,
} from "@tracemesh/runtime";

/** notifications' Redis keys (renaming one would orphan the data stored under it). */
export const keys = {
  /** Sorted set of a user's notification ids by created_at in ms, capped. */
  notifications: (handle: string) => redisKey("notifications", handle),
  /** Hash of one notification; expires after NOTIFICATION_TTL_MS. */
  notification: (id: string) => redisKey("notification", id),
} as const;

/** Entries delivered too many times without being acknowledged, and malformed ones, end up here. */
export const EVENTS_DEAD_LETTER_STREAM = redisKey("events", "dead");

export type NotificationKindName = "reply" | "like" | "mention";

export interface StoredNotification {
  /** `<stream id>:<recipient>:<kind>`: the same event never notifies the same user twice. */
  id: string;
  recipient: string;
  kind: NotificationKindName;
  actorHandle: string;
  activityUuid: string;
  excerpt: string;
  createdAt: Date;
}

export interface StreamEntry {
  id: string;
  fields: string[];
}

// A notification hash outlives its place in the capped list by at most this long.
const NOTIFICATION_TTL_MS = 30 * 24 * 3600 * 1000;
const DEAD_LETTER_MAXLEN = 10_000;

type RawEntries = Array<[string, string[] | null]>;

function toEntries(raw: RawEntries): StreamEntry[] {
  return raw.map(([id, fields]) => ({ id, fields: fields ?? [] }));
}

export class NotificationsStore {
  constructor(
    private readonly redis: Redis,
    private readonly perUserCap = 500,
  ) {}

  /** Creates the consumer group (and the stream) unless it exists. Starts at 0: events written before
   * notifications first ran are processed too (storage is idempotent). */
  async ensureGroup(): Promise<void> {
    try {
      await this.redis.xgroup("CREATE", EVENTS_STREAM, EVENTS_CONSUMER_GROUP, "0", "MKSTREAM");
    } catch (err) {
      if (!(err instanceof Error && err.message.startsWith("BUSYGROUP"))) throw err;
    }
  }

  /** New entries for this consumer, waiting up to blockMs. */
  async readNew(consumer: string, count: number, blockMs: number): Promise<StreamEntry[]> {
    const res = (await this.redis.xreadgroup(
      "GROUP", EVENTS_CONSUMER_GROUP, consumer,
      "COUNT", count,
      "BLOCK", blockMs,
      "STREAMS", EVENTS_STREAM, ">",
    )) as Array<[string, RawEntries]> | null;
    return res?.[0] ? toEntries(res[0][1]) : [];
  }

  /** Takes over entries pending longer than minIdleMs (from any consumer); returns them and the next start id. */
  async claimStale(consumer: string, minIdleMs: number, start: string, count: number): Promise<{ next: string; entries: StreamEntry[] }> {
    const [next, raw] = (await this.redis.xautoclaim(
      EVENTS_STREAM, EVENTS_CONSUMER_GROUP, consumer, minIdleMs, start, "COUNT", count,
    )) as [string, RawEntries, string[]?];
    return { next, entries: toEntries(raw) };
  }

  /** How often each pending entry has been delivered. */
  async deliveryCounts(ids: string[]): Promise<Map<string, number>> {
    const counts = new Map<string, number>();
    if (ids.length === 0) return counts;
    const results = await pipeline(
      this.redis,
      ids.map((id) => ["xpending", EVENTS_STREAM, EVENTS_CONSUMER_GROUP, id, id, 1]),
    );
    for (const rows of results as Array<Array<[string, string, number, number]>>) {
      const row = rows[0];
      if (row) counts.set(row[0], Number(row[3]));
    }
    return counts;
  }

  /**
   * Stores notifications idempotently (same id → same hash, ZADD NX) and trims each list. Throws
   * when any write failed, so the caller does not acknowledge the entry.
   */
  async saveNotifications(notifications: StoredNotification[]): Promise<void> {
    if (notifications.length === 0) return;
    await transaction(
      this.redis,
      notifications.flatMap((n): PipelineCommand[] => [
        [
          "hset", keys.notification(n.id),
          "id", n.id,
          "kind", n.kind,
          "actor_handle", n.actorHandle,
          "activity_uuid", n.activityUuid,
          "excerpt", n.excerpt,
          "created_at", n.createdAt.toISOString(),
        ],
        ["pexpire", keys.notification(n.id), NOTIFICATION_TTL_MS],
        ["zadd", keys.notifications(n.recipient), "NX", n.createdAt.getTime(), n.id],
        ["zremrangebyrank", keys.notifications(n.recipient), 0, -(this.perUserCap + 1)],
      ]),
    );
  }

  async ack(id: string): Promise<void> {
    await this.redis.xack(EVENTS_STREAM, EVENTS_CONSUMER_GROUP, id);
  }

  /** Moves an entry to the dead-letter stream with the reason, and acknowledges it, atomically. */
  async deadLetter(entry: StreamEntry, reason: string, consumer: string): Promise<void> {
    await transaction(this.redis, [
      [
        "xadd", EVENTS_DEAD_LETTER_STREAM, "MAXLEN", "~", DEAD_LETTER_MAXLEN, "*",
        "stream_id", entry.id, "reason", reason, "consumer", consumer, ...entry.fields,
      ],
      ["xack", EVENTS_STREAM, EVENTS_CONSUMER_GROUP, entry.id],
    ]);
  }

  /** Newest first. */
  async listNotifications(handle: string, limit: number): Promise<Array<Omit<StoredNotification, "recipient">>> {
    const ids = await this.redis.zrevrange(keys.notifications(handle), 0, limit - 1);
    if (ids.length === 0) return [];
    const hashes = (await pipeline(this.redis, ids.map((id) => ["hgetall", keys.notification(id)]))) as Array<
      Record<string, string>
    >;
    return hashes.flatMap((h) =>
      h.id
        ? [{
            id: h.id,
            kind: h.kind as NotificationKindName,
            actorHandle: h.actor_handle ?? "",
            activityUuid: h.activity_uuid ?? "",
            excerpt: h.excerpt ?? "",
            createdAt: new Date(h.created_at ?? 0),
          }]
        : [],
    );
  }
}
