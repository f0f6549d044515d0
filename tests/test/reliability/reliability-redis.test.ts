// tools: redis
// Redis outages under load, against the whole mesh as processes and a redis-server with the
// append-only file on (as the StatefulSet runs it):
//   - killed with SIGKILL and restarted on the same port after a few seconds;
//   - paused with SIGSTOP for longer than the services' Redis command timeout.
// During the fault every request must be answered 503 JSON naming redis (never 500, never a reset,
// never later than the request deadline); /readyz must report it and recover by itself; afterwards
// every acknowledged write (users, sessions, activities, replies, likes) is readable, every
// acknowledged write's notifications arrive exactly once, and no process has exited.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { startMesh, type Mesh } from "@tracemesh/mesh";
import {
  byStatus,
  checkAcked,
  isNamed503,
  mixedLoad,
  report,
  request,
  signUp,
  sleep,
  startDurableRedis,
  timeUntil,
  type Acked,
  type DurableRedis,
  type HttpResult,
  type Op,
  type SignedUp,
} from "./reliability-helpers.js";

const REQUEST_TIMEOUT_MS = 3000;
const REDIS_COMMAND_TIMEOUT_MS = 1000;
const RATE = 25;
const USERS = 8;

/** Polls /readyz until it says redis is failing; resolves that answer. */
async function readyzWhileDown(mesh: Mesh): Promise<HttpResult> {
  let last: HttpResult | undefined;
  await timeUntil("readyz reporting redis", async () => {
    last = await request(mesh.apiUrl, "/readyz", { timeoutMs: 2000 });
    return last.status === 503 && (last.json?.checks as Record<string, string> | undefined)?.redis === "failing";
  }, 10_000, 100);
  return last!;
}

function summarize(ops: Op[], window: [number, number]) {
  const overlapping = ops.filter((o) => o.result.started <= window[1] && o.result.started + o.result.ms >= window[0]);
  const inside = overlapping.filter((o) => o.result.started >= window[0] && o.result.started + o.result.ms <= window[1]);
  return { overlapping, inside };
}

describe("reliability: Redis killed or paused under load", { timeout: 300_000 }, () => {
  let redis: DurableRedis;
  let mesh: Mesh;
  let users: SignedUp[];

  before(async () => {
    redis = await startDurableRedis();
    mesh = await startMesh({
      redisUrl: redis.url,
      env: { LOG_LEVEL: "warn", REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS), REDIS_COMMAND_TIMEOUT_MS: String(REDIS_COMMAND_TIMEOUT_MS) },
      // A short claim idle time so entries pending on a connection that broke are retried soon.
      serviceEnv: { notifications: { EVENTS_CLAIM_IDLE_MS: "3000", EVENTS_CLAIM_INTERVAL_MS: "1000" } },
    });
    users = [];
    for (let i = 0; i < USERS; i++) users.push(await signUp(mesh.apiUrl, `rel_user_${i}`));
  });
  after(async () => {
    await mesh?.stop();
    await redis?.stop();
  });

  for (const fault of ["kill", "pause"] as const) {
    test(`Redis ${fault === "kill" ? "killed (SIGKILL) and restarted" : "paused (SIGSTOP) past the command timeout"} under load`, { timeout: 120_000 }, async () => {
      const acked: Acked = { users: [...users], posts: [], replies: [], likes: [] };
      const load = mixedLoad(mesh.apiUrl, RATE, users, acked, fault === "kill" ? "k" : "p");
      await sleep(3000);
      const outageMs = fault === "kill" ? 5000 : 4000;
      const faultAt = Date.now();
      if (fault === "kill") await redis.kill9();
      else redis.pause();
      const readyz = await readyzWhileDown(mesh);
      await sleep(Math.max(0, faultAt + outageMs - Date.now()));
      if (fault === "kill") await redis.restart();
      else redis.resume();
      const backAt = Date.now();
      const readyMs = await timeUntil("readyz 200 again", async () => (await request(mesh.apiUrl, "/readyz")).status === 200, 20_000);
      // Serving again: the first post after Redis returned that succeeds.
      const servingMs = await timeUntil("a post succeeding again", async () =>
        (await request(mesh.apiUrl, "/api/activities", { method: "POST", token: users[0]!.token, body: { message: "back?" } })).status === 201, 20_000);
      await sleep(3000);
      const ops = await load.stop();

      // During the fault: nothing but successes (from before it) and 503s naming redis, in time.
      const { overlapping, inside } = summarize(ops, [faultAt, backAt]);
      const bad = overlapping.filter((o) => !(o.result.status >= 200 && o.result.status < 300) && !isNamed503(o.result, "redis"));
      assert.deepEqual(bad.map((o) => `${o.kind} ${o.result.status} ${o.result.error ?? ""} ${JSON.stringify(o.result.json)}`), [], "only 2xx or 503 naming redis during the outage");
      assert.ok(inside.length > 20, `enough requests inside the outage (${inside.length})`);
      const insideNon503 = inside.filter((o) => o.result.status !== 503);
      assert.deepEqual(insideNon503.map((o) => `${o.kind} ${o.result.status}`), [], "every request inside the outage is a 503");
      const slowest = Math.max(...overlapping.map((o) => o.result.ms));
      assert.ok(slowest <= REQUEST_TIMEOUT_MS + 1000, `no answer later than the deadline (slowest ${Math.round(slowest)} ms)`);
      // Afterwards the mesh serves normally.
      const afterwards = ops.filter((o) => o.result.started > backAt + servingMs + 500);
      assert.ok(afterwards.length > 20, `enough requests after recovery (${afterwards.length})`);
      assert.deepEqual(afterwards.filter((o) => o.result.status >= 300).map((o) => `${o.kind} ${o.result.status}`), [], "all succeed after recovery");

      const counts = await checkAcked(mesh.apiUrl, acked);
      for (const [name, proc] of Object.entries(mesh.processes)) assert.equal(proc.child.exitCode, null, `${name} still running`);

      report({
        scenario: `redis ${fault}`,
        fault: fault === "kill" ? "Redis SIGKILL, restarted on its port (AOF on)" : `Redis SIGSTOP, then SIGCONT (command timeout ${REDIS_COMMAND_TIMEOUT_MS} ms)`,
        duration: `${((backAt - faultAt) / 1000).toFixed(1)} s`,
        load: `${RATE} req/s mixed (posts, replies, likes, sign-ups, home feed), ${ops.length} requests`,
        during: byStatus(overlapping.map((o) => o.result)),
        checked: Object.entries(counts).map(([k, v]) => `${k} ${v}`).join(", "),
        recovery: `readyz ${(readyMs / 1000).toFixed(1)} s, writes ${(servingMs / 1000).toFixed(1)} s`,
        figures: {
          readyz_during: readyz.json,
          slowest_ms: Math.round(slowest),
          requests_inside_outage: inside.length,
          peak_in_flight: load.peakInFlight(),
        },
      });
    });
  }
});
