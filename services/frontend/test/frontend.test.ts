// The frontend server as a process (dist/src/main.js, serving the real Vite build): static files and
// their cache headers, the SPA fallback, the /api and /otlp proxies — including what happens when the
// upstream is down, hangs or is sent too much — and config errors. The upstreams here are small local
// HTTP servers that record what reached them (a hung or closed one is the point of some cases); the
// real api and Collector behind this server are covered by tests/test/e2e/frontend.browser.test.ts.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { freePort, httpStatus, startProcess, waitFor, type ManagedProcess } from "@tracemesh/devkit";
import { API_ROUTES, apiRoute } from "../src/routes.js";

const MAIN = path.join(__dirname, "..", "src", "main.js");
const WEB = path.join(__dirname, "..", "web");
const OPENAPI = path.join(__dirname, "..", "..", "..", "api", "openapi.json");

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** A local upstream that records requests and answers with `reply` (or never, when hang is set). */
async function upstream(reply: (req: Seen) => { status: number; body: unknown } | "hang") {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const entry = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body: Buffer.concat(chunks).toString("utf8") };
      seen.push(entry);
      const answer = reply(entry);
      if (answer === "hang") return;
      res.writeHead(answer.status, { "content-type": "application/json", connection: "keep-alive", "x-upstream": "yes" });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    stop: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

describe("frontend server process", { timeout: 90_000 }, () => {
  const started: ManagedProcess[] = [];
  const stops: Array<() => Promise<void>> = [];
  let api: Awaited<ReturnType<typeof upstream>>;
  let collector: Awaited<ReturnType<typeof upstream>>;
  let url = "";

  async function startFrontend(env: NodeJS.ProcessEnv): Promise<string> {
    const port = await freePort();
    const proc = startProcess("frontend", process.execPath, [MAIN], {
      env: { ...process.env, OTEL_SDK_DISABLED: "true", PORT: String(port), ...env },
    });
    started.push(proc);
    const base = `http://127.0.0.1:${port}`;
    await waitFor("frontend /healthz", async () => {
      if (proc.child.exitCode !== null) throw new Error(`frontend exited:\n${proc.output()}`);
      return (await httpStatus(`${base}/healthz`)) === 200;
    }, { timeoutMs: 15_000 });
    return base;
  }

  before(async () => {
    api = await upstream((req) => (req.url.startsWith("/api/users") && req.method === "POST"
      ? { status: 409, body: { error: { code: "already_exists", message: "handle taken" } } }
      : req.url === "/healthz" ? { status: 200, body: { status: "ok" } } : { status: 200, body: { echoed: req.url } }));
    collector = await upstream(() => ({ status: 200, body: { partialSuccess: {} } }));
    stops.push(api.stop, collector.stop);
    url = await startFrontend({ API_URL: api.url, OTLP_URL: collector.url, OTLP_BODY_LIMIT_BYTES: "2048" });
  });

  after(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await Promise.all(stops.map((s) => s()));
  });

  test("/ serves index.html uncached; hashed assets are immutable and gzipped; app routes fall back to index.html", async () => {
    const index = await fetch(`${url}/`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get("cache-control"), "no-cache");
    const html = await index.text();
    assert.match(html, /<div id="root"><\/div>/);
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, "index.html loads a hashed script");

    const asset = await fetch(`${url}${script}`, { headers: { "accept-encoding": "gzip" } });
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get("cache-control"), "public, max-age=31536000, immutable");
    assert.match(asset.headers.get("content-type") ?? "", /^text\/javascript/);
    // fetch decodes gzip itself; the raw bytes are checked with http.get below.
    const raw = await new Promise<{ encoding?: string; body: Buffer }>((resolve, reject) => {
      http.get(`${url}${script}`, { headers: { "accept-encoding": "gzip" } }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => resolve({ encoding: res.headers["content-encoding"], body: Buffer.concat(chunks) }));
      }).on("error", reject);
    });
    assert.equal(raw.encoding, "gzip");
    assert.deepEqual(gunzipSync(raw.body), fs.readFileSync(path.join(WEB, script)));

    const etag = asset.headers.get("etag")!;
    assert.equal((await fetch(`${url}${script}`, { headers: { "if-none-match": etag } })).status, 304);

    for (const route of ["/@alice", "/activities/0b0e6c2e-6b1f-4b1a-9a51-0c6a4f1f3f00", "/notifications", "/signup"]) {
      const res = await fetch(`${url}${route}`);
      assert.equal(res.status, 200, route);
      assert.equal(await res.text(), html, `${route} is the app`);
    }
    const missing = await fetch(`${url}/assets/index-gone.js`);
    assert.equal(missing.status, 404, "a missing file is not answered with the app");
    assert.deepEqual(await missing.json(), { error: { code: "not_found", message: "no file /assets/index-gone.js" } });
    const post = await fetch(`${url}/`, { method: "POST" });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get("allow"), "GET, HEAD");
  });

  test("/api/* is forwarded as is (path, query, method, auth, trace headers), with Server-Timing added", async () => {
    const res = await fetch(`${url}/api/activities/home?limit=2&cursor=abc`, {
      headers: { authorization: "Bearer t0k3n", traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", baggage: "session.id=abc" },
    });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { echoed: "/api/activities/home?limit=2&cursor=abc" });
    assert.equal(res.headers.get("x-upstream"), "yes");
    assert.match(res.headers.get("server-timing") ?? "", /^api;dur=\d+(\.\d)?$/);
    const seen = api.seen.find((s) => s.url === "/api/activities/home?limit=2&cursor=abc")!;
    assert.equal(seen.headers.authorization, "Bearer t0k3n");
    assert.equal(seen.headers.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "the browser's context reaches api (SDK off here)");
    assert.equal(seen.headers.baggage, "session.id=abc");
    assert.match(String(seen.headers["x-forwarded-for"]), /127\.0\.0\.1/);

    // Error answers pass through untouched: the page shows the API's own message.
    const conflict = await fetch(`${url}/api/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ handle: "x" }) });
    assert.equal(conflict.status, 409);
    assert.deepEqual(await conflict.json(), { error: { code: "already_exists", message: "handle taken" } });
    assert.equal(api.seen.find((s) => s.method === "POST")?.body, JSON.stringify({ handle: "x" }));
  });

  test("/otlp/v1/traces goes to the Collector's /v1/traces, POST only, bounded by OTLP_BODY_LIMIT_BYTES", async () => {
    const body = JSON.stringify({ resourceSpans: [] });
    const res = await fetch(`${url}/otlp/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body });
    assert.equal(res.status, 200);
    assert.equal(collector.seen.at(-1)?.url, "/v1/traces");
    assert.equal(collector.seen.at(-1)?.body, body);
    assert.equal(collector.seen.at(-1)?.headers["content-type"], "application/json");

    const big = await fetch(`${url}/otlp/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: "x".repeat(4096) });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, "payload_too_large");
    // Without a Content-Length (chunked) the limit is enforced while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${url}/otlp/v1/traces`, { method: "POST", headers: { "content-type": "application/json", "transfer-encoding": "chunked" } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      });
      req.on("error", reject);
      for (let i = 0; i < 8; i++) req.write("y".repeat(1024));
      req.end();
    });
    assert.equal(chunked, 413);
    assert.equal((await fetch(`${url}/otlp/v1/traces`)).status, 405);
  });

  test("api or Collector down → 503 JSON naming it; a hung api → 503 after REQUEST_TIMEOUT_MS; /readyz follows api", async () => {
    const hung = await upstream((req) => (req.url === "/healthz" ? { status: 200, body: {} } : "hang"));
    stops.push(hung.stop);
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await startFrontend({ API_URL: closed, OTLP_URL: closed });
    const res = await fetch(`${down}/api/activities/home`);
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { error: { code: "unavailable", message: "api is unavailable (ECONNREFUSED)" } });
    const spans = await fetch(`${down}/otlp/v1/traces`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(spans.status, 503);
    assert.deepEqual(await spans.json(), { error: { code: "unavailable", message: "collector is unavailable (ECONNREFUSED)" } });
    const ready = await fetch(`${down}/readyz`);
    assert.equal(ready.status, 503);
    assert.deepEqual(((await ready.json()) as { checks: unknown }).checks, { api: "failing" });
    assert.equal((await fetch(`${url}/readyz`)).status, 200);

    const slow = await startFrontend({ API_URL: hung.url, OTLP_URL: hung.url, REQUEST_TIMEOUT_MS: "300" });
    const t0 = Date.now();
    const late = await fetch(`${slow}/api/activities/home`);
    const waited = Date.now() - t0;
    assert.equal(late.status, 503);
    assert.deepEqual(await late.json(), { error: { code: "deadline_exceeded", message: "api did not answer within 300 ms" } });
    assert.ok(waited >= 290 && waited < 3000, `answered after ${waited} ms`);
  });

  test("a bad variable exits 2 with one line naming it", () => {
    const res = spawnSync(process.execPath, [MAIN], { env: { ...process.env, API_URL: "api:8080" }, encoding: "utf8", timeout: 10_000 });
    assert.equal(res.status, 2);
    assert.match(res.stderr.trim(), /^invalid configuration: API_URL must be a URL starting with http:\/\/ or https:\/\/, got "api:8080"$/);
    assert.equal(res.stderr.trim().split("\n").length, 1);
  });
});

describe("api route names", () => {
  test("API_ROUTES are exactly the paths of services/api/openapi.json", () => {
    const doc = JSON.parse(fs.readFileSync(OPENAPI, "utf8")) as { paths: Record<string, unknown> };
    const documented = Object.keys(doc.paths).filter((p) => p.startsWith("/api/")).map((p) => p.replace(/\{(\w+)\}/g, ":$1"));
    assert.deepEqual([...API_ROUTES].sort(), documented.sort());
  });

  test("paths map to their route; the one with fewer parameters wins", () => {
    assert.equal(apiRoute("/api/activities/home"), "/api/activities/home");
    assert.equal(apiRoute("/api/activities/3f2b0c1e-0000-4000-8000-000000000000"), "/api/activities/:uuid");
    assert.equal(apiRoute("/api/activities/3f2b0c1e-0000-4000-8000-000000000000/likes"), "/api/activities/:uuid/likes");
    assert.equal(apiRoute("/api/activities/@alice"), "/api/activities/@:handle");
    assert.equal(apiRoute("/api/users/@alice"), "/api/users/@:handle");
    assert.equal(apiRoute("/api/nope/x/y"), "/api/*");
  });
});
