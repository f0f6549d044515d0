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
import { startMesh, type Mesh } from "@tracemesh/devkit";
import {
  byStatus,
  isNamed503,
  report,
  request,
  signUp,
  sleep,
  startDurableRedis,
  startLoad,
  timeUntil,
  type DurableRedis,
  type HttpResult,
  type SignedUp,
} from "./reliability-helpers.js";

const REQUEST_TIMEOUT_MS = 3000;
const REDIS_COMMAND_TIMEOUT_MS = 1000;
const RATE = 25;
const USERS = 8;

interface Acked {
  users: SignedUp[];
  posts: Array<{ uuid: string; author: string; mentioned: string; message: string }>;
  replies: Array<{ uuid: string; parent: string; parentAuthor: string; author: string; message: string }>;
  likes: Array<{ activity: string; author: string; liker: string }>;
}

interface Op {
  kind: "post" | "reply" | "like" | "signup" | "home";
  result: HttpResult;
}

/** One scenario run: load before, during and after `fault`; returns every request with its kind. */
function mixedLoad(mesh: Mesh, users: SignedUp[], acked: Acked, tag: string) {
  let seq = 0;
  return startLoad<Op>(RATE, async (i) => {
    const n = seq++;
    const author = users[i % users.length]!;
    const other = users[(i + 3) % users.length]!;
    const pick = i % 10;
    if (pick < 4) {
      const message = `${tag} post ${n} for @${other.handle}`;
      const result = await request(mesh.apiUrl, "/api/activities", { method: "POST", token: author.token, body: { message, ttl: "1-day" } });
      if (result.status === 201) acked.posts.push({ uuid: String(result.json!.uuid), author: author.handle, mentioned: other.handle, message });
      return { kind: "post", result };
    }
    const target = acked.posts[(i * 7) % Math.max(1, acked.posts.length)];
    if (pick < 6 && target) {
      const message = `${tag} reply ${n}`;
      const result = await request(mesh.apiUrl, `/api/activities/${target.uuid}/replies`, { method: "POST", token: other.token, body: { message } });
      if (result.status === 201) {
        acked.replies.push({ uuid: String(result.json!.uuid), parent: target.uuid, parentAuthor: target.author, author: other.handle, message });
      }
      return { kind: "reply", result };
    }
    if (pick < 8 && target) {
      const liker = users[(i * 5) % users.length]!;
      const result = await request(mesh.apiUrl, `/api/activities/${target.uuid}/likes`, { method: "POST", token: liker.token });
      if (result.status === 200) acked.likes.push({ activity: target.uuid, author: target.author, liker: liker.handle });
      return { kind: "like", result };
    }
    if (pick === 8) {
      const handle = `${tag}_${n}`.slice(0, 20);
      const result = await request(mesh.apiUrl, "/api/users", { method: "POST", body: { handle, display_name: `New ${n}` } });
      if (result.status === 201) acked.users.push({ handle, token: String(result.json!.token) });
      return { kind: "signup", result };
    }
    return { kind: "home", result: await request(mesh.apiUrl, "/api/activities/home?limit=20") };
  }, { maxInFlight: 150 });
}

type NotificationJson = { kind: string; actor_handle: string; activity_uuid: string; excerpt: string };

/** Everything acknowledged is readable; every acknowledged write's notification is there once. */
async function checkAcked(mesh: Mesh, acked: Acked): Promise<Record<string, number>> {
  for (const u of acked.users) {
    const profile = await request(mesh.apiUrl, `/api/users/@${u.handle}`);
    assert.equal(profile.status, 200, `acknowledged user @${u.handle} readable: ${JSON.stringify(profile.json)}`);
    const session = await request(mesh.apiUrl, "/api/notifications?limit=1", { token: u.token });
    assert.equal(session.status, 200, `acknowledged session of @${u.handle} still valid: ${JSON.stringify(session.json)}`);
  }
  const likesPer = new Map<string, Set<string>>();
  for (const l of acked.likes) likesPer.set(l.activity, (likesPer.get(l.activity) ?? new Set()).add(l.liker));
  for (const p of acked.posts) {
    const got = await request(mesh.apiUrl, `/api/activities/${p.uuid}`);
    assert.equal(got.status, 200, `acknowledged post ${p.uuid} readable: ${JSON.stringify(got.json)}`);
    assert.equal(got.json!.message, p.message);
    const replies = (got.json!.replies as Array<{ uuid: string }>).map((r) => r.uuid);
    for (const r of acked.replies.filter((r) => r.parent === p.uuid)) assert.ok(replies.includes(r.uuid), `acknowledged reply ${r.uuid} under ${p.uuid}`);
    const likers = likesPer.get(p.uuid)?.size ?? 0;
    assert.ok(Number(got.json!.likes_count) >= likers, `post ${p.uuid}: ${got.json!.likes_count} likes ≥ ${likers} acknowledged likers`);
  }

  // Expected notifications: keyed kind|actor|activity|excerpt (unique per acknowledged write).
  const expected = new Map<string, Set<string>>();
  const expect = (recipient: string, key: string) => expected.set(recipient, (expected.get(recipient) ?? new Set()).add(key));
  for (const p of acked.posts) if (p.mentioned !== p.author) expect(p.mentioned, `mention|${p.author}|${p.uuid}|${p.message}`);
  for (const r of acked.replies) if (r.parentAuthor !== r.author) expect(r.parentAuthor, `reply|${r.author}|${r.parent}|${r.message}`);
  for (const l of acked.likes) if (l.author !== l.liker) expect(l.author, `like|${l.liker}|${l.activity}|`);

  const tokens = new Map(acked.users.map((u) => [u.handle, u.token]));
  let delivered = 0;
  let duplicates = 0;
  for (const [recipient, keys] of expected) {
    let seen = new Map<string, number>();
    await timeUntil(`notifications of @${recipient}`, async () => {
      const res = await request(mesh.apiUrl, "/api/notifications?limit=100", { token: tokens.get(recipient)! });
      if (res.status !== 200) return false;
      const list = res.json!.notifications as NotificationJson[];
      seen = new Map();
      for (const n of list) {
        const key = `${n.kind}|${n.actor_handle}|${n.activity_uuid}|${n.excerpt}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
      return [...keys].every((k) => seen.has(k));
    }, 30_000, 250);
    for (const k of keys) assert.equal(seen.get(k), 1, `@${recipient} notified exactly once of ${k}`);
    for (const [k, count] of seen) if (count > 1) duplicates++, assert.fail(`@${recipient} notified ${count} times of ${k}`);
    delivered += keys.size;
  }
  return {
    users: acked.users.length,
    sessions: acked.users.length,
    posts: acked.posts.length,
    replies: acked.replies.length,
    likes: acked.likes.length,
    notifications: delivered,
    duplicates,
  };
}

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
      const load = mixedLoad(mesh, users, acked, fault === "kill" ? "k" : "p");
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

      const counts = await checkAcked(mesh, acked);
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
