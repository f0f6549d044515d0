// tools: redis
// The api's handlers at the HTTP layer: its real HTTP server (in-process, on a free port) in front of the
// real users, activities and notifications gRPC servers (in-process) and a real redis-server. What the
// whole-mesh tests cannot see well is checked here: the route table enforces authentication for every
// `auth: true` route in one place, bad input is refused before any backend is asked, and a post reads
// users' data once (Redis MONITOR counts the commands on users' keys).
import assert from "node:assert/strict";
import type http from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import { createActivitiesServer } from "@tracemesh/activities";
import { freePort, startRedis, waitFor, type LocalRedis } from "@tracemesh/devkit";
import { createNotificationsServer } from "@tracemesh/notifications";
import { UsersServiceClient } from "@tracemesh/proto";
import { createClient, createLogger, createRedis, startGrpcServer, type Redis, type RunningGrpcServer } from "@tracemesh/runtime";
import { createUsersServer } from "@tracemesh/users";
import { Backends } from "../src/clients.js";
import { API_ROUTES, buildRouter } from "../src/handlers.js";
import { createServer } from "../src/server.js";

const logger = createLogger("api-test", "silent");

interface Answer {
  status: number;
  json: Record<string, unknown>;
}

/** Every Redis command the server runs while `during` runs (MONITOR), in order. */
class CommandLog {
  private seen: string[][] = [];
  private constructor(private readonly monitor: Redis) {
    monitor.on("monitor", (_time: string, args: string[]) => this.seen.push(args));
  }

  /** MONITOR on a connection of its own (ioredis opens one for it). */
  static async start(redis: Redis): Promise<CommandLog> {
    return new CommandLog(await redis.monitor());
  }

  /** The commands `during` caused: everything between two markers this log sends itself. */
  async of(redis: Redis, during: () => Promise<unknown>): Promise<string[][]> {
    const id = Math.random().toString(36).slice(2);
    const index = (marker: string) => this.seen.findIndex((c) => c[0]?.toLowerCase() === "echo" && c[1] === marker);
    await redis.echo(`start-${id}`);
    await waitFor("the start marker in MONITOR", () => index(`start-${id}`) >= 0, { timeoutMs: 5000, intervalMs: 10 });
    await during();
    await redis.echo(`end-${id}`);
    await waitFor("the end marker in MONITOR", () => index(`end-${id}`) >= 0, { timeoutMs: 5000, intervalMs: 10 });
    return this.seen.slice(index(`start-${id}`) + 1, index(`end-${id}`));
  }

  stop(): void {
    this.monitor.disconnect();
  }
}

/** Commands on users' keys (user hashes and sessions). */
const onUsersData = (commands: string[][]) => commands.filter((c) => c.slice(1).some((a) => /^tracemesh:(user|session):/.test(a)));

describe("api handlers over HTTP, real backends", { timeout: 90_000 }, () => {
  let redisServer: LocalRedis;
  let redis: Redis;
  let commands: CommandLog;
  const servers: RunningGrpcServer[] = [];
  let backends: Backends;
  let activitiesUsers: UsersServiceClient;
  let api: http.Server;
  let url = "";
  let token = "";
  let otherToken = "";

  async function send(method: string, path: string, opts: { token?: string; authorization?: string; body?: unknown } = {}): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (opts.body !== undefined) headers["content-type"] = "application/json";
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    if (opts.authorization) headers.authorization = opts.authorization;
    const res = await fetch(`${url}${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      signal: AbortSignal.timeout(10_000),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  }

  const errorOf = (a: Answer) => a.json.error as { code: string; message: string };

  before(async () => {
    redisServer = await startRedis();
    redis = createRedis(redisServer.url, logger, { commandTimeoutMs: 2000 });
    const grpc = (service: Parameters<typeof startGrpcServer>[0]["services"][number]) => startGrpcServer({ host: "127.0.0.1", port: 0, services: [service] });
    const users = await grpc(createUsersServer({ redis, logger, sessionTtlSeconds: 3600 }));
    activitiesUsers = createClient(UsersServiceClient, `127.0.0.1:${users.port}`);
    const activities = await grpc(createActivitiesServer({ redis, logger, users: activitiesUsers }));
    const notifications = await grpc(createNotificationsServer({ redis, logger }));
    servers.push(users, activities, notifications);
    backends = new Backends({
      users: `127.0.0.1:${users.port}`,
      activities: `127.0.0.1:${activities.port}`,
      notifications: `127.0.0.1:${notifications.port}`,
    });
    api = createServer({ router: buildRouter({ backends, redis, openapi: {}, enableDebugRoutes: false }), logger, requestTimeoutMs: 3000 });
    await new Promise<void>((resolve) => api.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    commands = await CommandLog.start(redis);

    const ada = await send("POST", "/api/users", { body: { handle: "ada", display_name: "  Ada Lovelace " } });
    assert.equal(ada.status, 201, JSON.stringify(ada.json));
    token = ada.json.token as string;
    const bob = await send("POST", "/api/users", { body: { handle: "bob", display_name: "Bob" } });
    otherToken = bob.json.token as string;
  });

  after(async () => {
    commands?.stop();
    api?.closeAllConnections(); // fetch keeps its connections alive
    await new Promise((resolve) => api?.close(resolve));
    backends?.close();
    activitiesUsers?.close();
    for (const s of servers) await s.shutdown(1000);
    await redis?.quit();
    await redisServer?.stop();
  });

  test("every auth: true route refuses a missing, malformed or unknown token with 401, and asks nothing without one", { timeout: 20_000 }, async () => {
    const authRoutes = API_ROUTES.filter((r) => r.auth);
    assert.deepEqual(
      authRoutes.map((r) => `${r.method} ${r.path}`),
      ["POST /api/activities", "POST /api/activities/:uuid/replies", "POST /api/activities/:uuid/likes", "GET /api/notifications"],
    );
    const path = (p: string) => p.replace(":uuid", "00000000-0000-4000-8000-000000000000");
    for (const route of authRoutes) {
      const body = route.body === "json" ? { message: "hi" } : undefined;
      for (const authorization of [undefined, "Basic abc", "Bearer"]) {
        let answer: Answer | undefined;
        const ran = await commands.of(redis, async () => (answer = await send(route.method, path(route.path), { authorization, body })));
        assert.equal(answer!.status, 401, `${route.method} ${route.path} with ${authorization}: ${JSON.stringify(answer!.json)}`);
        assert.equal(errorOf(answer!).code, "unauthenticated");
        assert.deepEqual(ran, [], "a missing or malformed token reaches no backend");
      }
      const unknown = await send(route.method, path(route.path), { token: "x".repeat(43), body });
      assert.equal(unknown.status, 401, `${route.method} ${route.path} with an unknown token`);
    }
  });

  test("a well-formed token with bad input: 400 before users is asked", { timeout: 10_000 }, async () => {
    for (const [method, path, body] of [
      ["POST", "/api/activities", { message: "   " }],
      ["POST", "/api/activities", { message: "hi", ttl: "2-days" }],
      ["POST", "/api/activities/not-a-uuid/replies", { message: "hi" }],
      ["POST", "/api/activities/00000000-0000-4000-8000-000000000000/replies", { message: "m".repeat(281) }],
      ["POST", "/api/activities/not-a-uuid/likes", undefined],
      ["GET", "/api/notifications?limit=0", undefined],
    ] as const) {
      let answer: Answer | undefined;
      // An unknown token: were it resolved before the input check, this would be a 401.
      const ran = await commands.of(redis, async () => (answer = await send(method, path, { token: "y".repeat(43), body })));
      assert.equal(answer!.status, 400, `${method} ${path}: ${JSON.stringify(answer!.json)}`);
      assert.equal(errorOf(answer!).code, "invalid_argument");
      assert.deepEqual(ran, [], `${method} ${path}: no backend asked`);
    }
  });

  test("a post reads users' data once: the caller's session and hash, in Authenticate; the answer names the author", { timeout: 10_000 }, async () => {
    let post: Answer | undefined;
    const ran = await commands.of(redis, async () => (post = await send("POST", "/api/activities", { token, body: { message: "  hello from the edge  ", ttl: "1-hour" } })));
    assert.equal(post!.status, 201, JSON.stringify(post!.json));
    assert.equal(post!.json.handle, "ada");
    assert.equal(post!.json.display_name, "Ada Lovelace", "the name Authenticate returned, trimmed at sign-up");
    assert.equal(post!.json.message, "hello from the edge", "stored trimmed");
    assert.deepEqual(
      onUsersData(ran).map((c) => [c[0]!.toLowerCase(), c[1]!.replace(/:[^:]+$/, ":…")]),
      [["get", "tracemesh:session:…"], ["hgetall", "tracemesh:user:…"]],
      `commands on users' keys: ${JSON.stringify(onUsersData(ran))}`,
    );
  });

  test("reply, like and notifications run as the authenticated caller", { timeout: 10_000 }, async () => {
    const post = await send("POST", "/api/activities", { token, body: { message: "what do you think, @bob?" } });
    assert.equal(post.status, 201);
    const uuid = post.json.uuid as string;
    assert.equal(Date.parse(post.json.expires_at as string) - Date.parse(post.json.created_at as string), 7 * 24 * 3_600_000, "the default ttl");

    const reply = await send("POST", `/api/activities/${uuid.toUpperCase()}/replies`, { token: otherToken, body: { message: "looks good" } });
    assert.equal(reply.status, 201, JSON.stringify(reply.json));
    assert.deepEqual([reply.json.handle, reply.json.display_name, reply.json.reply_to_activity_uuid], ["bob", "Bob", uuid]);

    const like = await send("POST", `/api/activities/${uuid}/likes`, { token: otherToken });
    assert.equal(like.status, 200, JSON.stringify(like.json));
    assert.equal(like.json.newly_liked, true);
    const liked = like.json.activity as { handle: string; display_name: string; likes_count: number };
    assert.deepEqual([liked.handle, liked.display_name, liked.likes_count], ["ada", "Ada Lovelace", 1]);

    const read = await send("GET", `/api/activities/${uuid}`);
    assert.deepEqual((read.json.replies as Array<{ handle: string }>).map((r) => r.handle), ["bob"]);

    // No consumer runs here: the notifications route answers for the caller, with what is stored (nothing).
    const notifications = await send("GET", "/api/notifications?limit=5", { token: otherToken });
    assert.equal(notifications.status, 200, JSON.stringify(notifications.json));
    assert.deepEqual(notifications.json.notifications, []);
  });

  test("users down: an authenticated route answers 503 naming users; public reads degrade", { timeout: 20_000 }, async () => {
    const closed = `127.0.0.1:${await freePort()}`;
    const down = new Backends({ users: closed, activities: `127.0.0.1:${servers[1]!.port}`, notifications: `127.0.0.1:${servers[2]!.port}` });
    const server = createServer({ router: buildRouter({ backends: down, redis, openapi: {}, enableDebugRoutes: false }), logger, requestTimeoutMs: 1000 });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const res = await fetch(`${base}/api/activities`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ message: "is anyone there?" }),
        signal: AbortSignal.timeout(10_000),
      });
      const json = (await res.json()) as { error: { code: string; message: string; dependency?: string } };
      assert.equal(res.status, 503, JSON.stringify(json));
      assert.match(json.error.message, /users/);
      assert.equal(json.error.dependency, "users");
      const home = await fetch(`${base}/api/activities/home`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(home.status, 200, "the home feed answers (without display names)");
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      down.close();
    }
  });
});
