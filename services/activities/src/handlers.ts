// Validation and logic of ActivitiesService; errors are runtime RpcErrors carrying their gRPC status.
import { randomUUID } from "node:crypto";
import { status, type ServerUnaryCall } from "@grpc/grpc-js";
import { trace } from "@opentelemetry/api";
import {
  type Activity,
  type CreateActivityRequest,
  type CreateActivityResponse,
  type FeedResponse,
  type GetActivityRequest,
  type GetActivityResponse,
  type HomeFeedRequest,
  type LikeRequest,
  type LikeResponse,
  type ReplyRequest,
  type ReplyResponse,
  type User,
  type UserFeedRequest,
  type UserFeedResponse,
  type UsersServiceClient,
} from "@tracemesh/proto";
import {
  callUnary,
  deadlineIn,
  encodeEvent,
  errorText,
  invalidArgument,
  isServiceError,
  notFound,
  validArgument,
  type Logger,
} from "@tracemesh/runtime";
import { faultAttributes, markFault, type Faults } from "@tracemesh/flags";
import { FEED_LIMIT, REPLIES_MAX, checkDisplayName, checkHandle, checkMessage, isUuid } from "@tracemesh/domain";
import { checkTtl } from "@tracemesh/domain/ttl";
import { keys, type ActivitiesStore, type ActivityRecord, type StoredActivity, type TimelineEntry } from "./store.js";
import type { ModerationClient } from "./moderation.js";
import { assembleTimeline, sendEvent, setActingUser, setModerationOutcome, setResultLength } from "./tracing.js";

const { default: DEFAULT_FEED_LIMIT, max: MAX_FEED_LIMIT } = FEED_LIMIT;
// A page scans at most this many slices of the timeline; expired members met on the way are removed,
// so a long run of expired entries costs a few pages once, not every read.
const MAX_SCAN_ROUNDS = 5;

type AnyCall = ServerUnaryCall<unknown, unknown>;

function checkUuid(uuid: string, field: string): string {
  if (!isUuid(uuid)) throw invalidArgument(`${field} must be a UUID`);
  return uuid;
}

function checkLimit(limit: number): number {
  if (limit === 0) return DEFAULT_FEED_LIMIT;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_FEED_LIMIT) {
    throw invalidArgument(`limit must be 1..${MAX_FEED_LIMIT} (0 means ${DEFAULT_FEED_LIMIT})`);
  }
  return limit;
}

// The cursor is base64url("<score>:<uuid>") of the last activity of the previous page: the next
// page starts strictly after that position in (score desc, uuid desc) order.
export function encodeCursor(entry: TimelineEntry): string {
  return Buffer.from(`${entry.score}:${entry.uuid}`, "utf8").toString("base64url");
}

export function decodeCursor(cursor: string): TimelineEntry | undefined {
  if (cursor === "") return undefined;
  const text = Buffer.from(cursor, "base64url").toString("utf8");
  const match = /^(\d{1,15}):([0-9a-f-]{36})$/.exec(text);
  // Re-encoding must give the same string: base64url decoding alone accepts garbage.
  if (!match || !isUuid(match[2]) || encodeCursor({ score: Number(match[1]), uuid: match[2]! }) !== cursor) {
    throw invalidArgument("cursor is malformed");
  }
  return { score: Number(match[1]), uuid: match[2]! };
}

function toActivity(r: ActivityRecord, names: Map<string, string> | undefined): Activity {
  return {
    uuid: r.uuid,
    handle: r.handle,
    displayName: names?.get(r.handle) ?? "",
    message: r.message,
    createdAt: new Date(r.createdAt),
    expiresAt: new Date(r.expiresAt),
    likesCount: r.likesCount,
    repliesCount: r.repliesCount,
    repostsCount: 0,
    replyToActivityUuid: r.replyTo ?? "",
    replies: [],
  };
}

export interface ActivitiesHandlersDeps {
  store: ActivitiesStore;
  users: UsersServiceClient;
  logger: Logger;
  usersDeadlineMs: number;
  /** Asked before a post or reply is stored; undefined = no moderation. */
  moderation?: ModerationClient;
  moderationDeadlineMs: number;
  /** Milliseconds since the epoch; replaceable so tests can control time. */
  now: () => number;
  /** The failure scenarios (activities-errors, redis-slow-timeline, moderation-unreachable); none when absent. */
  faults?: Faults;
}

export class ActivitiesHandlers {
  constructor(private readonly deps: ActivitiesHandlersDeps) {}

  async homeFeed(req: HomeFeedRequest, call: AnyCall): Promise<FeedResponse> {
    const limit = checkLimit(req.limit);
    const cursor = decodeCursor(req.cursor);
    return assembleTimeline(async (span) => {
      const page = await this.feedPage(keys.homeTimeline(), limit, cursor);
      const names = await this.displayNames(page.items.map((a) => a.handle), call);
      setResultLength(page.items.length, span);
      return {
        activities: page.items.map((a) => toActivity(a, names)),
        nextCursor: page.nextCursor,
        displayNamesUnavailable: names === undefined,
      };
    });
  }

  async userFeed(req: UserFeedRequest, call: AnyCall): Promise<UserFeedResponse> {
    const handle = validArgument(checkHandle(req.handle));
    const limit = checkLimit(req.limit);
    const cursor = decodeCursor(req.cursor);
    // One call to users gives both NOT_FOUND and the author's display name for the whole page.
    let user: User | undefined;
    try {
      user = (
        await callUnary(this.deps.users.getUser.bind(this.deps.users), { handle }, {
          deadline: deadlineIn(this.deps.usersDeadlineMs, call),
          parent: call,
        })
      ).user;
    } catch (err) {
      if (isServiceError(err) && err.code === status.NOT_FOUND) throw notFound(`user "${handle}" not found`);
      this.deps.logger.warn({ err: errorText(err) }, "users unavailable; answering without display names");
    }
    return assembleTimeline(async (span) => {
      const page = await this.feedPage(keys.userTimeline(handle), limit, cursor);
      const names = user ? new Map([[user.handle, user.displayName]]) : undefined;
      setResultLength(page.items.length, span);
      return {
        user,
        handle,
        activities: page.items.map((a) => toActivity(a, names)),
        nextCursor: page.nextCursor,
        displayNamesUnavailable: user === undefined,
      };
    });
  }

  async getActivity(req: GetActivityRequest, call: AnyCall): Promise<GetActivityResponse> {
    const uuid = checkUuid(req.uuid, "uuid");
    const activity = await this.liveActivity(uuid);
    const replyUuids = await this.deps.store.replyUuids(uuid, REPLIES_MAX);
    const now = this.deps.now();
    const found = await this.deps.store.getActivities(replyUuids);
    const replies = replyUuids.flatMap((u) => {
      const r = found.get(u);
      return r && r.expiresAt > now ? [r] : [];
    });
    const names = await this.displayNames([activity.handle, ...replies.map((r) => r.handle)], call);
    return {
      activity: { ...toActivity(activity, names), replies: replies.map((r) => toActivity(r, names)) },
      displayNamesUnavailable: names === undefined,
    };
  }

  /**
   * The author is the api's authenticated caller, trusted as it is (users owns users' data; asking again
   * would only race with the same deletions): a post by a user deleted since is stored like any other, and
   * reads show it without a display name, as for any handle users no longer knows.
   */
  async createActivity(req: CreateActivityRequest, call: AnyCall): Promise<CreateActivityResponse> {
    const handle = validArgument(checkHandle(req.handle));
    const message = validArgument(checkMessage(req.message));
    const ttlMs = validArgument(checkTtl(req.ttl));
    const displayName = validArgument(checkDisplayName(req.displayName));
    setActingUser(handle);
    await this.failSome();
    await this.moderate(message, handle, call);
    const createdAt = this.deps.now();
    const activity: StoredActivity = { uuid: randomUUID(), handle, message, createdAt, expiresAt: createdAt + ttlMs };
    await sendEvent(async (trace) => {
      const event = encodeEvent({
        type: "activity.created",
        actor: handle,
        activityUuid: activity.uuid,
        message,
        createdAt: new Date(createdAt).toISOString(),
        ...trace,
      });
      return { result: undefined, streamId: await this.deps.store.createActivity(activity, event) };
    });
    return { activity: toActivity({ ...activity, likesCount: 0, repliesCount: 0 }, new Map([[handle, displayName]])) };
  }

  /** A reply expires together with the activity it answers (the request carries no ttl). Its author is trusted as in createActivity. */
  async reply(req: ReplyRequest, call: AnyCall): Promise<ReplyResponse> {
    const handle = validArgument(checkHandle(req.handle));
    const parentUuid = checkUuid(req.activityUuid, "activity_uuid");
    const message = validArgument(checkMessage(req.message));
    const displayName = validArgument(checkDisplayName(req.displayName));
    setActingUser(handle);
    const parent = await this.liveActivity(parentUuid);
    await this.moderate(message, handle, call);
    const createdAt = this.deps.now();
    const reply = { uuid: randomUUID(), handle, message, createdAt, expiresAt: parent.expiresAt, replyTo: parent.uuid };
    await sendEvent(async (trace) => {
      const event = encodeEvent({
        type: "activity.replied",
        actor: handle,
        activityUuid: reply.uuid,
        targetHandle: parent.handle,
        targetActivityUuid: parent.uuid,
        message,
        createdAt: new Date(createdAt).toISOString(),
        ...trace,
      });
      return { result: undefined, streamId: await this.deps.store.createReply(reply, event) };
    });
    return { reply: toActivity({ ...reply, likesCount: 0, repliesCount: 0 }, new Map([[handle, displayName]])) };
  }

  /** The liker is trusted as in createActivity; the answer names the liked activity's author, from users. */
  async like(req: LikeRequest, call: AnyCall): Promise<LikeResponse> {
    const handle = validArgument(checkHandle(req.handle));
    const uuid = checkUuid(req.activityUuid, "activity_uuid");
    setActingUser(handle);
    const activity = await this.liveActivity(uuid);
    const liked = await sendEvent(async (trace) => {
      const event = encodeEvent({
        type: "activity.liked",
        actor: handle,
        activityUuid: uuid,
        targetHandle: activity.handle,
        createdAt: new Date(this.deps.now()).toISOString(),
        ...trace,
      });
      const result = await this.deps.store.like(uuid, handle, activity.expiresAt, event);
      return { result, streamId: result.streamId };
    });
    const names = await this.displayNames([activity.handle], call);
    return { activity: toActivity({ ...activity, likesCount: liked.likesCount }, names), newlyLiked: liked.newlyLiked };
  }

  /**
   * activities-errors: V % of CreateActivity fail as a bug would, with an Error the gRPC adapter answers
   * with INTERNAL (and logs); only the failed calls' spans are marked.
   */
  private async failSome(): Promise<void> {
    const percent = await this.deps.faults?.value("activities-errors");
    if (!percent || Math.random() * 100 >= percent) return;
    markFault(trace.getActiveSpan(), "activities-errors", percent);
    throw new Error(`fault activities-errors: injected failure (${percent} % of CreateActivity)`);
  }

  /**
   * Asks moderation whether `message` may be stored, within moderationDeadlineMs and the incoming
   * call's deadline: refused → INVALID_ARGUMENT with the reasons; no answer in time → stored anyway,
   * the span says app.moderation.skipped=true and why.
   */
  private async moderate(message: string, handle: string, call: AnyCall): Promise<void> {
    if (!this.deps.moderation) return;
    // moderation-unreachable: the call goes to an address where nothing listens, and fails as an outage would.
    const unreachable = await this.deps.faults?.active("moderation-unreachable");
    const outcome = await this.deps.moderation.check(message, handle, deadlineIn(this.deps.moderationDeadlineMs, call), {
      unreachable: unreachable !== undefined,
    });
    setModerationOutcome(outcome);
    if (outcome.verdict === "refused") throw invalidArgument(`message refused by moderation: ${outcome.reasons.join("; ")}`);
    if (outcome.verdict === "skipped") {
      this.deps.logger.warn({ reason: outcome.reason, detail: outcome.detail }, "moderation unavailable; storing without a verdict");
    }
  }

  /** The activity, or NOT_FOUND when it is unknown or expired. */
  private async liveActivity(uuid: string): Promise<ActivityRecord> {
    const activity = (await this.deps.store.getActivities([uuid])).get(uuid);
    if (!activity || activity.expiresAt <= this.deps.now()) throw notFound(`activity ${uuid} not found`);
    return activity;
  }

  /**
   * Display names from users in one BatchGetUsers call, bounded by usersDeadlineMs and the incoming
   * call's deadline. undefined when users fails: callers answer anyway and flag it.
   */
  private async displayNames(handles: string[], call: AnyCall): Promise<Map<string, string> | undefined> {
    const unique = [...new Set(handles)];
    if (unique.length === 0) return new Map();
    try {
      const res = await callUnary(this.deps.users.batchGetUsers.bind(this.deps.users), { handles: unique }, {
        deadline: deadlineIn(this.deps.usersDeadlineMs, call),
        parent: call,
      });
      return new Map(res.users.map((u) => [u.handle, u.displayName]));
    } catch (err) {
      this.deps.logger.warn({ err: errorText(err) }, "users unavailable; answering without display names");
      return undefined;
    }
  }

  /**
   * One page of a timeline, newest first, skipping expired activities. Expiry is checked against
   * expires_at here because the sets are scored by created_at (ZREMRANGEBYSCORE cannot find expired
   * members); members whose activity is gone or expired are removed lazily as they are met.
   */
  private async feedPage(
    key: string,
    limit: number,
    cursor: TimelineEntry | undefined,
  ): Promise<{ items: ActivityRecord[]; nextCursor: string }> {
    const { store } = this.deps;
    const now = this.deps.now();
    const want = limit + 1; // one extra tells whether another page exists
    const live: Array<{ entry: TimelineEntry; record: ActivityRecord }> = [];
    let offset = 0;
    let exhausted = false;
    let lastScanned: TimelineEntry | undefined;
    for (let round = 0; round < MAX_SCAN_ROUNDS && live.length < want && !exhausted; round++) {
      const maxScore = cursor ? cursor.score : "+inf";
      // redis-slow-timeline: the home timeline's read, slower in Redis; it and `assemble timeline` are marked.
      const slowMs = key === keys.homeTimeline() ? await this.deps.faults?.active("redis-slow-timeline") : undefined;
      const slice = slowMs
        ? await store.slowTimelineSlice(key, maxScore, offset, want, slowMs, faultAttributes("redis-slow-timeline", slowMs))
        : await store.timelineSlice(key, maxScore, offset, want);
      offset += slice.length;
      exhausted = slice.length < want;
      // Equal scores come in descending uuid order; skip what the cursor already covered.
      const fresh = slice.filter((e) => !cursor || e.score < cursor.score || e.uuid < cursor.uuid);
      const records = await store.getActivities(fresh.map((e) => e.uuid));
      const gone: string[] = [];
      for (const entry of fresh) {
        if (live.length === want) break;
        lastScanned = entry;
        const record = records.get(entry.uuid);
        if (!record || record.expiresAt <= now) gone.push(entry.uuid);
        else live.push({ entry, record });
      }
      if (gone.length > 0) {
        try {
          await store.removeFromTimeline(key, gone);
          offset -= gone.length; // they no longer take a place in the set
        } catch (err) {
          this.deps.logger.warn({ err: errorText(err) }, "could not remove expired timeline entries");
        }
      }
    }
    if (live.length > limit) {
      return { items: live.slice(0, limit).map((l) => l.record), nextCursor: encodeCursor(live[limit - 1]!.entry) };
    }
    // Scan budget spent before the end: continue after the last entry looked at.
    const nextCursor = !exhausted && lastScanned ? encodeCursor(lastScanned) : "";
    return { items: live.map((l) => l.record), nextCursor };
  }
}
