// tools: redis
// ActivitiesService against a real redis-server, with the real users service, both as gRPC
// servers on free ports (in-process).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { freePort, startRedis, type LocalRedis } from "@tracemesh/devkit";
import { ActivitiesServiceClient, Ttl, UsersServiceClient, type Activity } from "@tracemesh/proto";
import {
  EVENTS_STREAM,
  callUnary,
  createClient,
  createLogger,
  createRedis,
  decodeEvent,
  startGrpcServer,
  type Redis,
  type RunningGrpcServer,
} from "@tracemesh/runtime";
import { createUsersServer } from "@tracemesh/users";
import { createActivitiesServer } from "../src/server.js";
import { ActivitiesStore, keys } from "../src/store.js";

const logger = createLogger("activities-test", "silent");
const HOUR = 3600_000;
const deadline = () => ({ deadline: new Date(Date.now() + 3000) });

async function expectCode(p: Promise<unknown>, code: status): Promise<void> {
  await assert.rejects(p, (err: { code?: number; details?: string }) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code ?? -1]} (${err.details})`);
    return true;
  });
}

describe("activities service", { timeout: 90_000 }, () => {
  let redisServer: LocalRedis;
  let redis: Redis;
  const servers: RunningGrpcServer[] = [];
  const clients: Array<{ close(): void }> = [];
  let users: UsersServiceClient;
  let client: ActivitiesServiceClient;

  /** An activities server on a free port; `now` shifts its clock, `usersAddr` picks its users. */
  async function activitiesClient(opts: { now?: () => number; usersAddr?: string } = {}): Promise<ActivitiesServiceClient> {
    const usersClient = createClient(UsersServiceClient, opts.usersAddr ?? `127.0.0.1:${servers[0]!.port}`);
    clients.push(usersClient);
    const server = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      services: [createActivitiesServer({ redis, logger, users: usersClient, now: opts.now })],
    });
    servers.push(server);
    const c = createClient(ActivitiesServiceClient, `127.0.0.1:${server.port}`);
    clients.push(c);
    return c;
  }

  // The display names the api would pass with each write, as Authenticate gave them.
  const displayNames = new Map<string, string>();
  const createUser = (handle: string, displayName: string) => {
    displayNames.set(handle, displayName);
    return callUnary(users.createUser.bind(users), { handle, displayName }, deadline());
  };
  const post = (handle: string, message: string, ttl = Ttl.TTL_1_DAY, c = client) =>
    callUnary(c.createActivity.bind(c), { handle, displayName: displayNames.get(handle) ?? "", message, ttl }, deadline()).then((r) => r.activity!);
  const sendReply = (handle: string, activityUuid: string, message: string, c = client) =>
    callUnary(c.reply.bind(c), { handle, displayName: displayNames.get(handle) ?? "", activityUuid, message }, deadline());
  const home = (limit: number, cursor = "", c = client) =>
    callUnary(c.homeFeed.bind(c), { limit, cursor }, deadline());
  const userFeed = (handle: string, limit = 0, cursor = "", c = client) =>
    callUnary(c.userFeed.bind(c), { handle, limit, cursor }, deadline());
  const lastEvent = async () => {
    const [entry] = await redis.xrevrange(EVENTS_STREAM, "+", "-", "COUNT", 1);
    return entry ? { id: entry[0], event: decodeEvent(entry[1]) } : undefined;
  };
  const activityKeys = async () => (await redis.keys(keys.activity("*"))).length;

  before(async () => {
    redisServer = await startRedis();
    redis = createRedis(redisServer.url, logger, { commandTimeoutMs: 1000 });
    servers.push(
      await startGrpcServer({ host: "127.0.0.1", port: 0, services: [createUsersServer({ redis, logger, sessionTtlSeconds: 3600 })] }),
    );
    users = createClient(UsersServiceClient, `127.0.0.1:${servers[0]!.port}`);
    clients.push(users);
    client = await activitiesClient();
    await createUser("alice", "Alice");
    await createUser("bob", "Bob");
    await createUser("carol", "Carol");
  });

  after(async () => {
    for (const c of clients) c.close();
    for (const s of servers) await s.shutdown(1000);
    await redis?.quit();
    await redisServer?.stop();
  });

  test("create appends an event in the same step and returns the activity", { timeout: 10_000 }, async () => {
    const before = Date.now();
    const a = await post("alice", "  hello @bob  ", Ttl.TTL_3_HOURS);
    assert.match(a.uuid, /^[0-9a-f-]{36}$/);
    assert.equal(a.handle, "alice");
    assert.equal(a.displayName, "Alice");
    assert.equal(a.message, "hello @bob", "trimmed");
    assert.equal(a.expiresAt!.getTime() - a.createdAt!.getTime(), 3 * HOUR);
    assert.ok(a.createdAt!.getTime() >= before - 5);
    assert.equal(a.likesCount, 0);
    assert.equal(a.replyToActivityUuid, "");

    const pttl = await redis.pttl(keys.activity(a.uuid));
    assert.ok(pttl > 3 * HOUR - 10_000 && pttl <= 3 * HOUR, `activity hash expires with the activity (${pttl})`);
    assert.notEqual(await redis.zscore(keys.homeTimeline(), a.uuid), null);
    assert.notEqual(await redis.zscore(keys.userTimeline("alice"), a.uuid), null);

    const last = await lastEvent();
    assert.equal(last?.event.type, "activity.created");
    assert.equal(last?.event.actor, "alice");
    assert.equal(last?.event.activityUuid, a.uuid);
    assert.equal(last?.event.message, "hello @bob");

    const got = await callUnary(client.getActivity.bind(client), { uuid: a.uuid }, deadline());
    assert.equal(got.activity?.message, "hello @bob");
    assert.equal(got.activity?.displayName, "Alice");
    assert.equal(got.displayNamesUnavailable, false);
  });

  test("bad arguments get INVALID_ARGUMENT / NOT_FOUND and store nothing", { timeout: 15_000 }, async () => {
    const events = await redis.xlen(EVENTS_STREAM);
    const stored = await activityKeys();
    const tooLong = "x".repeat(281);
    for (const [handle, message, ttl] of [
      ["alice", "", Ttl.TTL_1_DAY],
      ["alice", "   \n  ", Ttl.TTL_1_DAY],
      ["alice", tooLong, Ttl.TTL_1_DAY],
      ["alice", "ok", Ttl.TTL_UNSPECIFIED],
      ["alice", "ok", 99 as Ttl],
      ["Alice", "ok", Ttl.TTL_1_DAY],
      ["", "ok", Ttl.TTL_1_DAY],
    ] as const) {
      await expectCode(callUnary(client.createActivity.bind(client), { handle, displayName: "Alice", message, ttl }, deadline()), status.INVALID_ARGUMENT);
    }
    // The author's display name comes with the request (from the api's Authenticate) and is checked like users checks it.
    for (const displayName of ["", "   ", "x".repeat(51), "A\u0007"]) {
      await expectCode(callUnary(client.createActivity.bind(client), { handle: "alice", displayName, message: "ok", ttl: Ttl.TTL_1_DAY }, deadline()), status.INVALID_ARGUMENT);
    }

    const parent = await post("bob", "parent");
    const afterParent = { events: await redis.xlen(EVENTS_STREAM), stored: await activityKeys() };
    await expectCode(sendReply("alice", parent.uuid, ""), status.INVALID_ARGUMENT);
    await expectCode(sendReply("alice", parent.uuid, tooLong), status.INVALID_ARGUMENT);
    await expectCode(sendReply("alice", "not-a-uuid", "hi"), status.INVALID_ARGUMENT);
    await expectCode(sendReply("alice", "00000000-0000-4000-8000-000000000000", "hi"), status.NOT_FOUND);
    await expectCode(callUnary(client.reply.bind(client), { handle: "alice", displayName: "", activityUuid: parent.uuid, message: "hi" }, deadline()), status.INVALID_ARGUMENT);
    const like = (handle: string, activityUuid: string) => callUnary(client.like.bind(client), { handle, activityUuid }, deadline());
    await expectCode(like("alice", "nope"), status.INVALID_ARGUMENT);
    await expectCode(like("BAD", parent.uuid), status.INVALID_ARGUMENT);
    await expectCode(like("alice", "00000000-0000-4000-8000-000000000000"), status.NOT_FOUND);
    await expectCode(callUnary(client.getActivity.bind(client), { uuid: "00000000-0000-4000-8000-000000000000" }, deadline()), status.NOT_FOUND);
    await expectCode(callUnary(client.getActivity.bind(client), { uuid: "../etc" }, deadline()), status.INVALID_ARGUMENT);
    for (const limit of [-1, 101, 1000]) await expectCode(home(limit), status.INVALID_ARGUMENT);
    for (const cursor of ["garbage", "!!!", Buffer.from("12:not-a-uuid").toString("base64url")]) {
      await expectCode(home(5, cursor), status.INVALID_ARGUMENT);
    }
    await expectCode(userFeed("NOT_VALID"), status.INVALID_ARGUMENT);
    await expectCode(userFeed("ghost"), status.NOT_FOUND);

    assert.equal(await redis.xlen(EVENTS_STREAM), events + 1, "only the valid create appended an event");
    assert.equal(await activityKeys(), stored + 1, "only the valid create stored an activity");
    assert.equal(await redis.xlen(EVENTS_STREAM), afterParent.events);
    assert.equal(await activityKeys(), afterParent.stored);
    assert.equal(await redis.exists(keys.likes(parent.uuid)), 0);
    assert.equal(await redis.exists(keys.replies(parent.uuid)), 0);

    // 280 characters that take 560 UTF-16 units are fine: characters are counted.
    const emoji = await post("alice", "🙂".repeat(280));
    assert.equal([...emoji.message].length, 280);
  });

  test("reply expires with its parent, appears in GetActivity and appends an event", { timeout: 10_000 }, async () => {
    const parent = await post("bob", "what do you think?", Ttl.TTL_12_HOURS);
    const { reply } = await sendReply("carol", parent.uuid, "great, @alice?");
    assert.equal(reply?.replyToActivityUuid, parent.uuid);
    assert.equal(reply?.expiresAt?.getTime(), parent.expiresAt?.getTime());
    assert.equal(reply?.displayName, "Carol");
    const last = await lastEvent();
    assert.equal(last?.event.type, "activity.replied");
    assert.equal(last?.event.actor, "carol");
    assert.equal(last?.event.activityUuid, reply?.uuid);
    assert.equal(last?.event.targetHandle, "bob");
    assert.equal(last?.event.targetActivityUuid, parent.uuid);

    const got = await callUnary(client.getActivity.bind(client), { uuid: parent.uuid }, deadline());
    assert.equal(got.activity?.repliesCount, 1);
    assert.deepEqual(got.activity?.replies.map((r) => [r.uuid, r.handle, r.displayName]), [[reply?.uuid, "carol", "Carol"]]);
    // Replies are not top-level: not in the home timeline.
    assert.equal(await redis.zscore(keys.homeTimeline(), reply!.uuid), null);
  });

  test("like is idempotent per user and appends one event per new like", { timeout: 10_000 }, async () => {
    const a = await post("alice", "like me");
    const like = (handle: string) => callUnary(client.like.bind(client), { handle, activityUuid: a.uuid }, deadline());
    const events = await redis.xlen(EVENTS_STREAM);
    const first = await like("bob");
    assert.equal(first.newlyLiked, true);
    assert.equal(first.activity?.likesCount, 1);
    const last = await lastEvent();
    assert.equal(last?.event.type, "activity.liked");
    assert.equal(last?.event.actor, "bob");
    assert.equal(last?.event.targetHandle, "alice");
    assert.equal(last?.event.activityUuid, a.uuid);
    const again = await like("bob");
    assert.equal(again.newlyLiked, false);
    assert.equal(again.activity?.likesCount, 1);
    assert.equal(await redis.xlen(EVENTS_STREAM), events + 1, "a repeated like appends nothing");
    const other = await like("carol");
    assert.equal(other.activity?.likesCount, 2);
    assert.equal(await redis.xlen(EVENTS_STREAM), events + 2);
    assert.ok((await redis.pttl(keys.likes(a.uuid))) > 0, "likes expire with the activity");
  });

  test("home feed pages newest first with an opaque cursor", { timeout: 15_000 }, async () => {
    const mine: string[] = [];
    for (let i = 0; i < 7; i++) mine.push((await post("carol", `page test ${i}`)).uuid);
    const seen: Activity[] = [];
    let cursor = "";
    let pages = 0;
    do {
      const page = await home(3, cursor);
      assert.ok(page.activities.length <= 3);
      assert.equal(page.displayNamesUnavailable, false);
      seen.push(...page.activities);
      cursor = page.nextCursor;
      pages++;
      assert.ok(pages < 50, "pagination terminates");
    } while (cursor !== "");
    const uuids = seen.map((a) => a.uuid);
    assert.equal(new Set(uuids).size, uuids.length, "no activity twice");
    assert.equal(uuids.length, await redis.zcard(keys.homeTimeline()), "every live top-level activity once");
    const times = seen.map((a) => a.createdAt!.getTime());
    assert.deepEqual(times, [...times].sort((x, y) => y - x), "newest first");
    // The newest seven are carol's, newest first.
    assert.deepEqual(uuids.slice(0, 7), [...mine].reverse());
    assert.ok(seen.every((a) => a.displayName !== ""));

    const exact = await home(7);
    assert.equal(exact.activities.length, 7);
    assert.notEqual(exact.nextCursor, "", "more pages exist");
    const byDefault = await home(0);
    assert.equal(byDefault.activities.length, Math.min(20, uuids.length));

    const feed = await userFeed("carol", 5);
    assert.equal(feed.user?.displayName, "Carol");
    assert.equal(feed.handle, "carol");
    assert.equal(feed.activities.length, 5);
    assert.ok(feed.activities.every((a) => a.handle === "carol" && a.displayName === "Carol"));
    const rest = await userFeed("carol", 100, feed.nextCursor);
    assert.equal(rest.nextCursor, "", "last page has no cursor");
    assert.equal(feed.activities.length + rest.activities.length, await redis.zcard(keys.userTimeline("carol")));
  });

  test("expired activities never appear and are removed from timelines", { timeout: 20_000 }, async () => {
    await createUser("dora", "Dora");
    // A server whose clock runs 1 h minus 1.5 s behind: its 1-hour activities expire 1.5 s from now.
    const behind = await activitiesClient({ now: () => Date.now() - HOUR + 1500 });
    const shortLived = await post("dora", "gone soon", Ttl.TTL_1_HOUR, behind);
    const lasting = await post("dora", "still here", Ttl.TTL_1_DAY);
    assert.ok((await home(100)).activities.some((a) => a.uuid === shortLived.uuid), "visible before expiry");

    const startedAt = Date.now();
    for (;;) {
      const feed = await home(100);
      if (!feed.activities.some((a) => a.uuid === shortLived.uuid)) break;
      assert.ok(Date.now() - startedAt < 5000, "expired activity still listed 5 s later");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(await redis.zscore(keys.homeTimeline(), shortLived.uuid), null, "lazily removed from the home timeline");
    await expectCode(callUnary(client.getActivity.bind(client), { uuid: shortLived.uuid }, deadline()), status.NOT_FOUND);
    await expectCode(sendReply("alice", shortLived.uuid, "late"), status.NOT_FOUND);
    await expectCode(callUnary(client.like.bind(client), { handle: "alice", activityUuid: shortLived.uuid }, deadline()), status.NOT_FOUND);
    const doraFeed = await userFeed("dora", 10);
    assert.deepEqual(doraFeed.activities.map((a) => a.uuid), [lasting.uuid]);

    // expires_at is checked, not only Redis' deletion: a clock 2 days ahead sees dora's 1-day
    // activity as expired although its hash still exists.
    const ahead = await activitiesClient({ now: () => Date.now() + 48 * HOUR });
    assert.equal(await redis.exists(keys.activity(lasting.uuid)), 1);
    const future = await userFeed("dora", 10, "", ahead);
    assert.deepEqual(future.activities, []);
    assert.equal(future.nextCursor, "");
  });

  test("feeds answer without display names when users is down", { timeout: 15_000 }, async () => {
    const closedPort = await freePort();
    const noUsers = await activitiesClient({ usersAddr: `127.0.0.1:${closedPort}` });
    const startedAt = Date.now();
    const feed = await home(5, "", noUsers);
    assert.ok(Date.now() - startedAt < 2000, "answered promptly");
    assert.equal(feed.displayNamesUnavailable, true);
    assert.equal(feed.activities.length, 5);
    assert.ok(feed.activities.every((a) => a.displayName === "" && a.handle !== ""));

    const profile = await userFeed("alice", 5, "", noUsers);
    assert.equal(profile.displayNamesUnavailable, true);
    assert.equal(profile.user, undefined);
    assert.equal(profile.handle, "alice");
    assert.ok(profile.activities.length > 0);

    const one = await callUnary(noUsers.getActivity.bind(noUsers), { uuid: feed.activities[0]!.uuid }, deadline());
    assert.equal(one.displayNamesUnavailable, true);
    // Writes still work, and do not ask users: the author's display name comes with the request.
    const created = await post("alice", "users is down", Ttl.TTL_1_DAY, noUsers);
    assert.equal(created.displayName, "Alice");
  });

  test("redis-slow-timeline: concurrent slowed reads each wait V in Redis, not behind each other, on at most 32 connections of their own", { timeout: 15_000 }, async () => {
    const store = new ActivitiesStore(redis, 1000);
    const connections = async () => String(await redis.client("LIST")).trim().split("\n").length;
    const connectionsBefore = await connections();
    const [extraMs, reads] = [200, 34];
    const expected = await store.timelineSlice(keys.homeTimeline(), "+inf", 0, 5);
    const startedAt = performance.now();
    const slices = await Promise.all(
      Array.from({ length: reads }, () => store.slowTimelineSlice(keys.homeTimeline(), "+inf", 0, 5, extraMs, {})),
    );
    const tookMs = performance.now() - startedAt;
    for (const slice of slices) assert.deepEqual(slice, expected);
    // WAIT holds each read at least extraMs, so reads queued on one connection could not end before reads × extraMs.
    assert.ok(tookMs >= extraMs && tookMs < reads * extraMs, `${reads} slowed reads of ${extraMs} ms took ${Math.round(tookMs)} ms`);
    assert.equal((await connections()) - connectionsBefore, 32, "one connection per concurrent read, up to 32");
  });

  test("a post whose author users does not know (deleted after the api's Authenticate) is stored; reads show it without a display name", { timeout: 10_000 }, async () => {
    // activities trusts the author the api authenticated and reads nothing of users' data, so a user
    // removed between Authenticate and CreateActivity looks to it exactly like this handle users never had.
    const { activity } = await callUnary(
      client.createActivity.bind(client),
      { handle: "left_us", displayName: "Left Us", message: "posted on the way out, @alice", ttl: Ttl.TTL_1_HOUR },
      deadline(),
    );
    assert.equal(activity?.handle, "left_us");
    assert.equal(activity?.displayName, "Left Us", "the answer carries the name the api passed");
    const last = await lastEvent();
    assert.deepEqual([last?.event.type, last?.event.actor, last?.event.activityUuid], ["activity.created", "left_us", activity?.uuid]);

    // Reads ask users for names: it answers, without this author, so the name is empty but not "unavailable".
    const feed = await home(100);
    const listed = feed.activities.find((a) => a.uuid === activity?.uuid);
    assert.equal(listed?.displayName, "");
    assert.equal(feed.displayNamesUnavailable, false);
    const got = await callUnary(client.getActivity.bind(client), { uuid: activity!.uuid }, deadline());
    assert.equal(got.activity?.displayName, "");
    assert.equal(got.displayNamesUnavailable, false);
    // Their profile feed is NOT_FOUND, like any handle users does not know.
    await expectCode(userFeed("left_us"), status.NOT_FOUND);
    // Replies and likes by such a user are stored the same way.
    const { reply } = await callUnary(client.reply.bind(client), { handle: "left_us", displayName: "Left Us", activityUuid: activity!.uuid, message: "and one more" }, deadline());
    assert.equal(reply?.displayName, "Left Us");
    const liked = await callUnary(client.like.bind(client), { handle: "left_us", activityUuid: activity!.uuid }, deadline());
    assert.equal(liked.newlyLiked, true);
    assert.equal(liked.activity?.displayName, "", "the liked activity's author, as users knows them (not at all)");
  });
});
