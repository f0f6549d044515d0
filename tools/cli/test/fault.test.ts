// `tracemesh fault` as a unit: it finds the demo's flag file with no path given (and says so when there is
// none), switches one flag at a time, refuses what it cannot do (unknown names, values out of range,
// --context with --file), and posts a Honeycomb marker only when a key is set. With --context it goes through
// `kubectl`: here a fake one first on PATH, which records its arguments and input and answers as kubectl does —
// enough for the arguments and the flow (resourceVersion kept, one retry on a conflict, a missing ConfigMap);
// tests/test/k8s/k8s-cluster.e2e.test.ts switches a fault on a real cluster.
import assert from "node:assert/strict";
import fs from "node:fs";
import type http from "node:http";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { repoRoot } from "@tracemesh/devkit";
import { demoFlagFile, faultStates, parseFlagFile, readFlagFile, type FlagFile } from "@tracemesh/flags";
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

  test("refused: unknown scenario, value out of range, off with a value, --context with --file, --namespace alone (exit 2, file unchanged)", async () => {
    const before = fs.readFileSync(file, "utf8");
    for (const args of [["on", "nope"], ["on", "activities-errors", "--value", "150"], ["on", "users-slow", "--value", "soon"], ["off", "users-slow", "--value", "1"], ["on"], ["toggle", "users-slow"]]) {
      const r = io(env);
      assert.equal(await runFault(args, r), 2, args.join(" "));
    }
    const both = io(env);
    assert.equal(await runFault(["on", "users-slow", "--context", "kind-tracemesh", "--file", file], both), 2);
    assert.match(both.stderr, /--context .* and --file .* exclude each other/);
    const nsOnly = io(env);
    assert.equal(await runFault(["list", "--namespace", "tracemesh"], nsOnly), 2);
    assert.match(nsOnly.stderr, /--namespace: only with --context/);
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

  describe("--context: the ConfigMap tracemesh-flags through kubectl", () => {
    const dir = path.join(cache, "kubectl");
    const bin = path.join(dir, "bin");
    const state = path.join(dir, "configmap.json");
    const calls = path.join(dir, "calls.jsonl");
    const conflicts = path.join(dir, "conflicts");
    const kube = { ...env, PATH: `${bin}:${process.env.PATH ?? ""}`, FAKE_KUBECTL_DIR: dir };

    type ConfigMap = { metadata: { name: string; namespace: string; resourceVersion: string; annotations?: Record<string, string> }; data: Record<string, string> };
    const recorded = (): Array<{ args: string[]; stdin: string }> =>
      fs.existsSync(calls) ? fs.readFileSync(calls, "utf8").trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as { args: string[]; stdin: string }) : [];
    const stored = () => JSON.parse(fs.readFileSync(state, "utf8")) as ConfigMap;
    const values = (flags: FlagFile) => Object.fromEntries(faultStates(flags).map((s) => [s.scenario.name, s.value]));
    const get = (ctx: string, ns = "tracemesh") => ["--context", ctx, "-n", ns, "get", "configmap", "tracemesh-flags", "-o", "json"];
    const replace = (ctx: string, ns = "tracemesh") => ["--context", ctx, "-n", ns, "replace", "-f", "-"];

    before(() => {
      fs.mkdirSync(bin, { recursive: true });
      // As kubectl: `get` prints the object or NotFound; `replace` refuses a body whose resourceVersion is not
      // the stored one (409 Conflict), else stores it with a new one. Each count in `conflicts` first makes a
      // concurrent change (users-slow on at 123 ms), as another user's switch would.
      fs.writeFileSync(
        path.join(bin, "kubectl"),
        `#!/usr/bin/env node
const fs = require("node:fs"), path = require("node:path");
const dir = process.env.FAKE_KUBECTL_DIR, args = process.argv.slice(2);
const stdin = args.includes("-f") ? fs.readFileSync(0, "utf8") : "";
fs.appendFileSync(path.join(dir, "calls.jsonl"), JSON.stringify({ args, stdin }) + "\\n");
const state = path.join(dir, "configmap.json"), conflicts = path.join(dir, "conflicts");
const verb = args.filter((a, i) => !a.startsWith("-") && !["--context", "-n"].includes(args[i - 1]))[0];
if (!fs.existsSync(state)) {
  process.stderr.write('Error from server (NotFound): configmaps "tracemesh-flags" not found\\n');
  process.exit(1);
}
const cm = JSON.parse(fs.readFileSync(state, "utf8"));
if (verb === "get") process.stdout.write(JSON.stringify(cm, null, 4) + "\\n");
else if (verb === "replace") {
  const left = fs.existsSync(conflicts) ? Number(fs.readFileSync(conflicts, "utf8")) : 0;
  if (left > 0) {
    fs.writeFileSync(conflicts, String(left - 1));
    const flags = JSON.parse(cm.data["flags.json"]);
    flags.flags["users-slow"] = { state: "ENABLED", variants: { off: 0, on: 123 }, defaultVariant: "on" };
    cm.data["flags.json"] = JSON.stringify(flags, null, 2) + "\\n";
    cm.metadata.resourceVersion = String(Number(cm.metadata.resourceVersion) + 1);
    fs.writeFileSync(state, JSON.stringify(cm));
  }
  const body = JSON.parse(stdin);
  if (body.metadata.resourceVersion !== cm.metadata.resourceVersion) {
    process.stderr.write('Error from server (Conflict): error when replacing "STDIN": Operation cannot be fulfilled on configmaps "tracemesh-flags": the object has been modified; please apply your changes to the latest version and try again\\n');
    process.exit(1);
  }
  body.metadata.resourceVersion = String(Number(cm.metadata.resourceVersion) + 1);
  fs.writeFileSync(state, JSON.stringify(body));
  process.stdout.write("configmap/tracemesh-flags replaced\\n");
} else {
  process.stderr.write("fake kubectl: unexpected " + args.join(" ") + "\\n");
  process.exit(3);
}
`,
        { mode: 0o755 },
      );
    });

    const deployed = (resourceVersion: string) => {
      for (const f of [calls, conflicts]) fs.rmSync(f, { force: true });
      const cm: ConfigMap = {
        metadata: { name: "tracemesh-flags", namespace: "tracemesh", resourceVersion, annotations: { "kubectl.kubernetes.io/last-applied-configuration": "{}" } },
        data: { "flags.json": fs.readFileSync(path.join(repoRoot(), "deploy", "flags", "flags.json"), "utf8") },
      };
      fs.writeFileSync(state, JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", ...cm }));
    };

    test("list, on, off: get the ConfigMap, replace it with the resourceVersion read and only that flag switched", async () => {
      deployed("41");
      const list = io(kube);
      assert.equal(await faultCommand(["list", "--context", "kind-tracemesh"], list), 0);
      assert.match(list.stdout, /^flags in configmap tracemesh\/tracemesh-flags \(context kind-tracemesh\)\n/);
      assert.match(list.stdout, /^activities-errors\s+off\s+activities\s/m);
      assert.deepEqual(recorded().map((c) => c.args), [get("kind-tracemesh")]);

      const on = io(kube);
      assert.equal(await faultCommand(["on", "activities-errors", "--value", "50", "--context", "kind-tracemesh"], on), 0);
      assert.match(on.stdout, /^activities-errors on \(50 %\) in configmap tracemesh\/tracemesh-flags \(context kind-tracemesh\); pods pick it up within about a minute .*kubelet.* plus the ~5 s file poll\n$/);
      const [, read, put] = recorded();
      assert.deepEqual([read!.args, put!.args], [get("kind-tracemesh"), replace("kind-tracemesh")]);
      const body = JSON.parse(put!.stdin) as ConfigMap & { kind: string };
      assert.equal(body.kind, "ConfigMap");
      assert.equal(body.metadata.resourceVersion, "41", "the replace carries the resourceVersion it read");
      assert.deepEqual(body.metadata.annotations, { "kubectl.kubernetes.io/last-applied-configuration": "{}" }, "the rest of the object is kept");
      const switched = values(parseFlagFile(body.data["flags.json"]!, "body"));
      assert.equal(switched["activities-errors"], 50);
      assert.deepEqual(Object.entries(switched).filter(([n, v]) => n !== "activities-errors" && v !== undefined), [], "every other flag stays off");

      const off = io(kube);
      assert.equal(await faultCommand(["off", "activities-errors", "--context", "other", "--namespace", "mesh"], off), 0);
      assert.deepEqual(recorded().slice(3).map((c) => c.args), [get("other", "mesh"), replace("other", "mesh")]);
      assert.equal(JSON.parse(recorded()[4]!.stdin).metadata.resourceVersion, "42");
      assert.match(off.stdout, /^activities-errors off in configmap mesh\/tracemesh-flags \(context other\); /);
      assert.equal(values(parseFlagFile(stored().data["flags.json"]!, "stored"))["activities-errors"], undefined);
    });

    test("a conflict (someone changed it in between) is retried once on a fresh read; twice fails, nothing overwritten", async () => {
      deployed("7");
      fs.writeFileSync(conflicts, "1");
      assert.equal(await faultCommand(["on", "api-memory-leak", "--context", "kind-tracemesh"], io(kube)), 0);
      const c = recorded();
      assert.deepEqual(c.map((x) => x.args), [get("kind-tracemesh"), replace("kind-tracemesh"), get("kind-tracemesh"), replace("kind-tracemesh")]);
      assert.equal(JSON.parse(c[1]!.stdin).metadata.resourceVersion, "7");
      assert.equal(JSON.parse(c[3]!.stdin).metadata.resourceVersion, "8", "the retry carries the new resourceVersion");
      let now = values(parseFlagFile(stored().data["flags.json"]!, "stored"));
      assert.equal(now["users-slow"], 123, "the concurrent change is kept");
      assert.equal(now["api-memory-leak"], 64);

      deployed("7");
      fs.writeFileSync(conflicts, "2");
      const r = io(kube);
      await assert.rejects(faultCommand(["on", "api-memory-leak", "--context", "kind-tracemesh"], r), /kubectl replace configmap tracemesh\/tracemesh-flags \(context kind-tracemesh\): changed by someone else twice.*Conflict/);
      assert.equal(recorded().length, 4, "one retry, no more");
      now = values(parseFlagFile(stored().data["flags.json"]!, "stored"));
      assert.equal(now["users-slow"], 123);
      assert.equal(now["api-memory-leak"], undefined, "nothing written over the other change");
    });

    test("refused with one line (exit 2): the ConfigMap absent, no kubectl on PATH, a key that is not a flag file", async () => {
      for (const f of [state, calls]) fs.rmSync(f, { force: true });
      const absent = io(kube);
      assert.equal(await runFault(["on", "users-slow", "--context", "kind-tracemesh"], absent), 2);
      assert.match(absent.stderr, /^tracemesh: configmap tracemesh\/tracemesh-flags \(context kind-tracemesh\) does not exist: deploy the mesh first/);
      assert.equal(recorded().filter((c) => c.args.includes("replace")).length, 0);

      const empty = fs.mkdtempSync(path.join(dir, "empty-"));
      const none = io({ ...kube, PATH: empty });
      assert.equal(await runFault(["list", "--context", "kind-tracemesh"], none), 2);
      assert.match(none.stderr, /^tracemesh: --context needs kubectl, and there is none on PATH/);

      deployed("1");
      fs.writeFileSync(state, JSON.stringify({ ...stored(), data: { "flags.json": "{ not json" } }));
      const bad = io(kube);
      assert.equal(await runFault(["list", "--context", "kind-tracemesh"], bad), 2);
      assert.match(bad.stderr, /^tracemesh: configmap tracemesh\/tracemesh-flags \(context kind-tracemesh\), key flags\.json: not JSON/);
    });

    test("with HONEYCOMB_API_KEY: the same marker as for the local file", async () => {
      deployed("3");
      const before = honeycomb.markers.length;
      const keyed = { ...kube, HONEYCOMB_API_KEY: "test-key", HONEYCOMB_API_URL: honeycomb.url };
      assert.equal(await faultCommand(["on", "notifications-stall", "--value", "700", "--context", "kind-tracemesh"], io(keyed)), 0);
      assert.deepEqual(honeycomb.markers.slice(before).map((m) => [m.path, m.body.type, m.body.message]), [["/1/markers/__all__", "fault", "fault notifications-stall on (700 ms)"]]);
    });
  });
});
