// tools: redis
// The notifications consumer killed (SIGKILL) mid-burst while a second replica runs: every event
// is processed exactly once in effect (at-least-once delivery, idempotent store), the dead
// consumer's pending entries are claimed by the survivor, and poison entries — malformed ones,
// and one whose writes always fail — reach the dead-letter stream with the reason.
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { freePort, grpcServing, startProcess, waitFor, type ManagedProcess } from "@tracemesh/devkit";
import { entryPoint, nodeArgs, packageDirOf, startMesh, type Mesh } from "@tracemesh/mesh";
import { EVENTS_DEAD_LETTER_STREAM, notificationsKeys as keys } from "@tracemesh/notifications";
import {
  EVENTS_CONSUMER_GROUP,
  EVENTS_STREAM,
  createLogger,
  createRedis,
  encodeEvent,
  type Redis,
} from "@tracemesh/runtime";
import { report, signUp, timeUntil } from "./reliability-helpers.js";

const BURST = 600;
const MALFORMED = 3;
const MAX_DELIVERIES = 3;
const CONSUMER_ENV = { EVENTS_CLAIM_IDLE_MS: "1500", EVENTS_CLAIM_INTERVAL_MS: "500", EVENTS_MAX_DELIVERIES: String(MAX_DELIVERIES), EVENTS_BLOCK_MS: "500" };

type XPendingSummary = [number, string | null, string | null, Array<[string, string]> | null];

async function pendingOf(redis: Redis, consumer: string): Promise<number> {
  const [, , , consumers] = (await redis.xpending(EVENTS_STREAM, EVENTS_CONSUMER_GROUP)) as XPendingSummary;
  return Number(consumers?.find(([name]) => name === consumer)?.[1] ?? 0);
}

describe("reliability: notifications consumer killed mid-burst", { timeout: 180_000 }, () => {
  let mesh: Mesh;
  let redis: Redis;
  let replicaB: ManagedProcess | undefined;

  before(async () => {
    mesh = await startMesh({ env: { LOG_LEVEL: "info" }, serviceEnv: { notifications: { ...CONSUMER_ENV, POD_NAME: "notifications-a" } } });
    redis = createRedis(mesh.redis.url, createLogger("test", "silent"), { commandTimeoutMs: 5000 });
    const port = await freePort();
    const main = entryPoint("notifications");
    replicaB = startProcess("notifications-b", process.execPath, nodeArgs(main), {
      env: { ...process.env, ...mesh.clientEnv, LOG_LEVEL: "info", GRPC_PORT: String(port), POD_NAME: "notifications-b", ...CONSUMER_ENV },
      cwd: packageDirOf(main),
    });
    await waitFor("replica b serving", () => grpcServing(`127.0.0.1:${port}`, "", 500), { timeoutMs: 30_000, intervalMs: 100 });
  });
  after(async () => {
    replicaB?.child.kill("SIGKILL");
    redis?.disconnect();
    await mesh?.stop();
  });

  test("SIGKILL of one replica mid-burst: exactly once in effect, pending claimed, poison dead-lettered", { timeout: 120_000 }, async () => {
    const recipients = [];
    for (let i = 0; i < 10; i++) recipients.push((await signUp(mesh.apiUrl, `cons_${i}`)).handle);
    await signUp(mesh.apiUrl, "poisoned");
    // Corrupt data: poisoned's notification list is a string, so storing any notification for
    // them fails with WRONGTYPE on every delivery.
    await redis.set(keys.notifications("poisoned"), "not a sorted set");
    // Both replicas must be reading before the burst.
    const consuming = (p: ManagedProcess) => p.jsonLines().some((l) => l.msg === "consuming events");
    await waitFor("both replicas consuming", () => consuming(mesh.processes.notifications) && consuming(replicaB!), { timeoutMs: 15_000, intervalMs: 100 });

    // The burst: valid activity.created events, each mentioning two recipients; malformed
    // entries and the poisoned mention mixed in.
    const expected = new Map<string, number>(recipients.map((r) => [r, 0]));
    const events: string[][] = [];
    for (let i = 0; i < BURST; i++) {
      const a = recipients[i % 10]!;
      const b = recipients[(i + 1) % 10]!;
      const actor = recipients[(i + 5) % 10]!;
      events.push(encodeEvent({ type: "activity.created", actor, activityUuid: randomUUID(), message: `burst ${i} @${a} @${b}`, createdAt: new Date().toISOString() }));
      expected.set(a, expected.get(a)! + 1);
      expected.set(b, expected.get(b)! + 1);
      if (i % 200 === 100) events.push(["type", "activity.exploded", "actor", actor]);
      if (i === 300) events.push(encodeEvent({ type: "activity.created", actor, activityUuid: randomUUID(), message: "hi @poisoned", createdAt: new Date().toISOString() }));
    }
    const ids: string[] = [];
    const batch = redis.pipeline();
    for (const fields of events) batch.xadd(EVENTS_STREAM, "*", ...fields);
    for (const [err, id] of (await batch.exec())!) {
      assert.equal(err, null);
      ids.push(String(id));
    }

    // Kill replica b while it holds delivered-but-unacknowledged entries. SIGSTOP first: it freezes the
    // process at once, so nothing it holds can be acknowledged between the look at its pending list and
    // the kill (if it held nothing by then, it is resumed and the look repeated).
    const orphanedIds = await waitFor(
      "replica b frozen while holding pending entries",
      async () => {
        if ((await pendingOf(redis, "notifications-b")) === 0) return undefined;
        replicaB!.child.kill("SIGSTOP");
        const held = (await redis.xpending(EVENTS_STREAM, EVENTS_CONSUMER_GROUP, "-", "+", 1000, "notifications-b")) as Array<[string, string, number, number]>;
        if (held.length > 0) return held.map(([id]) => id);
        replicaB!.child.kill("SIGCONT");
        return undefined;
      },
      { timeoutMs: 20_000, intervalMs: 2 },
    );
    replicaB!.child.kill("SIGKILL");
    await replicaB!.exited;
    assert.ok(orphanedIds.length > 0, "the killed replica left pending entries");

    // Everything ends acknowledged: processed, or dead-lettered.
    const settledMs = await timeUntil("every entry acknowledged", async () => {
      const [count] = (await redis.xpending(EVENTS_STREAM, EVENTS_CONSUMER_GROUP)) as XPendingSummary;
      return Number(count) === 0;
    }, 60_000, 200);

    // Exactly once in effect: each recipient has exactly the expected notifications, one per event.
    for (const r of recipients) {
      const idsOf = await redis.zrange(keys.notifications(r), 0, -1);
      assert.equal(idsOf.length, expected.get(r), `@${r}: ${idsOf.length} notifications, expected ${expected.get(r)}`);
      assert.equal(new Set(idsOf.map((id) => id.split(":")[0])).size, idsOf.length, `@${r}: one notification per event`);
    }
    // The orphaned entries were taken over and processed (their notifications exist).
    const mentioned = (id: string) => {
      const fields = events[ids.indexOf(id)]!;
      const message = fields[fields.indexOf("message") + 1] ?? "";
      return [...message.matchAll(/@([a-z0-9_]+)/g)].map((m) => m[1]!);
    };
    let orphanedNotifications = 0;
    for (const id of orphanedIds) {
      const fields = events[ids.indexOf(id)]!;
      if (fields[1] !== "activity.created" || mentioned(id).includes("poisoned")) continue;
      for (const r of mentioned(id)) {
        assert.notEqual(await redis.zscore(keys.notifications(r), `${id}:${r}:mention`), null, `orphaned ${id} processed for @${r}`);
        orphanedNotifications++;
      }
    }
    const claimLines = mesh.processes.notifications.jsonLines().filter((l) => l.msg === "claimed stale pending events");
    assert.ok(claimLines.length > 0, "the survivor logged its claims");

    // Poison: the malformed entries and the always-failing one, each with its reason.
    const dead = (await redis.xrange(EVENTS_DEAD_LETTER_STREAM, "-", "+")) as Array<[string, string[]]>;
    const reasons = dead.map(([, f]) => f[f.indexOf("reason") + 1]!);
    assert.equal(dead.length, MALFORMED + 1, `dead letters: ${JSON.stringify(reasons)}`);
    assert.equal(reasons.filter((r) => r.startsWith("malformed event: type")).length, MALFORMED);
    assert.equal(reasons.filter((r) => new RegExp(`^delivered \\d+ times \\(max ${MAX_DELIVERIES}\\)$`).test(r)).length, 1);
    assert.equal(mesh.processes.notifications.child.exitCode, null, "the survivor is still running");

    const total = [...expected.values()].reduce((a, b) => a + b, 0);
    report({
      scenario: "notifications consumer killed",
      fault: "1 of 2 notifications replicas SIGKILLed mid-burst",
      duration: "until the end of the run (not restarted)",
      load: `burst of ${events.length} stream entries (${BURST} valid, ${MALFORMED} malformed, 1 unstorable)`,
      during: { "pending on the killed replica": orphanedIds.length },
      checked: `notifications ${total} (exactly once), orphaned entries processed ${orphanedIds.length} (${orphanedNotifications} notifications), dead letters ${dead.length} with reason`,
      recovery: `all acknowledged ${(settledMs / 1000).toFixed(1)} s after the kill (claim idle ${CONSUMER_ENV.EVENTS_CLAIM_IDLE_MS} ms)`,
      figures: { reasons, claims_logged: claimLines.length },
    });
  });
});
