// tools: redis
// UsersService against a real redis-server and a real gRPC server on a free port (in-process).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import { startRedis, type LocalRedis } from "@tracemesh/devkit";
import { UsersServiceClient } from "@tracemesh/proto";
import {
  callUnary,
  createClient,
  createLogger,
  createRedis,
  startGrpcServer,
  type Redis,
  type RunningGrpcServer,
} from "@tracemesh/runtime";
import { createUsersServer } from "../src/server.js";
import { keys } from "../src/store.js";

const logger = createLogger("users-test", "silent");
const deadline = () => ({ deadline: new Date(Date.now() + 2000) });

async function expectCode(p: Promise<unknown>, code: status): Promise<void> {
  await assert.rejects(p, (err: { code?: number; details?: string }) => {
    assert.equal(err.code, code, `expected ${status[code]}, got ${status[err.code ?? -1]} (${err.details})`);
    return true;
  });
}

describe("users service", { timeout: 60_000 }, () => {
  let redisServer: LocalRedis;
  let redis: Redis;
  let grpc: RunningGrpcServer;
  let shortGrpc: RunningGrpcServer;
  let client: UsersServiceClient;
  let shortClient: UsersServiceClient;

  const create = (handle: string, displayName: string, c = client) =>
    callUnary(c.createUser.bind(c), { handle, displayName }, deadline());

  before(async () => {
    redisServer = await startRedis();
    redis = createRedis(redisServer.url, logger, { commandTimeoutMs: 1000 });
    grpc = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      services: [createUsersServer({ redis, logger, sessionTtlSeconds: 3600 })],
    });
    // Same Redis, 1-second sessions: for the expiry test.
    shortGrpc = await startGrpcServer({
      host: "127.0.0.1",
      port: 0,
      services: [createUsersServer({ redis, logger, sessionTtlSeconds: 1 })],
    });
    client = createClient(UsersServiceClient, `127.0.0.1:${grpc.port}`);
    shortClient = createClient(UsersServiceClient, `127.0.0.1:${shortGrpc.port}`);
  });

  after(async () => {
    client?.close();
    shortClient?.close();
    await grpc?.shutdown(1000);
    await shortGrpc?.shutdown(1000);
    await redis?.quit();
    await redisServer?.stop();
  });

  test("create, get, batch get and authenticate", { timeout: 10_000 }, async () => {
    const created = await create("alice", "  Alice Liddell  ");
    assert.equal(created.user?.handle, "alice");
    assert.equal(created.user?.displayName, "Alice Liddell", "display name is trimmed");
    assert.match(created.token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(created.user?.createdAt instanceof Date);
    assert.ok(Math.abs(created.user!.createdAt!.getTime() - Date.now()) < 5000);

    const ttl = await redis.ttl(keys.session(created.token));
    assert.ok(ttl > 3500 && ttl <= 3600, `session TTL ${ttl}`);

    const got = await callUnary(client.getUser.bind(client), { handle: "alice" }, deadline());
    assert.deepEqual(got.user, created.user);

    await create("bob_2", "Bob");
    const batch = await callUnary(client.batchGetUsers.bind(client), { handles: ["bob_2", "nobody", "alice", "alice"] }, deadline());
    assert.deepEqual(batch.users.map((u) => u.handle), ["bob_2", "alice"], "request order, unknown absent, no duplicates");

    const auth = await callUnary(client.authenticate.bind(client), { token: created.token }, deadline());
    assert.equal(auth.user?.handle, "alice");
  });

  test("invalid arguments get INVALID_ARGUMENT and store nothing", { timeout: 10_000 }, async () => {
    const before = await redis.dbsize();
    for (const handle of ["", "ab", "Alice", "a".repeat(21), "with space", "dash-ed", "émile", "ok\n"]) {
      await expectCode(create(handle, "Name"), status.INVALID_ARGUMENT);
    }
    for (const name of ["", "   ", "x".repeat(51), "tab\tname"]) {
      await expectCode(create("valid_handle", name), status.INVALID_ARGUMENT);
    }
    // 50 characters that are 100 UTF-16 units: allowed (characters are counted, not units).
    await expectCode(callUnary(client.getUser.bind(client), { handle: "valid_handle" }, deadline()), status.NOT_FOUND);
    assert.equal(await redis.dbsize(), before, "nothing was stored");
    const emoji = await create("emoji_user", "😀".repeat(50));
    assert.equal(emoji.user?.displayName, "😀".repeat(50));

    await expectCode(callUnary(client.getUser.bind(client), { handle: "NO" }, deadline()), status.INVALID_ARGUMENT);
    await expectCode(
      callUnary(client.batchGetUsers.bind(client), { handles: ["alice", "Bad!"] }, deadline()),
      status.INVALID_ARGUMENT,
    );
    const tooMany = Array.from({ length: 101 }, (_, i) => `user_${i}`);
    await expectCode(callUnary(client.batchGetUsers.bind(client), { handles: tooMany }, deadline()), status.INVALID_ARGUMENT);
    const exactly100 = await callUnary(client.batchGetUsers.bind(client), { handles: tooMany.slice(0, 100) }, deadline());
    assert.equal(exactly100.users.length, 0);
  });

  test("unknown user is NOT_FOUND; empty batch is empty", { timeout: 10_000 }, async () => {
    await expectCode(callUnary(client.getUser.bind(client), { handle: "ghost" }, deadline()), status.NOT_FOUND);
    const empty = await callUnary(client.batchGetUsers.bind(client), { handles: [] }, deadline());
    assert.deepEqual(empty.users, []);
  });

  test("a taken handle is ALREADY_EXISTS, and of concurrent creates exactly one wins", { timeout: 10_000 }, async () => {
    await create("carol", "Carol");
    await expectCode(create("carol", "Another Carol"), status.ALREADY_EXISTS);
    assert.equal((await callUnary(client.getUser.bind(client), { handle: "carol" }, deadline())).user?.displayName, "Carol");

    const sessionsBefore = (await redis.keys(keys.session("*"))).length;
    const attempts = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => create("racer", `Racer ${i}`, i % 2 ? client : shortClient)),
    );
    const won = attempts.filter((a) => a.status === "fulfilled");
    const lost = attempts.filter((a) => a.status === "rejected");
    assert.equal(won.length, 1, "exactly one create wins");
    for (const l of lost) assert.equal((l as PromiseRejectedResult).reason.code, status.ALREADY_EXISTS);
    const winner = (won[0] as PromiseFulfilledResult<{ user?: { displayName: string } }>).value;
    const stored = await redis.hgetall(keys.user("racer"));
    assert.equal(stored.display_name, winner.user?.displayName, "the stored user is the winner's");
    assert.equal((await redis.keys(keys.session("*"))).length, sessionsBefore + 1, "only the winner got a session");
  });

  test("malformed, unknown and expired tokens are UNAUTHENTICATED", { timeout: 10_000 }, async () => {
    const auth = (token: string) => callUnary(client.authenticate.bind(client), { token }, deadline());
    await expectCode(auth(""), status.UNAUTHENTICATED);
    await expectCode(auth("not a token"), status.UNAUTHENTICATED);
    await expectCode(auth("A".repeat(43)), status.UNAUTHENTICATED);

    const { token } = await create("dave", "Dave", shortClient); // 1-second session
    assert.equal((await auth(token)).user?.handle, "dave");
    const startedAt = Date.now();
    // Bounded poll: the session must lapse within about its TTL.
    for (;;) {
      try {
        await auth(token);
      } catch (err) {
        assert.equal((err as { code: number }).code, status.UNAUTHENTICATED);
        break;
      }
      assert.ok(Date.now() - startedAt < 3000, "token still valid 3 s after a 1 s TTL");
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(Date.now() - startedAt >= 500, "token lasted about its TTL");
    // The user remains after the session expired.
    assert.equal((await callUnary(client.getUser.bind(client), { handle: "dave" }, deadline())).user?.handle, "dave");
  });
});
