// Demo data: a dozen users, a few hundred activities with replies, likes and @mentions, written
// through the users and activities gRPC services (so events, notifications and timelines are
// exactly what real traffic produces).
//
// Idempotent: users are created tolerating ALREADY_EXISTS, and activities are only written when
// none of the seed users has any yet (their feeds are the marker). The content is generated from a
// fixed PRNG seed, so every fresh seed produces the same data.
//
//   USERS_ADDR=… ACTIVITIES_ADDR=… node dist/src/seed.js     (pnpm --filter @tracemesh/api run seed)
import { status } from "@grpc/grpc-js";
import { ActivitiesServiceClient, Ttl, UsersServiceClient } from "@tracemesh/proto";
import { callUnary, createClient, grpcAddress, int, isServiceError, loadConfigOrExit } from "@tracemesh/runtime";

export const SEED_USERS: ReadonlyArray<{ handle: string; displayName: string }> = [
  { handle: "andrewbrown", displayName: "Andrew Brown" },
  { handle: "bayko", displayName: "Andrew Bayko" },
  { handle: "londo", displayName: "Londo Mollari" },
  { handle: "ada", displayName: "Ada Lovelace" },
  { handle: "grace_hopper", displayName: "Grace Hopper" },
  { handle: "linus", displayName: "Linus Torvalds" },
  { handle: "margaret", displayName: "Margaret Hamilton" },
  { handle: "ken_thompson", displayName: "Ken Thompson" },
  { handle: "barbara", displayName: "Barbara Liskov" },
  { handle: "dennis", displayName: "Dennis Ritchie" },
  { handle: "radia", displayName: "Radia Perlman" },
  { handle: "frances", displayName: "Frances Allen" },
];

const DISPLAY_NAMES = new Map(SEED_USERS.map((u) => [u.handle, u.displayName]));

const POSTS_PER_USER = 20;
const REPLIES = 120;
const LIKES = 300;
const CONCURRENCY = 32;

const TOPICS = [
  "shipped a new trace view today",
  "the p99 on home feed is finally under 50 ms",
  "who else is debugging Redis streams at midnight?",
  "X-Ray service map looks like a spider web again",
  "Honeycomb BubbleUp found the slow path in seconds",
  "gRPC deadlines saved us from a cascading failure",
  "coffee, then spans, then more coffee",
  "remember to propagate context across the queue",
  "today I learned about consumer groups and XAUTOCLAIM",
  "wrote my first custom span attribute",
  "the load generator is kinder than production users",
  "cruds are the new tweets",
];
const REPLY_LINES = ["+1, same here", "nice work!", "how did you measure that?", "trace or it did not happen", "love it", "can you share the query?"];

/** mulberry32: a tiny deterministic PRNG, so every fresh seed writes the same content. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs the tasks with at most `limit` in flight. */
async function pool<T>(tasks: Array<() => Promise<T>>, limit: number): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

export interface SeedResult {
  users: number;
  activities: number;
  replies: number;
  likes: number;
  skipped: boolean;
}

export async function seed(addrs: { users: string; activities: string }, callTimeoutMs = 5000): Promise<SeedResult> {
  const users = createClient(UsersServiceClient, addrs.users);
  const activities = createClient(ActivitiesServiceClient, addrs.activities);
  const deadline = () => ({ deadline: new Date(Date.now() + callTimeoutMs) });
  try {
    await Promise.all(
      SEED_USERS.map(async (u) => {
        try {
          await callUnary(users.createUser.bind(users), { handle: u.handle, displayName: u.displayName }, deadline());
        } catch (err) {
          if (!(isServiceError(err) && err.code === status.ALREADY_EXISTS)) throw err;
        }
      }),
    );

    const feeds = await Promise.all(
      SEED_USERS.map((u) => callUnary(activities.userFeed.bind(activities), { handle: u.handle, limit: 1, cursor: "" }, deadline())),
    );
    if (feeds.some((f) => f.activities.length > 0)) {
      return { users: SEED_USERS.length, activities: 0, replies: 0, likes: 0, skipped: true };
    }

    const random = prng(20260224);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(random() * list.length)]!;
    const other = (handle: string) => {
      for (;;) {
        const u = pick(SEED_USERS);
        if (u.handle !== handle) return u.handle;
      }
    };

    const posts = SEED_USERS.flatMap((u) =>
      Array.from({ length: POSTS_PER_USER }, () => {
        const mention = random() < 0.3 ? ` cc @${other(u.handle)}` : "";
        return { handle: u.handle, displayName: u.displayName, message: `${pick(TOPICS)}${mention}`, ttl: Ttl.TTL_30_DAYS };
      }),
    );
    const created = await pool(
      posts.map((p) => () => callUnary(activities.createActivity.bind(activities), p, deadline())),
      CONCURRENCY,
    );
    const uuids = created.map((c) => c.activity!.uuid);
    const authorOf = new Map(created.map((c) => [c.activity!.uuid, c.activity!.handle]));

    const replies = Array.from({ length: REPLIES }, () => {
      const activityUuid = pick(uuids);
      const handle = other(authorOf.get(activityUuid)!);
      const mention = random() < 0.2 ? ` @${other(handle)} look at this` : "";
      return { handle, displayName: DISPLAY_NAMES.get(handle)!, activityUuid, message: `${pick(REPLY_LINES)}${mention}` };
    });
    const likePairs = new Map<string, { handle: string; activityUuid: string }>();
    while (likePairs.size < LIKES) {
      const like = { handle: pick(SEED_USERS).handle, activityUuid: pick(uuids) };
      likePairs.set(`${like.handle} ${like.activityUuid}`, like);
    }
    await pool<unknown>(
      [
        ...replies.map((r) => () => callUnary(activities.reply.bind(activities), r, deadline())),
        ...[...likePairs.values()].map((l) => () => callUnary(activities.like.bind(activities), l, deadline())),
      ],
      CONCURRENCY,
    );
    return { users: SEED_USERS.length, activities: created.length, replies: replies.length, likes: likePairs.size, skipped: false };
  } finally {
    users.close();
    activities.close();
  }
}

if (require.main === module) {
  const config = loadConfigOrExit(() => ({
    users: grpcAddress(process.env, "USERS_ADDR", "localhost:50052"),
    activities: grpcAddress(process.env, "ACTIVITIES_ADDR", "localhost:50051"),
    callTimeoutMs: int(process.env, "SEED_CALL_TIMEOUT_MS", 5000, { min: 100, max: 60_000 }),
  }));
  const started = Date.now();
  seed(config, config.callTimeoutMs).then(
    (r) => {
      const took = ((Date.now() - started) / 1000).toFixed(1);
      if (r.skipped) console.log(`seed: ${r.users} users present; activities already seeded, nothing written (${took} s)`);
      else console.log(`seed: ${r.users} users, ${r.activities} activities, ${r.replies} replies, ${r.likes} likes in ${took} s`);
    },
    (err: unknown) => {
      const detail = isServiceError(err) ? `${status[err.code]}: ${err.details}` : err instanceof Error ? err.message : String(err);
      console.error(`seed failed: ${detail}`);
      process.exitCode = 1;
    },
  );
}
