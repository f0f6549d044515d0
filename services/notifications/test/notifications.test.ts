// tools: redis
// NotificationsService and its events consumer against a real redis-server, fed by the real
// activities and users services (all gRPC servers on free ports, in-process); the consumer asks the
// real users service which mentioned handles are users.
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, afterEach, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { createActivitiesServer } from "@tracemesh/activities";
import { freePort, startRedis, waitFor, type LocalRedis } from "@tracemesh/devkit";
import {
  ActivitiesServiceClient,
  NotificationKind,
  NotificationsServiceClient,
  Ttl,
  UsersServiceClient,
} from "@tracemesh/proto";
import {
  EVENTS_CONSUMER_GROUP,
  EVENTS_STREAM,
  callUnary,
  createClient,
  createLogger,
  createRedis,
  encodeEvent,
  startGrpcServer,
  type Logger,
  type Redis,
  type RunningGrpcServer,
} from "@tracemesh/runtime";
import { createUsersServer } from "@tracemesh/users";
import type { ConsumerConfig } from "../src/config.js";
import { EventsConsumer } from "../src/consumer.js";
import { createNotificationsServer } from "../src/server.js";
import { EVENTS_DEAD_LETTER_STREAM, NotificationsStore, keys } from "../src/store.js";
import { knownUsersFrom, type KnownUsers } from "../src/users.js";

const deadline = () => ({ deadline: new Date(Date.now() + 3000) });
const silent = createLogger("notifications-test", "silent");

/** A logger whose lines the test can read (to see that the consumer got to an entry). */
function capturingLogger(): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split("\n")) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger("notifications-test", "info", sink), lines };
}

function consumerConfig(overrides: Partial<ConsumerConfig>): ConsumerConfig {
  return { consumerName: "test", blockMs: 200, claimIdleMs: 60_000, claimIntervalMs: 60_000, maxDeliveries: 5, perUserCap: 500, ...overrides };
}

async function expectCode(p: Promise<unknown>, code: status): Promise<void> {
  await assert.rejects(p, (err: { code?: number; details?: string }) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code ?? -1]} (${err.details})`);
    return true;
  });
}

async function pendingCount(redis: Redis): Promise<number> {
  const summary = (await redis.xpending(EVENTS_STREAM, EVENTS_CONSUMER_GROUP)) as [number, ...unknown[]];
  return Number(summary[0]);
}

describe("notifications from real activity events", { timeout: 90_000 }, () => {
  let redisServer: LocalRedis;
  let redis: Redis;
  let consumerRedis: Redis;
  let consumer: EventsConsumer;
  const servers: RunningGrpcServer[] = [];
  const clients: Array<{ close(): void }> = [];
  let users: UsersServiceClient;
  let activities: ActivitiesServiceClient;
  let notifications: NotificationsServiceClient;

  const list = (handle: string, limit = 0) =>
    callUnary(notifications.listNotifications.bind(notifications), { handle, limit }, deadline()).then((r) => r.notifications);

  before(async () => {
    redisServer = await startRedis();
    redis = createRedis(redisServer.url, silent, { commandTimeoutMs: 1000 });
    consumerRedis = createRedis(redisServer.url, silent, { commandTimeoutMs: 3000 });
    const usersServer = await startGrpcServer({ host: "127.0.0.1", port: 0, services: [createUsersServer({ redis, logger: silent, sessionTtlSeconds: 3600 })] });
    servers.push(usersServer);
    users = createClient(UsersServiceClient, `127.0.0.1:${usersServer.port}`);
    const usersForActivities = createClient(UsersServiceClient, `127.0.0.1:${usersServer.port}`);
    const activitiesServer = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      services: [createActivitiesServer({ redis, logger: silent, users: usersForActivities })],
    });
    servers.push(activitiesServer);
    activities = createClient(ActivitiesServiceClient, `127.0.0.1:${activitiesServer.port}`);
    const notificationsServer = await startGrpcServer({ host: "127.0.0.1", port: 0, services: [createNotificationsServer({ redis, logger: silent })] });
    servers.push(notificationsServer);
    notifications = createClient(NotificationsServiceClient, `127.0.0.1:${notificationsServer.port}`);
    const usersForConsumer = createClient(UsersServiceClient, `127.0.0.1:${usersServer.port}`);
    clients.push(users, usersForActivities, usersForConsumer, activities, notifications);
    consumer = new EventsConsumer(new NotificationsStore(consumerRedis), knownUsersFrom(usersForConsumer, 1000), silent, consumerConfig({ consumerName: "flow" }));
    consumer.start();
    for (const h of ["alice", "bob", "carol"]) {
      await callUnary(users.createUser.bind(users), { handle: h, displayName: h.toUpperCase() }, deadline());
    }
  });

  after(async () => {
    await consumer?.stop(3000);
    for (const c of clients) c.close();
    for (const s of servers) await s.shutdown(1000);
    await redis?.quit();
    await consumerRedis?.quit();
    await redisServer?.stop();
  });

  test("mentions, replies and likes notify the right users, once", { timeout: 20_000 }, async () => {
    const post = await callUnary(
      activities.createActivity.bind(activities),
      { handle: "bob", displayName: "BOB", message: "hi @alice and @Carol and @ghost_user and @bob", ttl: Ttl.TTL_1_DAY },
      deadline(),
    );
    const bobPost = post.activity!;
    // alice replies and mentions bob: bob gets one REPLY (not also a MENTION).
    const reply = await callUnary(activities.reply.bind(activities), { handle: "alice", displayName: "ALICE", activityUuid: bobPost.uuid, message: "thanks @bob!" }, deadline());
    await callUnary(activities.like.bind(activities), { handle: "carol", activityUuid: bobPost.uuid }, deadline());
    await callUnary(activities.like.bind(activities), { handle: "carol", activityUuid: bobPost.uuid }, deadline()); // repeated: no event
    await callUnary(activities.like.bind(activities), { handle: "bob", activityUuid: bobPost.uuid }, deadline()); // own: nobody
    await callUnary(activities.reply.bind(activities), { handle: "bob", displayName: "BOB", activityUuid: bobPost.uuid, message: "replying to myself" }, deadline());

    await waitFor("every event acknowledged", async () => (await redis.xlen(EVENTS_STREAM)) === 5 && (await pendingCount(redis)) === 0 && (await redis.xinfo("GROUPS", EVENTS_STREAM) as unknown[][]).length === 1, { timeoutMs: 10_000 });
    await waitFor("bob's notifications", async () => (await list("bob")).length === 2, { timeoutMs: 5000 });

    const bob = await list("bob");
    assert.deepEqual(
      bob.map((n) => [n.kind, n.actorHandle, n.activityUuid]),
      [
        [NotificationKind.NOTIFICATION_KIND_LIKE, "carol", bobPost.uuid],
        [NotificationKind.NOTIFICATION_KIND_REPLY, "alice", bobPost.uuid],
      ],
      "newest first: carol's like, then alice's reply",
    );
    assert.equal(bob[1]!.excerpt, "thanks @bob!");
    assert.equal(bob[0]!.excerpt, "");

    const alice = await list("alice");
    assert.deepEqual(alice.map((n) => [n.kind, n.actorHandle, n.activityUuid]), [[NotificationKind.NOTIFICATION_KIND_MENTION, "bob", bobPost.uuid]]);
    const carol = await list("carol");
    assert.deepEqual(carol.map((n) => n.kind), [NotificationKind.NOTIFICATION_KIND_MENTION], "mentions are case-insensitive");
    assert.deepEqual(await list("ghost_user"), [], "no notifications for users that do not exist");
    assert.equal(await redis.exists(keys.notifications("ghost_user")), 0);
    assert.ok(reply.reply?.uuid);
    assert.ok(alice[0]!.id.endsWith(":alice:mention"));
    assert.ok(alice[0]!.createdAt instanceof Date);

    // Redelivering the same event (e.g. after a crash before XACK) does not notify twice.
    const store = new NotificationsStore(redis);
    const [first] = await redis.xrange(EVENTS_STREAM, "-", "+", "COUNT", 1);
    await store.saveNotifications([{ id: `${first![0]}:alice:mention`, recipient: "alice", kind: "mention", actorHandle: "bob", activityUuid: bobPost.uuid, excerpt: "x", createdAt: new Date() }]);
    assert.equal((await list("alice")).length, 1);
  });

  test("ListNotifications validates its arguments", { timeout: 10_000 }, async () => {
    await expectCode(list("Bad Handle"), status.INVALID_ARGUMENT);
    await expectCode(list(""), status.INVALID_ARGUMENT);
    await expectCode(list("alice", 101), status.INVALID_ARGUMENT);
    await expectCode(list("alice", -5), status.INVALID_ARGUMENT);
    assert.deepEqual(await list("nobody_here"), []);
    assert.equal((await list("bob", 1)).length, 1);
  });
});

describe("consumer delivery guarantees", { timeout: 90_000 }, () => {
  let redisServer: LocalRedis;
  let redis: Redis;
  let usersServer: RunningGrpcServer;
  let usersClient: UsersServiceClient;
  const connections: Redis[] = [];
  const running: EventsConsumer[] = [];

  function startConsumer(config: Partial<ConsumerConfig>, logger: Logger = silent, knownUsers: KnownUsers = knownUsersFrom(usersClient, 1000)): EventsConsumer {
    const conn = createRedis(redisServer.url, silent, { commandTimeoutMs: 3000 });
    connections.push(conn);
    const c = new EventsConsumer(new NotificationsStore(conn), knownUsers, logger, consumerConfig(config));
    running.push(c);
    c.start();
    return c;
  }

  const likeEvent = (actor: string, target: string) =>
    encodeEvent({ type: "activity.liked", actor, activityUuid: "11111111-1111-4111-8111-111111111111", targetHandle: target, createdAt: new Date().toISOString() });

  before(async () => {
    redisServer = await startRedis();
    redis = createRedis(redisServer.url, silent, { commandTimeoutMs: 1000 });
    usersServer = await startGrpcServer({ host: "127.0.0.1", port: 0, services: [createUsersServer({ redis, logger: silent, sessionTtlSeconds: 3600 })] });
    usersClient = createClient(UsersServiceClient, `127.0.0.1:${usersServer.port}`);
    for (const handle of ["dave", "fay"]) await callUnary(usersClient.createUser.bind(usersClient), { handle, displayName: handle }, deadline());
  });

  // Each test starts its own consumers; none may steal the next test's entries.
  afterEach(async () => {
    for (const c of running.splice(0)) await c.stop(3000);
  });

  after(async () => {
    for (const c of connections) await c.quit();
    usersClient?.close();
    await usersServer?.shutdown(1000);
    await redis?.quit();
    await redisServer?.stop();
  });

  test("the entries of one read are handled side by side, each acknowledged after its own writes", { timeout: 30_000 }, async () => {
    // users (here a stand-in that knows every handle) answers only when the gate opens: one entry at a time, the
    // second would not ask before the first one had its answer.
    const asked: string[] = [];
    let openGate!: () => void;
    const gate = new Promise<void>((resolve) => (openGate = resolve));
    const gatedUsers: KnownUsers = async (handles) => {
      asked.push(...handles);
      await gate;
      return new Set(handles);
    };
    const mentions = ["ivy", "jon", "ivy"];
    const ids: string[] = [];
    for (const [i, handle] of mentions.entries()) {
      const event = encodeEvent({ type: "activity.created", actor: "erin", activityUuid: `33333333-3333-4333-8333-00000000000${i}`, message: `hi @${handle}`, createdAt: new Date().toISOString() });
      ids.push((await redis.xadd(EVENTS_STREAM, "*", ...event))!);
    }
    startConsumer({ consumerName: "side-by-side" }, silent, gatedUsers);
    try {
      await waitFor("the three entries asking users at once", () => asked.length === 3, { timeoutMs: 10_000 });
      assert.deepEqual([...asked].sort(), [...mentions].sort());
      assert.equal(await pendingCount(redis), 3, "none acknowledged before its notifications are stored");
    } finally {
      openGate(); // also on failure: the next tests need a consumer that is not stuck
    }
    await waitFor("all three stored and acknowledged", async () => (await pendingCount(redis)) === 0, { timeoutMs: 10_000 });
    for (const [i, handle] of mentions.entries()) {
      assert.notEqual(await redis.zscore(keys.notifications(handle), `${ids[i]}:${handle}:mention`), null, `entry ${i} stored for ${handle}`);
    }
  });

  test("a failed write leaves the entry pending; another consumer claims and stores it", { timeout: 30_000 }, async () => {
    // Inject a failing write in real Redis: dave's notification list is the wrong type.
    await redis.set(keys.notifications("dave"), "not a sorted set");
    const capture = capturingLogger();
    const first = startConsumer({ consumerName: "first" }, capture.logger);
    const id = (await redis.xadd(EVENTS_STREAM, "*", ...likeEvent("erin", "dave")))!;
    await waitFor("first consumer failed on the entry", () => capture.lines.some((l) => l.msg === "event not processed; left pending" && l.stream_id === id), { timeoutMs: 10_000 });
    const pending = (await redis.xpending(EVENTS_STREAM, EVENTS_CONSUMER_GROUP, "-", "+", 10)) as Array<[string, string, number, number]>;
    assert.deepEqual(pending.map((p) => [p[0], p[1]]), [[id, "first"]], "not acknowledged after the failed write");
    await first.stop(3000);

    await redis.del(keys.notifications("dave"));
    startConsumer({ consumerName: "second", claimIdleMs: 100, claimIntervalMs: 100 });
    await waitFor("second consumer stored and acknowledged it", async () => (await pendingCount(redis)) === 0, { timeoutMs: 10_000 });
    const ids = await redis.zrange(keys.notifications("dave"), 0, -1);
    assert.deepEqual(ids, [`${id}:dave:like`]);
    assert.equal(await redis.hget(keys.notification(ids[0]!), "actor_handle"), "erin");
  });

  test("a mention while users does not answer leaves the entry pending; once users answers it is stored", { timeout: 30_000 }, async () => {
    const capture = capturingLogger();
    const noUsers = createClient(UsersServiceClient, `127.0.0.1:${await freePort()}`);
    try {
      const first = startConsumer({ consumerName: "users-down" }, capture.logger, knownUsersFrom(noUsers, 500));
      const id = (await redis.xadd(EVENTS_STREAM, "*", ...encodeEvent({ type: "activity.created", actor: "erin", activityUuid: "22222222-2222-4222-8222-222222222222", message: "hello @fay and @nobody_here", createdAt: new Date().toISOString() })))!;
      await waitFor("the entry failed while users was down", () => capture.lines.some((l) => l.msg === "event not processed; left pending" && l.stream_id === id), { timeoutMs: 10_000 });
      const pending = (await redis.xpending(EVENTS_STREAM, EVENTS_CONSUMER_GROUP, "-", "+", 10)) as Array<[string, string, number, number]>;
      assert.deepEqual(pending.map((p) => [p[0], p[1]]), [[id, "users-down"]], "not acknowledged without an answer from users");
      assert.equal(await redis.exists(keys.notifications("fay")), 0);
      await first.stop(3000);

      startConsumer({ consumerName: "users-back", claimIdleMs: 100, claimIntervalMs: 100 });
      await waitFor("claimed, stored and acknowledged", async () => (await pendingCount(redis)) === 0, { timeoutMs: 10_000 });
      assert.deepEqual(await redis.zrange(keys.notifications("fay"), 0, -1), [`${id}:fay:mention`]);
      assert.equal(await redis.exists(keys.notifications("nobody_here")), 0, "no notifications for a handle users does not know");
    } finally {
      noUsers.close();
    }
  });

  test("malformed entries and entries delivered too often go to the dead-letter stream", { timeout: 30_000 }, async () => {
    startConsumer({ consumerName: "third", claimIdleMs: 50, claimIntervalMs: 50, maxDeliveries: 2 });
    const bad = (await redis.xadd(EVENTS_STREAM, "*", "type", "activity.exploded", "actor", "x"))!;
    const noTarget = (await redis.xadd(EVENTS_STREAM, "*", "type", "activity.liked", "actor", "x", "activity_uuid", "u", "created_at", new Date().toISOString()))!;
    await redis.set(keys.notifications("dave"), "wrong type again");
    const poison = (await redis.xadd(EVENTS_STREAM, "*", ...likeEvent("frank", "dave")))!;

    const dead = async () => (await redis.xrange(EVENTS_DEAD_LETTER_STREAM, "-", "+")).map(([, f]) => {
      const m = new Map<string, string>();
      for (let i = 0; i + 1 < f.length; i += 2) m.set(f[i]!, f[i + 1]!);
      return m;
    });
    await waitFor("three dead letters", async () => (await dead()).length === 3, { timeoutMs: 15_000 });
    const letters = await dead();
    const byId = new Map(letters.map((m) => [m.get("stream_id"), m]));
    assert.match(byId.get(bad)!.get("reason")!, /malformed event: type/);
    assert.equal(byId.get(bad)!.get("type"), "activity.exploded", "original fields kept");
    assert.match(byId.get(noTarget)!.get("reason")!, /without target_handle/);
    assert.match(byId.get(poison)!.get("reason")!, /delivered 3 times \(max 2\)/);
    await waitFor("nothing left pending", async () => (await pendingCount(redis)) === 0, { timeoutMs: 5000 });
    await redis.del(keys.notifications("dave"));
  });

  test("the loop survives Redis going away and coming back", { timeout: 30_000 }, async () => {
    const capture = capturingLogger();
    startConsumer({ consumerName: "survivor" }, capture.logger);
    const groups = async () => ((await redis.xinfo("GROUPS", EVENTS_STREAM).catch(() => [])) as unknown[]).length;
    // Proof that the consumer is reading: an event it has stored.
    const warmup = (await redis.xadd(EVENTS_STREAM, "*", ...likeEvent("hal", "dave")))!;
    await waitFor("consumer reading", async () => (await redis.zscore(keys.notifications("dave"), `${warmup}:dave:like`)) !== null, { timeoutMs: 5000 });
    // Dropped connections: ioredis reconnects and resends the blocked read.
    await redis.client("KILL", "TYPE", "normal");
    // The stream and its group vanish: reads fail with NOGROUP until the loop recreates the group.
    await redis.del(EVENTS_STREAM);
    await waitFor("error logged", () => capture.lines.some((l) => l.msg === "events consumer error; retrying"), { timeoutMs: 10_000 });
    await waitFor("group recreated", async () => (await groups()) === 1, { timeoutMs: 10_000 });
    const id = (await redis.xadd(EVENTS_STREAM, "*", ...likeEvent("gina", "dave")))!;
    await waitFor("stored after reconnect", async () => (await redis.zscore(keys.notifications("dave"), `${id}:dave:like`)) !== null, { timeoutMs: 15_000 });
  });
});
