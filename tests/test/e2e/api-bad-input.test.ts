// tools: redis
// Bad input at the HTTP edge, against the whole mesh as processes: every case gets its documented
// status and `{error: {code, message}}`, no process crashes, nothing is stored. Also: /readyz names
// a dependency that is down while the home feed degrades instead of failing, and the OpenAPI
// document lists exactly the routes the api's router has.
import { randomUUID } from "node:crypto";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { waitFor } from "@tracemesh/devkit";
import { startMesh, type Mesh } from "@tracemesh/mesh";
import { createLogger, createRedis, type Redis } from "@tracemesh/runtime";
// The api's own route table, so the OpenAPI check cannot drift from the router.
import { apiRoutes } from "@tracemesh/api";


interface Sent {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

async function send(mesh: Mesh, req: Sent): Promise<{ status: number; contentType: string; json: Record<string, unknown> }> {
  const res = await fetch(`${mesh.apiUrl}${req.path}`, {
    method: req.method ?? "GET",
    headers: req.headers,
    body: req.body,
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    assert.fail(`${req.method ?? "GET"} ${req.path}: body is not JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", json };
}

const JSON_HEADERS = { "content-type": "application/json" };

describe("api bad input (whole mesh as processes)", { timeout: 180_000 }, () => {
  let mesh: Mesh;
  let redis: Redis;
  let token: string;
  let postUuid: string;

  before(async () => {
    // Moderation must answer (not be skipped under load) for its refusals below to be 400s.
    mesh = await startMesh({ serviceEnv: { activities: { MODERATION_DEADLINE_MS: "2000" } } });
    redis = createRedis(mesh.redis.url, createLogger("test", "silent"), { commandTimeoutMs: 2000 });
    const signup = await send(mesh, { method: "POST", path: "/api/users", headers: JSON_HEADERS, body: JSON.stringify({ handle: "dora", display_name: "Dora" }) });
    assert.equal(signup.status, 201);
    token = signup.json.token as string;
    const post = await send(mesh, {
      method: "POST",
      path: "/api/activities",
      headers: { ...JSON_HEADERS, authorization: `Bearer ${token}` },
      body: JSON.stringify({ message: "the only post", ttl: "1-hour" }),
    });
    assert.equal(post.status, 201);
    postUuid = post.json.uuid as string;
  });
  after(async () => {
    redis?.disconnect();
    await mesh?.stop();
  });

  test("each bad request gets its documented status and JSON error; nothing is stored; nothing crashes", { timeout: 60_000 }, async () => {
    const auth = () => ({ ...JSON_HEADERS, authorization: `Bearer ${token}` });
    const unknownUuid = randomUUID();
    const cases: Array<[string, Sent, number, string]> = [
      ["malformed JSON", { method: "POST", path: "/api/users", headers: JSON_HEADERS, body: '{"handle": "x",' }, 400, "invalid_argument"],
      ["JSON that is not an object", { method: "POST", path: "/api/users", headers: JSON_HEADERS, body: "[1,2]" }, 400, "invalid_argument"],
      ["empty body", { method: "POST", path: "/api/users", headers: JSON_HEADERS, body: "" }, 400, "invalid_argument"],
      ["wrong content type", { method: "POST", path: "/api/users", headers: { "content-type": "text/plain" }, body: '{"handle":"eve","display_name":"E"}' }, 415, "unsupported_media_type"],
      ["no content type", { method: "POST", path: "/api/activities", headers: { authorization: `Bearer ${token}` }, body: '{"message":"hi"}' }, 415, "unsupported_media_type"],
      ["body over 16 KiB", { method: "POST", path: "/api/users", headers: JSON_HEADERS, body: JSON.stringify({ handle: "eve", display_name: "x".repeat(17 * 1024) }) }, 413, "payload_too_large"],
      ["invalid handle on sign-up", { method: "POST", path: "/api/users", headers: JSON_HEADERS, body: JSON.stringify({ handle: "Eve Smith!", display_name: "Eve" }) }, 400, "invalid_argument"],
      ["handle too short", { method: "POST", path: "/api/users", headers: JSON_HEADERS, body: JSON.stringify({ handle: "ev", display_name: "Eve" }) }, 400, "invalid_argument"],
      ["missing display_name", { method: "POST", path: "/api/users", headers: JSON_HEADERS, body: JSON.stringify({ handle: "eve" }) }, 400, "invalid_argument"],
      ["invalid handle in path", { path: "/api/users/@Not%20Valid" }, 400, "invalid_argument"],
      ["unknown user", { path: "/api/users/@nobody_here" }, 404, "not_found"],
      ["unknown user's feed", { path: "/api/activities/@nobody_here" }, 404, "not_found"],
      ["unknown activity uuid", { path: `/api/activities/${unknownUuid}` }, 404, "not_found"],
      ["malformed activity uuid", { path: "/api/activities/not-a-uuid" }, 400, "invalid_argument"],
      ["post without token", { method: "POST", path: "/api/activities", headers: JSON_HEADERS, body: JSON.stringify({ message: "hi", ttl: "1-day" }) }, 401, "unauthenticated"],
      ["post with unknown token", { method: "POST", path: "/api/activities", headers: { ...JSON_HEADERS, authorization: "Bearer not-a-real-token" }, body: JSON.stringify({ message: "hi", ttl: "1-day" }) }, 401, "unauthenticated"],
      ["post with a non-bearer scheme", { method: "POST", path: "/api/activities", headers: { ...JSON_HEADERS, authorization: `Basic ${token}` }, body: JSON.stringify({ message: "hi" }) }, 401, "unauthenticated"],
      ["notifications without token", { path: "/api/notifications" }, 401, "unauthenticated"],
      ["like with unknown token", { method: "POST", path: `/api/activities/${postUuid}/likes`, headers: { authorization: "Bearer nope" } }, 401, "unauthenticated"],
      ["message too long", { method: "POST", path: "/api/activities", headers: auth(), body: JSON.stringify({ message: "m".repeat(281), ttl: "1-day" }) }, 400, "invalid_argument"],
      ["blank message", { method: "POST", path: "/api/activities", headers: auth(), body: JSON.stringify({ message: "   ", ttl: "1-day" }) }, 400, "invalid_argument"],
      ["message not a string", { method: "POST", path: "/api/activities", headers: auth(), body: JSON.stringify({ message: 42 }) }, 400, "invalid_argument"],
      ["unknown ttl", { method: "POST", path: "/api/activities", headers: auth(), body: JSON.stringify({ message: "hi", ttl: "2-days" }) }, 400, "invalid_argument"],
      ["reply too long", { method: "POST", path: `/api/activities/${postUuid}/replies`, headers: auth(), body: JSON.stringify({ message: "r".repeat(300) }) }, 400, "invalid_argument"],
      ["reply to unknown activity", { method: "POST", path: `/api/activities/${unknownUuid}/replies`, headers: auth(), body: JSON.stringify({ message: "hello?" }) }, 404, "not_found"],
      ["like of unknown activity", { method: "POST", path: `/api/activities/${unknownUuid}/likes`, headers: auth() }, 404, "not_found"],
      ["limit 0", { path: "/api/activities/home?limit=0" }, 400, "invalid_argument"],
      ["limit 101", { path: "/api/activities/home?limit=101" }, 400, "invalid_argument"],
      ["limit not a number", { path: "/api/activities/@dora?limit=ten" }, 400, "invalid_argument"],
      ["cursor with bad characters", { path: "/api/activities/home?cursor=%21%21%21" }, 400, "invalid_argument"],
      ["empty cursor (the OpenAPI pattern needs 1+ characters)", { path: "/api/activities/home?cursor=" }, 400, "invalid_argument"],
      ["cursor the api never issued", { path: "/api/activities/home?cursor=bm90LWEtY3Vyc29y" }, 400, "invalid_argument"],
      ["unknown route", { path: "/api/nothing-here" }, 404, "not_found"],
      ["wrong method", { method: "DELETE", path: "/api/users" }, 405, "method_not_allowed"],
      ["debug route while disabled", { path: "/api/debug/throw" }, 404, "not_found"],
      ["post moderation refuses", { method: "POST", path: "/api/activities", headers: auth(), body: JSON.stringify({ message: "casino night!!!!!!!!!", ttl: "1-day" }) }, 400, "invalid_argument"],
      ["reply moderation refuses", { method: "POST", path: `/api/activities/${postUuid}/replies`, headers: auth(), body: JSON.stringify({ message: "www.a.test www.b.test www.c.test" }) }, 400, "invalid_argument"],
      // What schemathesis once sent as "schema-valid" before the document described this rule.
      ["reply moderation refuses (a character 8+ times in a row)", { method: "POST", path: `/api/activities/${postUuid}/replies`, headers: auth(), body: JSON.stringify({ message: "0000000000=00" }) }, 400, "invalid_argument"],
    ];

    const keysBefore = (await redis.keys("tracemesh:*")).sort();
    const streamBefore = await redis.xlen("tracemesh:events");
    for (const [name, req, status, code] of cases) {
      const res = await send(mesh, req);
      assert.equal(res.status, status, `${name}: ${JSON.stringify(res.json)}`);
      assert.match(res.contentType, /^application\/json/, name);
      const error = res.json.error as { code: string; message: string } | undefined;
      assert.equal(error?.code, code, `${name}: ${JSON.stringify(res.json)}`);
      assert.ok(typeof error?.message === "string" && error.message.length > 0, `${name}: message`);
      // A refusal names moderation's reasons.
      if (name.includes("moderation")) assert.match(error.message, /^message refused by moderation: (word_list|link_spam|repeated_characters): /, name);
    }

    // Nothing stored: the same keys (sessions included), no new events, the feed unchanged.
    assert.deepEqual((await redis.keys("tracemesh:*")).sort(), keysBefore);
    assert.equal(await redis.xlen("tracemesh:events"), streamBefore);
    assert.equal(await redis.exists("tracemesh:user:eve"), 0);
    const home = await send(mesh, { path: "/api/activities/home" });
    assert.deepEqual((home.json.activities as Array<{ uuid: string }>).map((a) => a.uuid), [postUuid]);
    const post = await send(mesh, { path: `/api/activities/${postUuid}` });
    assert.deepEqual([post.json.likes_count, post.json.replies_count], [0, 0]);

    // No process crashed and the mesh is still ready.
    for (const [name, proc] of Object.entries(mesh.processes)) {
      assert.equal(proc.child.exitCode, null, `${name} is still running\n${proc.output().slice(-2000)}`);
    }
    const ready = await send(mesh, { path: "/readyz" });
    assert.equal(ready.status, 200, JSON.stringify(ready.json));
  });

  test("the OpenAPI document parses and documents exactly the router's routes", { timeout: 10_000 }, async () => {
    const res = await send(mesh, { path: "/api/openapi.json" });
    assert.equal(res.status, 200);
    const doc = res.json as {
      openapi: string;
      paths: Record<string, Record<string, { security?: unknown[]; requestBody?: unknown; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, unknown> };
    };
    assert.match(doc.openapi, /^3\./);
    // `/api/users/@:handle` in the router is `/api/users/@{handle}` in OpenAPI.
    const routes = apiRoutes();
    const fromRouter = routes.map((r) => `${r.method} ${r.path.replace(/:([a-z_]+)/g, "{$1}")}`).sort();
    const fromDoc = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)).sort();
    assert.deepEqual(fromDoc, fromRouter);

    for (const r of routes) {
      const op = doc.paths[r.path.replace(/:([a-z_]+)/g, "{$1}")]![r.method.toLowerCase()]!;
      const statuses = Object.keys(op.responses);
      if (r.body === "json") {
        assert.ok(op.requestBody, `${r.method} ${r.path} documents its body`);
        for (const s of ["400", "413", "415"]) assert.ok(statuses.includes(s), `${r.method} ${r.path} documents ${s}`);
      }
      if (r.auth) {
        assert.ok(op.security && op.security.length > 0, `${r.method} ${r.path} documents bearer auth`);
        assert.ok(statuses.includes("401"), `${r.method} ${r.path} documents 401`);
      }
    }
    // Every $ref points at a schema that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 10);
    for (const ref of refs) assert.ok(doc.components.schemas[ref], `schema ${ref} exists`);
  });

  test("the document's message rule is moderation's: its `not` pattern matches exactly the texts refused for repeated characters", { timeout: 30_000 }, async () => {
    const res = await send(mesh, { path: "/api/openapi.json" });
    const message = (res.json as { components: { schemas: { Message: { not: { pattern: string } } } } }).components.schemas.Message;
    const documented = new RegExp(message.not.pattern, "u");
    // Runs at the edges of the rule: length 7 and 8, spaces between, emoji (one code point each), and characters
    // whose whitespace-ness differs between regex dialects (\x1c, U+FEFF, U+00A0), which the document spells out.
    const texts = [
      "0000000000=00", "aaaaaaa", "aaaaaaaa", "soooooooo!", "a a a a a a a a", "🎉".repeat(7), "🎉".repeat(8),
      "\u001c".repeat(8), `x${"\ufeff".repeat(8)}x`, `x${"\u00a0".repeat(8)}x`, "é".repeat(8), "e\u0301".repeat(8),
    ];
    for (const text of texts) {
      const check = await fetch(`${mesh.moderationUrl}/v1/check`, {
        method: "POST",
        headers: JSON_HEADERS,
        body: JSON.stringify({ text, handle: "dora" }),
        signal: AbortSignal.timeout(5000),
      });
      assert.equal(check.status, 200, JSON.stringify(text));
      const verdict = (await check.json()) as { reasons: string[] };
      const refused = verdict.reasons.some((r) => r.startsWith("repeated_characters:"));
      assert.equal(documented.test(text), refused, `${JSON.stringify(text)}: the document and moderation disagree`);
    }
  });

  test("/readyz is 503 naming users when users is down; the home feed degrades instead of failing", { timeout: 60_000 }, async () => {
    const stopped = await mesh.processes.users.stop();
    assert.equal(stopped.code, 0);
    const notReady = await waitFor("readyz 503", async () => {
      const res = await send(mesh, { path: "/readyz" });
      return res.status === 503 ? res : undefined;
    }, { timeoutMs: 10_000, intervalMs: 200 });
    const error = notReady.json.error as { code: string; message: string };
    assert.equal(error.code, "unavailable");
    assert.match(error.message, /users/);
    assert.deepEqual(notReady.json.checks, { redis: "ok", users: "failing", activities: "ok", notifications: "ok" });

    const home = await send(mesh, { path: "/api/activities/home" });
    assert.equal(home.status, 200, JSON.stringify(home.json));
    assert.equal(home.json.display_names_unavailable, true);
    const activities = home.json.activities as Array<{ uuid: string; display_name: string | null }>;
    assert.deepEqual(activities.map((a) => [a.uuid, a.display_name]), [[postUuid, null]]);

    const profile = await send(mesh, { path: "/api/users/@dora" });
    assert.equal(profile.status, 503);
    assert.match((profile.json.error as { message: string }).message, /users/);
  });
});
