// tools: redis collector chromium
// The web frontend in a real browser against the whole mesh: real redis-server, the four services and
// the frontend server as processes (telemetry preloaded), the real Collector (config.yaml + local.yaml)
// exporting to its file and to local stand-ins for Honeycomb and X-Ray (remote SaaS we cannot reach),
// and Debian's chromium driven by playwright-core. Two people use the app in two browser contexts:
// bob and alice sign up, alice posts with an @mention of bob, bob replies and likes, both read their
// notifications — the DOM is checked at each step and axe-core checks every screen. Then the
// Collector's file output must show one trace from alice's click on "Post" through the frontend server
// and api to the notifications consumer, a document-load trace, and the web vitals.
//
// CHROMIUM_BIN: the browser (default /usr/bin/chromium, installed by scripts/tools/10-chromium.sh).
// TRACEMESH_SCREENSHOTS=<dir>: writes frontend-home.png, frontend-profile.png and
// frontend-notifications.png there (the README's pictures come from `TRACEMESH_SCREENSHOTS=docs`).
// TRACEMESH_E2E_ARTIFACTS=<dir>: writes the post click's waterfall and the measured figures there.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import type { Page } from "playwright-core";
import {
  repoRoot,
  standInCollectorEnv,
  startCollector,
  startHoneycombStandIn,
  startProcess,
  startXrayStandIn,
  sharedStep,
  waitFor,
  type HoneycombStandIn,
  type LocalCollector,
  type XrayStandIn,
} from "@tracemesh/devkit";
import { entryPoint, nodeArgs, packageDirOf, startFrontend, startMesh, telemetryEnv, type LocalFrontend, type Mesh } from "@tracemesh/mesh";
import { SPAN_KIND, durationMs, renderWaterfall, waterfallSpan, type Span } from "@tracemesh/trace-model";
import { PHONE, WebApp, postWithMention, readNotifications, replyAndLike, signUp, type Person } from "./frontend-flows.js";

const HONEYCOMB_KEY = "browser-test-honeycomb-key";
const FAST_EXPORT = { OTEL_BSP_SCHEDULE_DELAY: "200" };
const WEB_DIST = path.join(repoRoot(), "services", "frontend", "dist", "web");

const service = (s: Span) => s.serviceName;

/**
 * The resource-timing events the fetch instrumentation put on one span (fetchStart, requestStart,
 * responseStart, responseEnd…), in ms since the span's start, read from the Collector's OTLP JSON lines.
 */
function fetchTimings(tracesFile: string, spanId: string): Record<string, number> {
  interface RawSpan { spanId: string; startTimeUnixNano: string; events?: Array<{ name: string; timeUnixNano: string }> }
  for (const line of fs.readFileSync(tracesFile, "utf8").split("\n")) {
    if (!line.includes(spanId)) continue;
    const doc = JSON.parse(line) as { resourceSpans: Array<{ scopeSpans: Array<{ spans: RawSpan[] }> }> };
    for (const span of doc.resourceSpans.flatMap((r) => r.scopeSpans.flatMap((ss) => ss.spans))) {
      if (span.spanId !== spanId) continue;
      const start = BigInt(span.startTimeUnixNano);
      return Object.fromEntries((span.events ?? []).map((e) => [e.name, Number(BigInt(e.timeUnixNano) - start) / 1e6]));
    }
  }
  return {};
}

describe("the web frontend in chromium, traced from the click through the real Collector", { timeout: 300_000 }, () => {
  let honeycomb: HoneycombStandIn;
  let xray: XrayStandIn;
  let collector: LocalCollector;
  let mesh: Mesh;
  let frontend: LocalFrontend;
  let app: WebApp;
  let alice: Person;
  let bob: Person;
  const run = Date.now().toString(36).slice(-5);
  const aliceHandle = `alice_${run}`;
  const bobHandle = `bob_${run}`;
  const postText = `Traced from the click: hello @${bobHandle}!`;
  const replyText = `Replying from the second browser, ${run}`;
  const screenshots = process.env.TRACEMESH_SCREENSHOTS ? path.resolve(repoRoot(), process.env.TRACEMESH_SCREENSHOTS) : undefined;
  const artifacts = process.env.TRACEMESH_E2E_ARTIFACTS;

  before(async () => {
    [honeycomb, xray] = await Promise.all([startHoneycombStandIn({ apiKey: HONEYCOMB_KEY }), startXrayStandIn()]);
    collector = await startCollector({
      env: standInCollectorEnv({ honeycombUrl: honeycomb.url, honeycombKey: HONEYCOMB_KEY, xrayEndpoint: xray.endpoint }),
    });
    mesh = await startMesh({ otel: { endpoint: collector.otlpHttpUrl, env: FAST_EXPORT } });
    frontend = await startFrontend(mesh);
    app = await WebApp.launch(frontend.url);
    [alice, bob] = [await app.open(), await app.open()];
  });

  after(async () => {
    await app?.close();
    await frontend?.stop();
    await mesh?.stop();
    await collector?.stop();
    await Promise.all([honeycomb?.stop(), xray?.stop()]);
  });

  const checkA11y = (page: Page, screen: string) => app.checkA11y(page, screen);

  async function screenshot(page: Page, name: string): Promise<void> {
    if (!screenshots) return;
    fs.mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: path.join(screenshots, `frontend-${name}.png`), fullPage: false });
  }

  // The story's steps, each run once, on first use, by whichever test needs it first: a test awaits the steps it
  // reads (so each one stands alone, e.g. under --test-name-pattern); in file order they run as the story goes.
  const signedUp = sharedStep(async () => {
    await bob.page.goto("/signup");
    await checkA11y(bob.page, "sign up");
    // Bad input: the API's own message, in an alert, not a blank page.
    await bob.page.getByLabel("Handle").fill("No Spaces Allowed");
    await bob.page.getByLabel("Display name").fill("Bob");
    await bob.page.getByRole("button", { name: "Sign up" }).click();
    assert.match(await bob.page.getByRole("alert").innerText(), /handle must match/);

    await signUp(bob.page, bobHandle, "Bob Browser");
    await signUp(alice.page, aliceHandle, "Alice Browser");
    const stored = await alice.page.evaluate<string | null>('localStorage.getItem("tracemesh.account")');
    assert.match(stored ?? "", new RegExp(`"handle":"${aliceHandle}"`), "the token and handle are kept in localStorage");
  });
  /** carol, signed up through the frontend's /api proxy, with 25 posts (more than one page): her token. */
  const carolPosted = sharedStep(async (): Promise<string> => {
    // Another person's posts, straight through the frontend's /api proxy: more than one page (20).
    const signup = await fetch(`${frontend.url}/api/users`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ handle: `carol_${run}`, display_name: "Carol Crud" }) });
    assert.equal(signup.status, 201);
    const { token } = (await signup.json()) as { token: string };
    const lines = ["Shipping the frontend today", "Spans from the browser, finally", "Who else reads waterfalls for fun?", "Redis Streams carry the context", "Latency budget: 100 ms, spent 12"];
    for (let i = 0; i < 25; i++) {
      const res = await fetch(`${frontend.url}/api/activities`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ message: `${lines[i % lines.length]} (#${i + 1})`, ttl: i % 2 ? "3-days" : "12-hours" }),
      });
      assert.equal(res.status, 201);
    }
    return token;
  });
  const feedScrolled = sharedStep(async () => {
    await signedUp();
    await carolPosted();
    const page = bob.page;
    await page.reload();
    await page.getByRole("article").first().waitFor();
    assert.equal(await page.getByRole("article").count(), 20, "the first page");
    await page.getByRole("article").nth(19).scrollIntoViewIfNeeded();
    await waitFor("the second page", async () => (await page.getByRole("article").count()) > 20, { timeoutMs: 10_000 });
    assert.ok((await page.getByRole("article").filter({ hasText: "(#1)" }).count()) === 1, "the oldest post arrived");
    await checkA11y(page, "home (signed in, long feed)");
  });
  const alicePosted = sharedStep(async () => {
    await signedUp();
    await carolPosted();
    const page = alice.page;
    await page.reload();
    await page.getByRole("article").filter({ hasText: "(#25)" }).waitFor();
    await postWithMention(app, page, postText, bobHandle);
    await screenshot(page, "home");
  });
  const bobReplied = sharedStep(async () => {
    await alicePosted();
    await replyAndLike(app, bob.page, aliceHandle, postText, replyText);
  });
  const aliceRead = sharedStep(async () => {
    await bobReplied();
    await readNotifications(app, alice.page, bobHandle);
    await screenshot(alice.page, "notifications");
  });
  const profileBrowsed = sharedStep(async () => {
    await alicePosted();
    const page = alice.page;
    await page.goto(`/@${aliceHandle}`);
    await page.getByRole("heading", { level: 1, name: "Alice Browser" }).waitFor();
    await page.getByRole("article").filter({ hasText: postText }).waitFor();
    await checkA11y(page, "profile");
    await screenshot(page, "profile");

    // Tab from the top: the skip link first, then the brand and the navigation.
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate<string | undefined>("document.activeElement?.textContent"), "Skip to content");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    assert.equal(await page.evaluate<string | undefined>("document.activeElement?.textContent"), "Home");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { level: 1, name: "Home" }).waitFor();
    assert.equal(await page.evaluate<string | undefined>("document.activeElement?.tagName"), "H1", "focus moves to the new page's heading");
    await checkA11y(page, "home after keyboard navigation");
  });
  /** Every screen of the story, in its order. */
  const wholeStory = async () => {
    for (const step of [signedUp, feedScrolled, alicePosted, bobReplied, aliceRead, profileBrowsed]) await step();
  };

  test("sign-up: a taken handle shows the API's message; then both people are signed in", async () => {
    await signedUp();
  });

  test("the home feed scrolls on by cursor: the next page loads when the end of the list comes into view", async () => {
    await feedScrolled();
  });

  test("alice posts with an @mention: the post tops her home feed, with the TTL she chose", async () => {
    await alicePosted();
  });

  test("bob sees the mention, opens the post, replies and likes it", async () => {
    await bobReplied();
  });

  test("alice reads her notifications: bob's reply and like, then the unread count is gone", async () => {
    await aliceRead();
  });

  test("a profile lists the user's posts; keyboard alone reaches and follows the links", async () => {
    await profileBrowsed();
  });

  test("an unknown activity shows the API's message, not a blank page", async () => {
    const page = bob.page;
    await page.goto("/activities/00000000-0000-4000-8000-000000000000");
    assert.match(await page.getByRole("alert").innerText(), /activity 00000000-0000-4000-8000-000000000000 not found/);
  });

  test("an activity disappears from the page once its TTL has run out (the page's clock moved 13 h on)", async () => {
    // A context of its own: playwright's fake clock applies to a whole context. Carol is signed in through
    // the same localStorage entry the sign-up page writes.
    const context = await app.browser.newContext({ viewport: PHONE, baseURL: frontend.url });
    try {
      context.setDefaultTimeout(15_000);
      const carolToken = await carolPosted();
      const account = JSON.stringify({ token: carolToken, handle: `carol_${run}`, displayName: "Carol Crud" });
      await context.addInitScript(`localStorage.setItem("tracemesh.account", ${JSON.stringify(account)})`);
      await context.clock.install();
      const page = await context.newPage();
      await page.goto("/");
      const text = `This one lasts an hour (${run})`;
      await page.getByLabel("What's happening?").fill(text);
      await page.getByLabel("Expires after").selectOption("1-hour");
      await page.getByRole("button", { name: "Post" }).click();
      const post = page.getByRole("article").filter({ hasText: text });
      await post.waitFor();
      assert.match(await post.innerText(), /expires in (59m|1h)/);
      await page.clock.fastForward("13:00:00");
      await post.waitFor({ state: "detached" });
      assert.ok((await page.getByRole("article").filter({ hasText: "(#25)" }).count()) === 0, "the 12-hour posts are gone too");
      assert.ok((await page.getByRole("article").filter({ hasText: "(#24)" }).count()) === 1, "the 3-day posts stay");
    } finally {
      await context.close();
    }
  });

  test("no serious or critical accessibility violation on any screen (axe-core)", async () => {
    await wholeStory();
    app.assertAccessible(5);
  });

  test("every /api fetch carried traceparent and baggage with the session id", async () => {
    await wholeStory();
    app.assertPropagated(8);
  });

  test("one trace: alice's click → fetch → frontend server → api → activities → stream → notifications", { timeout: 60_000 }, async () => {
    await alicePosted();
    const trace = await waitFor(
      "the post click's trace with the notifications consumer in the Collector's file",
      () => {
        const spans = collector.fileSpans();
        const fetchSpan = spans.find((s) => service(s) === "frontend-web" && s.name === "POST /api/activities" && s.attributes["enduser.id"] === aliceHandle);
        if (!fetchSpan) return undefined;
        const trace = spans.filter((s) => s.traceId === fetchSpan.traceId);
        return trace.some((s) => service(s) === "notifications" && s.kind === SPAN_KIND.CONSUMER) ? trace : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const byId = new Map(trace.map((s) => [s.spanId, s]));
    const fetchSpan = trace.find((s) => service(s) === "frontend-web" && s.kind === SPAN_KIND.CLIENT)!;
    const click = byId.get(fetchSpan.parentSpanId);
    assert.ok(click, "the fetch span's parent is in the trace");
    assert.equal(click.name, "click");
    assert.equal(service(click), "frontend-web");
    assert.equal(click.parentSpanId, "", "the click is the trace's root");
    assert.equal(click.attributes["app.ui.target"], "Post");
    const render = trace.find((s) => s.name === "render post");
    assert.ok(render && render.parentSpanId === click.spanId, "the render after the answer is a child of the click");
    assert.ok(render.startNs >= fetchSpan.startNs, "it starts after the fetch did");
    const feServer = trace.find((s) => service(s) === "frontend" && s.kind === SPAN_KIND.SERVER);
    assert.ok(feServer, "the frontend server's span");
    assert.equal(feServer.parentSpanId, fetchSpan.spanId, "frontend server span ← browser fetch span");
    assert.equal(feServer.name, "POST /api/activities");
    const feClient = trace.find((s) => service(s) === "frontend" && s.kind === SPAN_KIND.CLIENT);
    assert.ok(feClient && feClient.parentSpanId === feServer.spanId, "the proxy's client span");
    assert.equal(feClient.attributes["peer.service"], "api");
    const apiServer = trace.find((s) => service(s) === "api" && s.kind === SPAN_KIND.SERVER);
    assert.ok(apiServer, "api's server span");
    assert.equal(apiServer.traceId, fetchSpan.traceId, "the browser's fetch span and api's server span share the trace id");
    assert.equal(apiServer.parentSpanId, feClient.spanId);
    assert.deepEqual([...new Set(trace.map(service))].sort(), ["activities", "api", "frontend", "frontend-web", "notifications", "users"]);
    // The X-Ray id generator: the first 8 hex digits are the epoch seconds of the trace's start.
    const epoch = parseInt(fetchSpan.traceId.slice(0, 8), 16);
    assert.ok(Math.abs(epoch - Date.now() / 1000) < 600, `X-Ray style trace id ${fetchSpan.traceId}`);
    // Browser time vs network vs backend, from the spans themselves.
    const backendMs = Number(fetchSpan.attributes["app.backend_ms"]);
    const networkMs = Number(fetchSpan.attributes["app.network_ms"]);
    assert.ok(backendMs > 0 && networkMs >= 0, `backend ${backendMs} ms, network ${networkMs} ms on the fetch span`);
    assert.equal(fetchSpan.attributes["http.route"], "/api/activities");
    for (const s of trace.filter((x) => service(x) === "frontend-web")) assert.match(String(s.attributes["session.id"]), /^[0-9a-f]{32}$/, `session.id on ${s.name}`);
    // The session id rode along in the baggage: the services copy it onto their spans too — on the request's
    // path; the stream entry carries the trace context only, so what notifications' consumer calls (users'
    // BatchGetUsers for the @mention) has no session id.
    const consumer = trace.find((x) => service(x) === "notifications" && x.kind === SPAN_KIND.CONSUMER)!;
    const underConsumer = (x: Span): boolean => {
      for (let p = byId.get(x.parentSpanId); p; p = byId.get(p.parentSpanId)) if (p === consumer) return true;
      return false;
    };
    const requestPath = trace.filter((x) => ["users", "activities"].includes(service(x)) && x.kind === SPAN_KIND.SERVER && !underConsumer(x));
    assert.ok(requestPath.some((x) => service(x) === "users") && requestPath.some((x) => service(x) === "activities"), "users and activities on the request's path");
    for (const s of [feServer, apiServer, ...requestPath]) {
      assert.equal(s.attributes["session.id"], click.attributes["session.id"], `session.id on ${service(s)} ${s.name}`);
    }

    // X-Ray (the stand-in, behind the SigV4/segment checks) took the browser's segments under the same trace id.
    const xrayId = `1-${fetchSpan.traceId.slice(0, 8)}-${fetchSpan.traceId.slice(8)}`;
    let seen: string[] = [];
    await waitFor("the click's trace at the X-Ray stand-in with frontend-web, frontend and api segments", () => {
      const docs = xray.segments().filter((d) => d.trace_id === xrayId);
      seen = docs.map((d) => `${d.name}${d.parent_id ? "" : " (root)"}`);
      const names = new Set(docs.map((d) => d.name));
      return ["frontend-web", "frontend", "api"].every((n) => names.has(n));
    }, { timeoutMs: 20_000, intervalMs: 250 }).catch((err: Error) => {
      throw new Error(`${err.message}; segments of ${xrayId}: ${seen.join(", ") || "none"}; all names: ${[...new Set(xray.segments().map((d) => d.name))].join(", ")}`);
    });
    assert.deepEqual(xray.rejected(), [], "no segment refused");

    const waterfall = renderWaterfall(trace.map(waterfallSpan), { width: 130 });
    // The browser's own view of the request (resource timing): until requestStart the request waits in the
    // browser (queueing, connection), requestStart → responseStart is the round trip to the first byte.
    const t = fetchTimings(collector.tracesFile, fetchSpan.spanId);
    assert.ok(t.requestStart !== undefined && t.responseStart !== undefined && t.responseEnd !== undefined, `resource timing events on the fetch span: ${JSON.stringify(t)}`);
    const fmt = (v: number | undefined) => (v === undefined ? "?" : v.toFixed(1));
    const breakdown =
      `click handler ${durationMs(click).toFixed(1)} ms, render after the answer ${durationMs(render).toFixed(1)} ms; fetch ${durationMs(fetchSpan).toFixed(1)} ms = ${networkMs} ms network + ${backendMs} ms api (Server-Timing from the frontend server)\n` +
      `fetch, resource timing: fetchStart ${fmt(t.fetchStart)}, requestStart ${fmt(t.requestStart)}, responseStart ${fmt(t.responseStart)}, responseEnd ${fmt(t.responseEnd)} ms; ` +
      `spans: frontend server ${durationMs(feServer).toFixed(1)} ms, api server ${durationMs(apiServer).toFixed(1)} ms`;
    process.stderr.write(`\nthe post click's trace ${fetchSpan.traceId}:\n${waterfall}${breakdown}\n`);
    if (artifacts) {
      fs.mkdirSync(artifacts, { recursive: true });
      fs.writeFileSync(path.join(artifacts, "frontend-post-click-waterfall.txt"), `trace ${fetchSpan.traceId}\n${waterfall}${breakdown}\n`);
    }
  });

  test("loadgen drives the frontend server's proxy as an entry point: loadgen → frontend → api in one trace", { timeout: 60_000 }, async () => {
    const frontendPort = new URL(frontend.url).port;
    const proc = startProcess("loadgen via frontend", process.execPath, [
      ...nodeArgs(entryPoint("loadgen")),
      "--base-url", frontend.url, "--rate", "10", "--duration", "2s", "--users", "3", "--timeout", "10s", "--max-error-rate", "0", "--wait-ready", "10s",
    ], {
      cwd: packageDirOf(entryPoint("loadgen")),
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...telemetryEnv({ endpoint: collector.otlpHttpUrl, env: FAST_EXPORT }), OTEL_SERVICE_NAME: "loadgen", TRACEMESH_HTTP_PEERS: `127.0.0.1:${frontendPort}=frontend` },
    });
    const status = await Promise.race([
      proc.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("loadgen did not exit in 40 s")), 40_000).unref()),
    ]).catch(async (err: unknown) => {
      await proc.stop();
      throw err;
    });
    assert.equal(status.code, 0, `loadgen through the frontend failed:\n${proc.output()}`);
    const trace = await waitFor("a loadgen flow through the frontend to api", () => {
      const spans = collector.fileSpans();
      for (const root of spans.filter((s) => service(s) === "loadgen" && s.name.startsWith("flow "))) {
        const trace = spans.filter((s) => s.traceId === root.traceId);
        const feServer = trace.find((s) => service(s) === "frontend" && s.kind === SPAN_KIND.SERVER);
        const apiServer = trace.find((s) => service(s) === "api" && s.kind === SPAN_KIND.SERVER);
        if (feServer && apiServer) return { trace, feServer, apiServer };
      }
      return undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    const loadgenClient = trace.trace.find((s) => s.spanId === trace.feServer.parentSpanId);
    assert.equal(loadgenClient && service(loadgenClient), "loadgen", "frontend's server span is a child of loadgen's client span");
    assert.equal(loadgenClient?.attributes["peer.service"], "frontend");
  });

  test("a document-load trace from frontend-web exists, and the web vitals arrive when the page is hidden", { timeout: 60_000 }, async () => {
    const docLoad = await waitFor("a documentLoad span from frontend-web", () => {
      const spans = collector.fileSpans();
      const root = spans.find((s) => service(s) === "frontend-web" && s.name === "documentLoad");
      if (!root) return undefined;
      const trace = spans.filter((s) => s.traceId === root.traceId);
      return trace.some((s) => s.name === "documentFetch") && trace.some((s) => s.name === "resourceFetch") ? trace : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    // The page came with <meta name="traceparent"> of the frontend server's span: the load continues it.
    const loadSpan = docLoad.find((s) => s.name === "documentLoad")!;
    const served = docLoad.find((s) => s.spanId === loadSpan.parentSpanId);
    assert.ok(served, "the documentLoad span's parent is in its trace");
    assert.equal(service(served), "frontend");
    assert.equal(served.kind, SPAN_KIND.SERVER);
    assert.equal(served.name, "GET /*");
    assert.deepEqual([...new Set(docLoad.map(service))].sort(), ["frontend", "frontend-web"]);
    assert.ok(!collector.fileSpans().some((s) => service(s) === "frontend" && /assets|otlp/.test(String(s.attributes["url.path"] ?? s.attributes["http.target"] ?? s.name))), "asset and span-upload requests are not traced");

    // Closing the pages hides them: web-vitals reports INP/CLS, tracing.ts flushes with keepalive fetches.
    await alice.page.close();
    await bob.page.close();
    const vitals = await waitFor("LCP, CLS and INP spans", () => {
      const spans = collector.fileSpans().filter((s) => service(s) === "frontend-web" && s.name.startsWith("web-vital "));
      const names = new Set(spans.map((s) => s.attributes["web_vital.name"]));
      return ["LCP", "CLS", "INP"].every((n) => names.has(n)) ? spans : undefined;
    }, { timeoutMs: 20_000, intervalMs: 250 });
    const lcp = vitals.filter((s) => s.attributes["web_vital.name"] === "LCP").map((s) => Number(s.attributes["web_vital.value"]));
    assert.ok(lcp.every((v) => v > 0 && v < 10_000), `LCP values ${lcp.join(", ")}`);

    // The Honeycomb stand-in got the browser's spans under their own service name (its dataset).
    await waitFor("frontend-web spans at the Honeycomb stand-in", () => honeycomb.spans().some((s) => service(s) === "frontend-web"), { timeoutMs: 15_000, intervalMs: 250 });

    const assets = fs.readdirSync(path.join(WEB_DIST, "assets")).filter((f) => /\.(js|css)$/.test(f));
    const raw = assets.reduce((n, f) => n + fs.statSync(path.join(WEB_DIST, "assets", f)).size, 0);
    const gz = assets.reduce((n, f) => n + gzipSync(fs.readFileSync(path.join(WEB_DIST, "assets", f)), { level: 9 }).length, 0);
    const figures = `bundle: ${(raw / 1024).toFixed(1)} KiB JS+CSS, ${(gz / 1024).toFixed(1)} KiB gzip (${assets.join(", ")}); LCP of the loads: ${lcp.map((v) => `${v.toFixed(0)} ms`).join(", ")}`;
    process.stderr.write(`${figures}\n`);
    if (artifacts) fs.appendFileSync(path.join(artifacts, "frontend-post-click-waterfall.txt"), `${figures}\n`);
  });
});

