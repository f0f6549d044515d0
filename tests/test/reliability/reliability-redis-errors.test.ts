// tools: redis
// Every way ioredis reports that Redis is down, produced for real against a real redis-server
// (dead port, SIGSTOP, closed connection, offline queue off, a socket error, a LOADING reply),
// must be answered UNAVAILABLE naming redis — never INTERNAL, which the HTTP edge turns into 500.
// A genuine command error (WRONGTYPE) stays INTERNAL.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { status } from "@grpc/grpc-js";
import { freePort } from "@tracemesh/devkit";
import {
  UNAVAILABLE_DEPENDENCY_KEY,
  createLogger,
  createRedis,
  isRedisUnavailable,
  toServiceError,
  type Redis,
} from "@tracemesh/runtime";
import { startDurableRedis, type DurableRedis } from "./reliability-helpers.js";

const logger = createLogger("test", "silent");

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  assert.fail("expected the command to fail");
}

function assertUnavailable(err: Error, what: string): void {
  assert.ok(isRedisUnavailable(err), `${what} (${err.name}: ${err.message}) is an outage`);
  const answer = toServiceError(err, logger, "/test");
  assert.equal(answer.code, status.UNAVAILABLE, what);
  assert.equal(answer.details, "redis unavailable");
  assert.deepEqual(answer.metadata?.get(UNAVAILABLE_DEPENDENCY_KEY), ["redis"]);
}

describe("reliability: ioredis outage errors are UNAVAILABLE naming redis", { timeout: 60_000 }, () => {
  let redis: DurableRedis;
  const clients: Redis[] = [];
  const client = (url: string, opts: Parameters<typeof createRedis>[2]) => {
    const c = createRedis(url, logger, opts);
    clients.push(c);
    return c;
  };

  before(async () => {
    redis = await startDurableRedis();
  });
  after(async () => {
    for (const c of clients) c.disconnect();
    await redis?.stop();
  });

  test("MaxRetriesPerRequestError (nothing listening)", async () => {
    const dead = client(`redis://127.0.0.1:${await freePort()}`, { commandTimeoutMs: 5000 });
    const err = await rejection(dead.get("k"));
    assert.equal(err.name, "MaxRetriesPerRequestError");
    assertUnavailable(err, "MaxRetriesPerRequestError");
  });

  test("command timeout (Redis paused with SIGSTOP)", async () => {
    const c = client(redis.url, { commandTimeoutMs: 300 });
    await c.ping();
    redis.pause();
    try {
      const err = await rejection(c.set("k", "v"));
      assert.match(err.message, /timed out/);
      assertUnavailable(err, "command timeout");
    } finally {
      redis.resume();
    }
  });

  test("Connection is closed (client disconnected)", async () => {
    const c = client(redis.url, { commandTimeoutMs: 1000, overrides: { retryStrategy: () => null } });
    await c.ping();
    c.disconnect();
    const err = await rejection(c.get("k"));
    assertUnavailable(err, "closed connection");
  });

  test("offline queue disabled (Stream isn't writeable)", async () => {
    const c = client(`redis://127.0.0.1:${await freePort()}`, { commandTimeoutMs: 1000, overrides: { enableOfflineQueue: false } });
    const err = await rejection(c.get("k"));
    assertUnavailable(err, "offline queue off");
  });

  test("a command in flight when Redis is killed", async () => {
    const c = client(redis.url, { commandTimeoutMs: 5000 });
    await c.ping();
    redis.pause();
    const pending = rejection(c.get("k"));
    await redis.kill9();
    const err = await pending;
    assertUnavailable(err, "in flight at kill -9");
    await redis.restart();
  });

  test("socket errors (ECONNRESET, EPIPE, ETIMEDOUT) and LOADING replies", async () => {
    for (const code of ["ECONNRESET", "EPIPE", "ETIMEDOUT", "ECONNREFUSED"]) {
      assertUnavailable(Object.assign(new Error(`write ${code}`), { code }), code);
    }
    const c = client(redis.url, { commandTimeoutMs: 1000 });
    await c.set("str", "v");
    // A real ReplyError, to build a LOADING reply of the same class.
    const wrongType = await rejection(c.lpush("str", "x"));
    assert.equal(wrongType.name, "ReplyError");
    assert.equal(toServiceError(wrongType, logger, "/test").code, status.INTERNAL, "WRONGTYPE is a bug, not an outage");
    const ReplyError = wrongType.constructor as new (message: string) => Error;
    assertUnavailable(new ReplyError("LOADING Redis is loading the dataset in memory"), "LOADING");
    const execAbort = Object.assign(new ReplyError("EXECABORT Transaction discarded because of previous errors."), {
      previousErrors: [new ReplyError("LOADING Redis is loading the dataset in memory")],
    });
    assertUnavailable(execAbort, "EXECABORT after LOADING");
  });
});
