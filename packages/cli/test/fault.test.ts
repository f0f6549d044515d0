// `tracemesh fault` as a unit: it finds the demo's flag file with no path given (and says so when there is
// none), switches one flag at a time, refuses what it cannot do (unknown names, values out of range,
// --context), and posts a Honeycomb marker only when a key is set.
import assert from "node:assert/strict";
import fs from "node:fs";
import type http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { repoRoot } from "@tracemesh/devkit";
import { demoFlagFile, faultStates, readFlagFile } from "@tracemesh/flags";
import { faultCommand, runFault, type FaultIo } from "../src/fault.js";
import { LoopbackServer } from "./loopback-server.js";

class MarkerStandIn extends LoopbackServer {
  readonly markers: Array<{ path: string; team: string; body: Record<string, unknown> }> = [];
  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    this.markers.push({ path: req.url ?? "", team: String(req.headers["x-honeycomb-team"]), body: JSON.parse(Buffer.concat(chunks).toString("utf8")) });
    res.writeHead(201, { "content-type": "application/json" }).end(JSON.stringify({ id: "m1" }));
  }
}

function io(env: NodeJS.ProcessEnv): FaultIo & { stdout: string; stderr: string } {
  const r = { stdout: "", stderr: "", env, out: (t: string) => void (r.stdout += t), err: (t: string) => void (r.stderr += t) };
  return r;
}

describe("tracemesh fault", () => {
  const cache = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-fault-cli-"));
  const env = { TRACEMESH_CACHE: cache };
  const file = demoFlagFile(env);
  const honeycomb = new MarkerStandIn();
  before(async () => {
    await honeycomb.start();
  });
  after(async () => {
    await honeycomb.stop();
    fs.rmSync(cache, { recursive: true, force: true });
  });

  test("no demo running: says how to start one (exit 2)", async () => {
    const r = io(env);
    assert.equal(await runFault(["list"], r), 2);
    assert.match(r.stderr, /no local mesh: .*flags\.json does not exist/);
  });

  test("list, on with a value, on with the default, off — in the demo's file, found with no path", async () => {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(path.join(repoRoot(), "deploy", "flags", "flags.json"), file);
    const list = io(env);
    assert.equal(await faultCommand(["list"], list), 0);
    assert.match(list.stdout, /^users-slow\s+off\s+users\s/m);

    assert.equal(await faultCommand(["on", "users-slow", "--value", "250"], io(env)), 0);
    assert.equal(await faultCommand(["on", "activities-errors"], io(env)), 0);
    let values = Object.fromEntries(faultStates(readFlagFile(file)).map((s) => [s.scenario.name, s.value]));
    assert.equal(values["users-slow"], 250);
    assert.equal(values["activities-errors"], 20);
    const listed = io(env);
    await faultCommand(["list"], listed);
    assert.match(listed.stdout, /^users-slow\s+on \(250 ms\)/m);

    assert.equal(await faultCommand(["off", "users-slow"], io(env)), 0);
    values = Object.fromEntries(faultStates(readFlagFile(file)).map((s) => [s.scenario.name, s.value]));
    assert.equal(values["users-slow"], undefined);
    assert.equal(values["activities-errors"], 20, "the other flag is left as it was");
    assert.equal(honeycomb.markers.length, 0, "no key, no marker");
  });

  test("refused: unknown scenario, value out of range, off with a value, --context (exit 2, file unchanged)", async () => {
    const before = fs.readFileSync(file, "utf8");
    for (const args of [["on", "nope"], ["on", "activities-errors", "--value", "150"], ["on", "users-slow", "--value", "soon"], ["off", "users-slow", "--value", "1"], ["on"], ["toggle", "users-slow"]]) {
      const r = io(env);
      assert.equal(await runFault(args, r), 2, args.join(" "));
    }
    const ctx = io(env);
    assert.equal(await runFault(["on", "users-slow", "--context", "kind-tracemesh"], ctx), 2);
    assert.match(ctx.stderr, /--context: .*not implemented/);
    assert.equal(fs.readFileSync(file, "utf8"), before);
  });

  test("with HONEYCOMB_API_KEY: a marker per switch", async () => {
    const keyed = { ...env, HONEYCOMB_API_KEY: "test-key", HONEYCOMB_API_URL: honeycomb.url };
    assert.equal(await faultCommand(["on", "redis-slow-timeline", "--value", "150"], io(keyed)), 0);
    assert.equal(await faultCommand(["off", "redis-slow-timeline"], io(keyed)), 0);
    assert.deepEqual(honeycomb.markers.map((m) => [m.path, m.team, m.body.type, m.body.message]), [
      ["/1/markers/__all__", "test-key", "fault", "fault redis-slow-timeline on (150 ms)"],
      ["/1/markers/__all__", "test-key", "fault", "fault redis-slow-timeline off"],
    ]);
  });
});
