// The local processes' V8 heaps follow their pods' memory limits (@tracemesh/mesh heaps.ts): the limits it
// knows are the manifests' own, and the flags it passes give V8 the heap sizes it derives from them.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import { repoRoot } from "@tracemesh/devkit";
import { heapArgs, POD_MEMORY_LIMIT_MIB, v8HeapArgs } from "@tracemesh/mesh";

const MANIFESTS: Record<keyof typeof POD_MEMORY_LIMIT_MIB, string> = {
  users: "deploy/k8s/base/mesh/users.yaml",
  activities: "deploy/k8s/base/mesh/activities.yaml",
  notifications: "deploy/k8s/base/mesh/notifications.yaml",
  api: "deploy/k8s/base/mesh/api.yaml",
  moderation: "deploy/k8s/base/mesh/moderation.yaml",
  frontend: "deploy/k8s/base/mesh/frontend.yaml",
  loadgen: "deploy/k8s/loadgen/loadgen-job.yaml",
};

/** The heap limit (MiB) a Node process reports when started with these flags. */
function heapLimitMiB(args: string[]): number {
  const r = spawnSync(process.execPath, [...args, "-e", "process.stdout.write(String(require('v8').getHeapStatistics().heap_size_limit))"], {
    encoding: "utf8",
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr);
  return Number(r.stdout) / 2 ** 20;
}

describe("local V8 heaps sized as in the pods", () => {
  test("the memory limits are the manifests' (one container each)", () => {
    for (const [program, file] of Object.entries(MANIFESTS)) {
      const text = fs.readFileSync(path.join(repoRoot(), file), "utf8");
      const limits = [...text.matchAll(/limits:\s*\{[^}]*memory:\s*(\d+)Mi\s*\}/g)].map((m) => Number(m[1]));
      assert.deepEqual(limits, [POD_MEMORY_LIMIT_MIB[program as keyof typeof POD_MEMORY_LIMIT_MIB]], `${file}: memory limits ${limits.join(", ")}`);
    }
  });

  test("the flags size the heaps from the limit: V8's own old space for it, semi-spaces of 1/16 of it", () => {
    // heap_size_limit = old space + young generation (three semi-spaces). V8's own choice in a 128–512 MiB cgroup
    // is 256 + 3 × 1 = 259 MiB (measured on Node 24, heaps.ts); ours keeps the 256 and takes 16 MiB semi-spaces.
    assert.deepEqual(v8HeapArgs(256), ["--max-old-space-size=256", "--max-semi-space-size=16"]);
    assert.equal(heapLimitMiB(v8HeapArgs(256)), 256 + 3 * 16);
    assert.equal(heapLimitMiB(v8HeapArgs(128)), 256 + 3 * 8);
    assert.equal(heapLimitMiB(v8HeapArgs(1024)), 512 + 3 * 64);
    // Without them Node sizes the heaps from this machine's memory: larger as soon as it has more than 512 MiB.
    if (os.totalmem() > 2 ** 30) assert.ok(heapLimitMiB([]) > 256 + 3 * 16);
  });

  test("the services on the request path get 1/16 of their limit; loadgen and the frontend's server V8's in-pod 1 MiB", () => {
    for (const program of ["users", "activities", "notifications", "api"] as const) assert.deepEqual(heapArgs(program), v8HeapArgs(256), program);
    assert.deepEqual(heapArgs("moderation"), v8HeapArgs(128));
    // The heap V8 gives itself in their pods' 192–256 MiB cgroups: 256 MiB of old space, three 1 MiB semi-spaces.
    for (const program of ["loadgen", "frontend"] as const) assert.equal(heapLimitMiB(heapArgs(program)), 256 + 3 * 1, program);
    assert.deepEqual(heapArgs("loadgen", "machine"), [], "machine sizing passes no flag");
  });
});
