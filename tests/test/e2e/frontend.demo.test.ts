// tools: redis
// `npm run demo -- --keep-running` serves the web app: the demo CLI (`tracemesh demo`, what
// scripts/demo.sh execs) prints `frontend: http://127.0.0.1:<port>`; that URL serves the app and, through
// its proxy, the seeded feed; Ctrl-C (SIGINT) stops everything with exit 0. Without the Collector
// (--no-collector) to keep it short: the traced path is covered by frontend.browser.test.ts. Its flag file is
// its own (--flag-file), so that demo.test.ts's demo, run beside it, keeps the default one.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { repoRoot, startProcess, waitFor, type ManagedProcess } from "@tracemesh/devkit";

const CLI = require.resolve("@tracemesh/cli/main");

describe("the demo's --keep-running serves the web frontend", { timeout: 120_000 }, () => {
  let demo: ManagedProcess | undefined;
  // The demo's own temporary folder (its service logs), so a user's demo output in the system's is left alone.
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-frontend-demo-"));
  after(async () => {
    await demo?.stop(20_000);
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("prints frontend: <url>; the app and its /api proxy answer; SIGINT stops it with exit 0", { timeout: 110_000 }, async () => {
    const flagFile = path.join(tmp, "flags.json");
    demo = startProcess("demo", process.execPath, [CLI, "demo", "--keep-running", "--no-collector", "--flag-file", flagFile], {
      cwd: repoRoot(),
      env: { ...process.env, REDIS_URL: "", TMPDIR: tmp },
    });
    const url = await waitFor("the demo's frontend line", () => {
      if (demo!.child.exitCode !== null) throw new Error(`demo exited ${demo!.child.exitCode}:\n${demo!.output()}`);
      return /^ {2}frontend: (http:\/\/127\.0\.0\.1:\d+)\s/m.exec(demo!.output())?.[1];
    }, { timeoutMs: 90_000, intervalMs: 250 });

    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<div id="root"><\/div>/);
    const feed = await fetch(`${url}/api/activities/home?limit=5`);
    assert.equal(feed.status, 200);
    const body = (await feed.json()) as { activities: unknown[]; next_cursor: string | null };
    assert.equal(body.activities.length, 5, "the seeded feed through the frontend's proxy");
    assert.ok(body.next_cursor, "more pages to scroll to");
    assert.ok(demo.output().includes(`fault flags: ${flagFile} (all off; pnpm tracemesh fault list --file ${flagFile})`), demo.output().slice(0, 3000));
    assert.equal(fs.readFileSync(`${flagFile}.pid`, "utf8").trim(), String(demo.child.pid), "the demo owns the file it was given");

    demo.child.kill("SIGINT");
    const status = await Promise.race([
      demo.exited,
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("the demo did not stop within 30 s")), 30_000).unref()),
    ]);
    assert.equal(status.code, 0, demo.output().slice(-3000));
    assert.equal(fs.existsSync(flagFile), false, "the demo removed its flag file when it stopped");
    assert.equal((await fetch(`${url}/healthz`).then((r) => r.status, () => 0)), 0, "the frontend stopped with the demo");
  });
});
