// tools: redis
// The whole mesh as processes (real redis-server, the four services on free ports), driven
// through the HTTP API: sign-up → post with an @mention → reply → like → notifications.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { sharedStep, waitFor } from "@tracemesh/devkit";
import { startMesh, type Mesh } from "@tracemesh/mesh";

interface ApiResponse {
  status: number;
  body: Record<string, unknown> & { error?: { code: string; message: string } };
}

async function call(mesh: Mesh, method: string, path: string, opts: { body?: unknown; token?: string } = {}): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  if (opts.body !== undefined) headers["content-type"] = "application/json";
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const res = await fetch(`${mesh.apiUrl}${path}`, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: AbortSignal.timeout(10_000),
  });
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/, `${method} ${path} answers JSON`);
  return { status: res.status, body: (await res.json()) as ApiResponse["body"] };
}

interface ActivityJson {
  uuid: string;
  handle: string;
  display_name: string | null;
  message: string;
  created_at: string;
  expires_at: string;
  likes_count: number;
  replies_count: number;
  reposts_count: number;
  reply_to_activity_uuid?: string;
  replies?: ActivityJson[];
}
interface NotificationJson {
  kind: string;
  actor_handle: string;
  activity_uuid: string;
  excerpt: string;
}

const ISO_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe("mesh end to end (processes, real Redis, HTTP API)", { timeout: 180_000 }, () => {
  let mesh: Mesh;
  // Each step of the story runs once, on first use, by whichever test needs it first: a test asks for the steps
  // it reads (so each one stands alone, e.g. under --test-name-pattern) rather than reading another test's leftovers.
  /** alice, bob and carol signed up: their tokens. */
  const signedUp = sharedStep(signUpThree);
  /** alice's post with an @mention, bob's reply and carol's like (twice). */
  const posted = sharedStep(() => signedUp().then(postReplyLike));

  before(async () => {
    mesh = await startMesh();
  });
  after(async () => {
    await mesh?.stop();
  });

  async function signUpThree(): Promise<Record<string, string>> {
    const tokens: Record<string, string> = {};
    for (const [handle, name] of [["alice", "Alice A"], ["bob", "Bob B"], ["carol", "Carol C"]]) {
      const res = await call(mesh, "POST", "/api/users", { body: { handle, display_name: name } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const user = res.body.user as { handle: string; display_name: string; created_at: string };
      assert.equal(user.handle, handle);
      assert.equal(user.display_name, name);
      assert.match(user.created_at, ISO_UTC);
      assert.equal(typeof res.body.token, "string");
      tokens[handle!] = res.body.token as string;
    }
    return tokens;
  }

  async function postReplyLike(tokens: Record<string, string>): Promise<{ tokens: Record<string, string>; post: ActivityJson; reply: ActivityJson }> {
    const created = await call(mesh, "POST", "/api/activities", { token: tokens.alice, body: { message: "tracing the mesh with @bob", ttl: "1-day" } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const post = created.body as unknown as ActivityJson;
    assert.match(post.uuid, UUID);
    assert.equal(post.handle, "alice");
    assert.equal(post.display_name, "Alice A");
    assert.equal(post.message, "tracing the mesh with @bob");
    assert.match(post.created_at, ISO_UTC);
    assert.match(post.expires_at, ISO_UTC);
    const ttlMs = Date.parse(post.expires_at) - Date.parse(post.created_at);
    assert.ok(Math.abs(ttlMs - 24 * 3600_000) < 5_000, `1-day ttl, got ${ttlMs} ms`);
    assert.deepEqual([post.likes_count, post.replies_count, post.reposts_count], [0, 0, 0]);
    assert.equal(post.reply_to_activity_uuid, undefined);

    const replied = await call(mesh, "POST", `/api/activities/${post.uuid}/replies`, { token: tokens.bob, body: { message: "nice, cc @carol" } });
    assert.equal(replied.status, 201, JSON.stringify(replied.body));
    const reply = replied.body as unknown as ActivityJson;
    assert.equal(reply.handle, "bob");
    assert.equal(reply.reply_to_activity_uuid, post.uuid);

    const liked = await call(mesh, "POST", `/api/activities/${post.uuid}/likes`, { token: tokens.carol });
    assert.equal(liked.status, 200, JSON.stringify(liked.body));
    assert.equal(liked.body.newly_liked, true);
    assert.equal((liked.body.activity as ActivityJson).likes_count, 1);
    const likedAgain = await call(mesh, "POST", `/api/activities/${post.uuid}/likes`, { token: tokens.carol });
    assert.equal(likedAgain.status, 200);
    assert.equal(likedAgain.body.newly_liked, false, "liking twice counts once");
    assert.equal((likedAgain.body.activity as ActivityJson).likes_count, 1);
    return { tokens, post, reply };
  }

  test("sign-up of three users; a taken handle is 409", { timeout: 20_000 }, async () => {
    await signedUp();
    const again = await call(mesh, "POST", "/api/users", { body: { handle: "alice", display_name: "Other" } });
    assert.equal(again.status, 409);
    assert.equal(again.body.error?.code, "already_exists");
    const profile = await call(mesh, "GET", "/api/users/@bob");
    assert.equal(profile.status, 200);
    assert.equal((profile.body.user as { display_name: string }).display_name, "Bob B");
  });

  test("post with an @mention, a reply and an idempotent like", { timeout: 40_000 }, async () => {
    await posted();
  });

  test("GET activity shows its reply; home and user feeds contain the post", { timeout: 60_000 }, async () => {
    const { post, reply } = await posted();
    const got = await call(mesh, "GET", `/api/activities/${post.uuid}`);
    assert.equal(got.status, 200);
    const activity = got.body as unknown as ActivityJson;
    assert.equal(activity.replies_count, 1);
    assert.equal(activity.likes_count, 1);
    assert.deepEqual(activity.replies?.map((r) => [r.uuid, r.handle, r.message]), [[reply.uuid, "bob", "nice, cc @carol"]]);

    const home = await call(mesh, "GET", "/api/activities/home?limit=10");
    assert.equal(home.status, 200);
    const homeActivities = home.body.activities as ActivityJson[];
    assert.ok(homeActivities.some((a) => a.uuid === post.uuid), "home feed has the post");
    assert.ok("next_cursor" in home.body);
    assert.equal(home.body.display_names_unavailable, undefined, "not degraded");

    const feed = await call(mesh, "GET", "/api/activities/@alice");
    assert.equal(feed.status, 200);
    assert.equal((feed.body.user as { handle: string }).handle, "alice");
    assert.deepEqual((feed.body.activities as ActivityJson[]).map((a) => a.uuid), [post.uuid]);
  });

  test("notifications reach the right users with the right kinds and actors", { timeout: 70_000 }, async () => {
    const { tokens, post, reply } = await posted();
    // The event travels activities → Redis Stream → notifications asynchronously: poll, bounded.
    const notificationsOf = async (handle: string) => {
      const res = await call(mesh, "GET", "/api/notifications", { token: tokens[handle] });
      assert.equal(res.status, 200);
      return (res.body.notifications as NotificationJson[]).map((n) => `${n.kind}:${n.actor_handle}:${n.activity_uuid}`).sort();
    };
    const expected: Record<string, string[]> = {
      alice: [`like:carol:${post.uuid}`, `reply:bob:${post.uuid}`],
      bob: [`mention:alice:${post.uuid}`],
      // The reply mentions carol; its notification points at the reply or the post, depending on
      // how notifications names it, so only kind and actor are pinned here.
      carol: ["mention:bob"],
    };
    for (const handle of ["alice", "bob"]) {
      await waitFor(`${handle}'s notifications`, async () => JSON.stringify(await notificationsOf(handle)) === JSON.stringify(expected[handle]), { timeoutMs: 15_000, intervalMs: 200 });
    }
    const carol = await waitFor("carol's notifications", async () => {
      const list = await notificationsOf("carol");
      return list.length > 0 ? list : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 });
    assert.equal(carol.length, 1, `carol: ${carol.join(", ")}`);
    assert.ok(carol[0]!.startsWith("mention:bob:"), carol[0]);
    assert.ok([post.uuid, reply.uuid].includes(carol[0]!.split(":")[2]!), carol[0]);
  });

  test("SIGTERM makes every process exit 0", { timeout: 60_000 }, async () => {
    const statuses = await mesh.stop();
    for (const name of ["api", "users", "activities", "notifications"] as const) {
      assert.deepEqual(statuses[name], { code: 0, signal: null }, `${name} exit status\n${mesh.processes[name].output().slice(-2000)}`);
    }
  });
});
