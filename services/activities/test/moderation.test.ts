// tools: redis
// activities asks moderation before storing a post or reply. Real processes: activities (with the
// OpenTelemetry register, exporting to an OTLP receiver), the real moderation service (X-Ray SDK,
// segments caught by a UDP listener speaking the daemon protocol), users in-process, real Redis.
// "Slow" is a TCP server that accepts and never answers; "down" is a port nobody listens on.
import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { status } from "@grpc/grpc-js";
import {
  freePort,
  nodeArgsFrom,
  resolveFrom,
  startHoneycombStandIn,
  startProcess,
  startRedis,
  startXrayDaemonCapture,
  waitFor,
  type HoneycombStandIn,
  type LocalRedis,
  type ManagedProcess,
  type XrayDaemonCapture,
} from "@tracemesh/devkit";
import { listeningPort } from "@tracemesh/devkit/testing";
import { SPAN_KIND, type Span } from "@tracemesh/trace-model";
import { ActivitiesServiceClient, Ttl, UsersServiceClient } from "@tracemesh/proto";
import { callUnary, createClient, createLogger, createRedis, startGrpcServer, type Redis, type RunningGrpcServer } from "@tracemesh/runtime";
import { createUsersServer } from "@tracemesh/users";
import { keys } from "../src/store.js";

const ACTIVITIES_DIR = path.resolve(__dirname, "..", "..");
const MODERATION_MAIN = resolveFrom(ACTIVITIES_DIR, "@tracemesh/moderation/main") ?? assert.fail("@tracemesh/moderation/main does not resolve (not built?)");
const KEY = "activities-moderation-test";
const logger = createLogger("activities-moderation-test", "silent");

describe("activities → moderation", { timeout: 120_000 }, () => {
  let redisServer: LocalRedis;
  let redis: Redis;
  let users: RunningGrpcServer;
  let usersClient: UsersServiceClient;
  let otlp: HoneycombStandIn;
  let daemon: XrayDaemonCapture;
  let moderation: ManagedProcess;
  let moderationUrl = "";
  const processes: ManagedProcess[] = [];
  const clients: Array<{ close(): void }> = [];
  const hanging: net.Socket[] = [];
  let slowServer: net.Server;

  /** activities as a process with MODERATION_URL=url; resolves a client of it. */
  async function activities(url: string, extra: NodeJS.ProcessEnv = {}): Promise<{ client: ActivitiesServiceClient; proc: ManagedProcess }> {
    const proc = startProcess("activities", process.execPath, nodeArgsFrom(ACTIVITIES_DIR, path.join(ACTIVITIES_DIR, "dist", "src", "main.js")), {
      cwd: ACTIVITIES_DIR,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        GRPC_PORT: "0",
        REDIS_URL: redisServer.url,
        USERS_ADDR: `127.0.0.1:${users.port}`,
        MODERATION_URL: url,
        OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
        OTEL_EXPORTER_OTLP_HEADERS: `x-honeycomb-team=${KEY}`,
        OTEL_BSP_SCHEDULE_DELAY: "100",
        TRACEMESH_HTTP_PEERS: `${new URL(url).host}=moderation`,
        ...extra,
      },
    });
    processes.push(proc);
    const port = await waitFor("activities listening", () => listeningPort(proc), { timeoutMs: 20_000 });
    const client = createClient(ActivitiesServiceClient, `127.0.0.1:${port}`);
    clients.push(client);
    return { client, proc };
  }

  const post = (client: ActivitiesServiceClient, message: string, deadlineMs = 3000) =>
    callUnary(client.createActivity.bind(client), { handle: "alice", displayName: "Alice", message, ttl: Ttl.TTL_1_DAY }, { deadline: new Date(Date.now() + deadlineMs) });

  /** The CreateActivity/Reply server span whose message was `message` (found by the acting user and time). */
  const serverSpan = (method: string, after: number): Promise<Span> =>
    waitFor(
      `the ${method} server span`,
      () =>
        otlp
          .spans()
          .find((s) => s.kind === SPAN_KIND.SERVER && s.name.endsWith(`/${method}`) && Number(s.startNs / 1_000_000n) >= after),
      { timeoutMs: 10_000, intervalMs: 100 },
    );

  before(async () => {
    redisServer = await startRedis();
    redis = createRedis(redisServer.url, logger, { commandTimeoutMs: 1000 });
    users = await startGrpcServer({ host: "127.0.0.1", port: 0, services: [createUsersServer({ redis, logger, sessionTtlSeconds: 3600 })] });
    usersClient = createClient(UsersServiceClient, `127.0.0.1:${users.port}`);
    await callUnary(usersClient.createUser.bind(usersClient), { handle: "alice", displayName: "Alice" }, { deadline: new Date(Date.now() + 3000) });
    otlp = await startHoneycombStandIn({ apiKey: KEY });
    daemon = await startXrayDaemonCapture();
    moderation = startProcess("moderation", process.execPath, [MODERATION_MAIN], {
      env: { PATH: process.env.PATH, PORT: "0", AWS_XRAY_DAEMON_ADDRESS: daemon.address },
    });
    moderationUrl = `http://127.0.0.1:${await waitFor("moderation listening", () => listeningPort(moderation), { timeoutMs: 15_000 })}`;
    slowServer = net.createServer((socket) => hanging.push(socket));
    await new Promise<void>((resolve) => slowServer.listen(0, "127.0.0.1", resolve));
  });

  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(processes.map((p) => p.stop()));
    await moderation?.stop();
    for (const s of hanging) s.destroy();
    slowServer?.close();
    usersClient?.close();
    await users?.shutdown(1000);
    await redis?.quit();
    await redisServer?.stop();
    await daemon?.stop();
    await otlp?.stop();
  });

  test("allowed: stored; the moderation segment continues activities' client span (same trace, parent = client span)", async () => {
    const { client } = await activities(moderationUrl);
    const started = Date.now();
    const activity = (await post(client, "a fine post")).activity!;
    assert.equal(await redis.exists(keys.activity(activity.uuid)), 1);

    const server = await serverSpan("CreateActivity", started);
    assert.equal(server.attributes["app.moderation.skipped"], false);
    assert.equal(server.attributes["app.moderation.allowed"], true);
    const fetchSpan = await waitFor(
      "the undici client span to moderation",
      () => otlp.spans().find((s) => s.traceId === server.traceId && s.kind === SPAN_KIND.CLIENT && s.scope === "@opentelemetry/instrumentation-undici"),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    assert.equal(fetchSpan.parentSpanId, server.spanId);
    assert.equal(fetchSpan.attributes["peer.service"], "moderation");
    const xrayId = `1-${server.traceId.slice(0, 8)}-${server.traceId.slice(8)}`;
    const segment = await waitFor("moderation's segment", () => daemon.segments().find((s) => s.trace_id === xrayId), { timeoutMs: 5000 });
    assert.equal(segment.name, "moderation");
    assert.equal(segment.parent_id, fetchSpan.spanId, "X-Amzn-Trace-Id carried Parent= the client span");
    assert.equal(segment.annotations?.["app.user.handle"], "alice");
  });

  test("refused: INVALID_ARGUMENT with the reasons, nothing stored", async () => {
    const { client } = await activities(moderationUrl);
    const before = (await redis.keys(keys.activity("*"))).length;
    const started = Date.now();
    await assert.rejects(post(client, "win at the casino!!!!!!!!!!"), (err: { code?: number; details?: string }) => {
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.match(String(err.details), /^message refused by moderation: word_list: "casino" is not allowed; repeated_characters: /);
      return true;
    });
    assert.equal((await redis.keys(keys.activity("*"))).length, before);
    const server = await serverSpan("CreateActivity", started);
    assert.equal(server.attributes["app.moderation.allowed"], false);
    assert.deepEqual((server.attributes["app.moderation.reasons"] as string[]).map((r) => r.split(":")[0]), ["word_list", "repeated_characters"]);
  });

  test("slow: stored anyway within the moderation deadline; the span says skipped (timeout)", async () => {
    const { client, proc } = await activities(`http://127.0.0.1:${(slowServer.address() as net.AddressInfo).port}`, { MODERATION_DEADLINE_MS: "200" });
    const started = Date.now();
    const activity = (await post(client, "posted while moderation hangs")).activity!;
    const took = Date.now() - started;
    assert.ok(took < 1500, `answered in ${took} ms`);
    assert.equal(await redis.exists(keys.activity(activity.uuid)), 1);
    const server = await serverSpan("CreateActivity", started);
    assert.equal(server.attributes["app.moderation.skipped"], true);
    assert.equal(server.attributes["app.moderation.skip_reason"], "timeout");
    assert.ok(proc.jsonLines().some((l) => l.msg === "moderation unavailable; storing without a verdict" && l.reason === "timeout"));
  });

  test("down: a reply is stored anyway; the span says skipped (unavailable); the incoming deadline bounds the call", async () => {
    const { client } = await activities(`http://127.0.0.1:${await freePort()}`);
    const parent = (await post(client, "a parent post")).activity!;
    const started = Date.now();
    const reply = await callUnary(client.reply.bind(client), { handle: "alice", displayName: "Alice", activityUuid: parent.uuid, message: "a reply" }, { deadline: new Date(Date.now() + 3000) });
    assert.equal(await redis.exists(keys.activity(reply.reply!.uuid)), 1);
    const server = await serverSpan("Reply", started);
    assert.equal(server.attributes["app.moderation.skipped"], true);
    assert.equal(server.attributes["app.moderation.skip_reason"], "unavailable");
  });

  test("the incoming call's deadline is shorter than MODERATION_DEADLINE_MS: it bounds the check", async () => {
    const { client } = await activities(`http://127.0.0.1:${(slowServer.address() as net.AddressInfo).port}`, { MODERATION_DEADLINE_MS: "2000" });
    const started = Date.now();
    // Moderation hangs and the caller gives 400 ms: the check must give up before, so the call fails
    // with DEADLINE_EXCEEDED at the client (not after 2 s), and the span records the skip.
    await assert.rejects(post(client, "short deadline", 400), (err: { code?: number }) => err.code === status.DEADLINE_EXCEEDED);
    assert.ok(Date.now() - started < 1500);
    const server = await serverSpan("CreateActivity", started);
    assert.equal(server.attributes["app.moderation.skipped"], true);
    assert.ok(Number(server.endNs - server.startNs) / 1e6 < 1000, "the server gave up near the caller's deadline");
  });
});
