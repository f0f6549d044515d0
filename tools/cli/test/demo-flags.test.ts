// The demo's flag file and logs folder and their owner: a demo refuses a flag file or a logs folder another
// running demo owns (before it starts anything), takes over one a crashed demo left, and removes only what it owns.
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { faultStates, readFlagFile } from "@tracemesh/flags";
import { prepareDemoFlags } from "../src/demo/flags.js";
import { liveOwner, ownerFile } from "../src/demo/owner.js";
import { parseDemoArgs } from "../src/demo/demo.js";

/** A process that stays alive until killed: the "other demo". */
function otherProcess(): ChildProcess {
  return spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once("exit", () => resolve())));
}

describe("the demo's flag file", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-demo-flags-"));
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of children) c.kill("SIGKILL");
    await Promise.all(children.map(exited));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("a file another running demo owns is refused, and left as it was", () => {
    const file = path.join(dir, "owned.json");
    const other = otherProcess();
    children.push(other);
    fs.writeFileSync(file, "the other demo's flags\n");
    fs.writeFileSync(ownerFile(file), `${other.pid}\n`);
    assert.equal(liveOwner(file), other.pid);
    assert.throws(() => prepareDemoFlags(file), new RegExp(`another demo \\(pid ${other.pid}\\) is using the flag file .*--flag-file PATH`));
    assert.equal(fs.readFileSync(file, "utf8"), "the other demo's flags\n");
    assert.equal(fs.readFileSync(ownerFile(file), "utf8"), `${other.pid}\n`);
  });

  test("`tracemesh demo` on such a file: exit 1 with that message, before it touched anything (its logs folder)", async () => {
    const file = path.join(dir, "owned-cli.json");
    const other = otherProcess();
    children.push(other);
    fs.writeFileSync(file, "{}\n");
    fs.writeFileSync(ownerFile(file), `${other.pid}\n`);
    // The demo empties <TMPDIR>/tracemesh-demo/logs when it starts: a file there tells whether it got that far.
    const tmp = path.join(dir, "tmp");
    const sentinel = path.join(tmp, "tracemesh-demo", "logs", "earlier.log");
    fs.mkdirSync(path.dirname(sentinel), { recursive: true });
    fs.writeFileSync(sentinel, "an earlier demo's log\n");
    const run = spawnSync(process.execPath, [path.join(__dirname, "..", "src", "main.js"), "demo", "--flag-file", file], {
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, TMPDIR: tmp, REDIS_URL: "" },
    });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, new RegExp(`^tracemesh: another demo \\(pid ${other.pid}\\) is using the flag file`));
    assert.equal(fs.readFileSync(sentinel, "utf8"), "an earlier demo's log\n");
    assert.equal(fs.readFileSync(file, "utf8"), "{}\n");
  });

  test("`tracemesh demo` whose logs folder another running demo owns: exit 1, its logs and its flag file untouched", async () => {
    const other = otherProcess();
    children.push(other);
    const tmp = path.join(dir, "tmp-logs");
    const logDir = path.join(tmp, "tracemesh-demo", "logs");
    fs.mkdirSync(logDir, { recursive: true });
    fs.writeFileSync(path.join(logDir, "api.log"), "the other demo's log\n");
    fs.writeFileSync(ownerFile(logDir), `${other.pid}\n`);
    const file = path.join(dir, "free.json");
    const run = spawnSync(process.execPath, [path.join(__dirname, "..", "src", "main.js"), "demo", "--flag-file", file], {
      encoding: "utf8",
      timeout: 30_000,
      env: { ...process.env, TMPDIR: tmp, REDIS_URL: "" },
    });
    assert.equal(run.status, 1, run.stdout + run.stderr);
    assert.match(run.stderr, new RegExp(`^tracemesh: another demo \\(pid ${other.pid}\\) writes its logs to ${logDir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: .*TMPDIR`));
    assert.equal(fs.readFileSync(path.join(logDir, "api.log"), "utf8"), "the other demo's log\n");
    assert.equal(fs.existsSync(file), false, "the flag file it had claimed is given back");
    assert.equal(fs.existsSync(ownerFile(file)), false);
  });

  test("a file a demo that is gone left behind is taken over: every scenario off, our pid; remove() deletes both", async () => {
    const file = path.join(dir, "stale.json");
    const gone = otherProcess();
    const pid = gone.pid!;
    gone.kill("SIGKILL");
    await exited(gone);
    fs.writeFileSync(file, "stale\n");
    fs.writeFileSync(ownerFile(file), `${pid}\n`);
    assert.equal(liveOwner(file), undefined);
    const flags = prepareDemoFlags(file);
    assert.equal(flags.file, file);
    assert.equal(liveOwner(file), process.pid);
    assert.ok(faultStates(readFlagFile(file)).every((s) => s.value === undefined));
    flags.remove();
    assert.equal(fs.existsSync(file), false);
    assert.equal(fs.existsSync(ownerFile(file)), false);
  });

  test("remove() leaves a file another demo has taken over since", () => {
    const file = path.join(dir, "taken.json");
    const flags = prepareDemoFlags(file);
    const other = otherProcess();
    children.push(other);
    fs.writeFileSync(ownerFile(file), `${other.pid}\n`);
    flags.remove();
    assert.equal(fs.existsSync(file), true);
    assert.equal(fs.readFileSync(ownerFile(file), "utf8"), `${other.pid}\n`);
  });

  test("--flag-file: resolved to an absolute path; without it, the default place", () => {
    const opts = parseDemoArgs(["--flag-file", "some/flags.json"]);
    assert.notEqual(opts, "help");
    if (opts === "help") return;
    assert.equal(opts.flagFile, path.resolve("some/flags.json"));
    const defaults = parseDemoArgs([]);
    assert.ok(defaults !== "help" && defaults.flagFile === undefined);
  });
});
