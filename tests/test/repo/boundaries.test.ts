// The package boundaries are enforced, not just kept: scripts/check-boundaries.mjs passes on the repo and
// fails, naming each problem, on a workspace that breaks every rule (exports maps, dist imports, cycles, and the
// direction of the layers: libraries ← services ← tools, a package's tests allowed the devkit harness); and
// TypeScript itself refuses an import of another package's dist/ (the exports maps with moduleResolution Node16).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, describe, test } from "node:test";
import { repoRoot } from "@tracemesh/devkit";

const CHECK = path.join(repoRoot(), "scripts", "check-boundaries.mjs");
const check = (root: string) => spawnSync(process.execPath, [CHECK, root], { encoding: "utf8", timeout: 60_000 });

/** An import line (built, so this file's own imports stay the only ones the checker sees in it). */
const imports = (names: string, spec: string) => `import ${names} from ${JSON.stringify(spec)};\n`;

function write(root: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, name)), { recursive: true });
    fs.writeFileSync(path.join(root, name), text);
  }
}

describe("package boundaries", { timeout: 120_000 }, () => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-boundaries-"));
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  test("the repository keeps them", () => {
    const res = check(repoRoot());
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /no dist imports, no cycles, imports run libraries ← services ← tools/);
  });

  test("a workspace that breaks each rule is refused, each problem named", () => {
    write(scratch, {
      "pnpm-workspace.yaml": "packages:\n  - packages/*\n",
      "packages/a/package.json": JSON.stringify({ name: "@tracemesh/a", dependencies: { "@tracemesh/b": "workspace:*" } }),
      "packages/a/src/x.ts": imports("{ y }", "./y.js") + imports("{ b }", "@tracemesh/b/dist/src/index.js") + "export const x = () => y() + b;\n",
      "packages/a/src/y.ts": imports("type { x }", "./x.js") + imports("{ z }", "../../b/src/index.js") + "export const y = (): ReturnType<typeof x> => z;\n",
      "packages/b/package.json": JSON.stringify({
        name: "@tracemesh/b",
        exports: { ".": "./dist/src/index.js" },
        devDependencies: { "@tracemesh/a": "workspace:*" },
      }),
      "packages/b/src/index.ts": "export const b = 1;\nexport const z = 2;\n",
    });
    const res = check(scratch);
    assert.equal(res.status, 1, res.stdout);
    assert.match(res.stderr, /packages\/a\/package.json: no "exports" map/);
    assert.match(res.stderr, /packages\/a\/src\/x.ts: imports another package's build output: "@tracemesh\/b\/dist\/src\/index.js"/);
    assert.match(res.stderr, /packages\/a\/src\/y.ts: relative import leaves packages\/a/);
    assert.match(res.stderr, /import cycle: packages\/a\/src\/x.ts → packages\/a\/src\/y.ts → packages\/a\/src\/x.ts/);
    assert.match(res.stderr, /package dependency cycle: @tracemesh\/a → @tracemesh\/b → @tracemesh\/a/);
  });

  test("a workspace whose imports run upward is refused, each offender named; a package's tests may use devkit", () => {
    const layered = path.join(scratch, "layered");
    const pkg = (name: string, deps: Record<string, string[]> = {}, exports: Record<string, string> = { ".": "./dist/src/index.js" }) =>
      JSON.stringify({
        name: `@tracemesh/${name}`,
        exports,
        ...Object.fromEntries(Object.entries(deps).map(([field, names]) => [field, Object.fromEntries(names.map((n) => [`@tracemesh/${n}`, "workspace:*"]))])),
      });
    write(layered, {
      "pnpm-workspace.yaml": "packages:\n  - packages/*\n  - services/*\n  - tools/*\n  - apps/*\n",
      // A package in a folder that is no layer.
      "apps/stray/package.json": pkg("stray"),
      "apps/stray/src/index.ts": "export const stray = 1;\n",
      // A library whose source reaches up to a service and a tool; its test using devkit is allowed.
      "packages/lib/package.json": pkg("lib", { dependencies: ["svc"], devDependencies: ["devkit"] }),
      "packages/lib/src/index.ts": imports("{ bench }", "@tracemesh/bench") + imports("{ handle }", "@tracemesh/svc") + "export const lib = handle + bench;\n",
      "packages/lib/test/lib.test.ts": imports("{ freePort }", "@tracemesh/devkit") + "export const port = freePort;\n",
      // A service whose source uses the test harness (only its tests may), and whose test uses another tool.
      "services/svc/package.json": pkg("svc", { dependencies: ["devkit"], devDependencies: ["bench"] }),
      "services/svc/src/index.ts": imports("{ freePort }", "@tracemesh/devkit") + "export const handle = freePort;\n",
      "services/svc/test/svc.test.ts": imports("{ bench }", "@tracemesh/bench") + "export const b = bench;\n",
      // Tools: every layer is theirs to use, but through the exports map only (an import, or a string handed to require).
      "tools/devkit/package.json": pkg("devkit"),
      "tools/devkit/src/index.ts": "export const freePort = 0;\n",
      "tools/bench/package.json": pkg("bench"),
      "tools/bench/src/index.ts": "export const bench = 1;\n",
      "tools/mesh/package.json": pkg("mesh", { dependencies: ["svc", "lib", "devkit"] }, { ".": "./dist/src/index.js", "./main": "./dist/src/main.js" }),
      "tools/mesh/src/index.ts":
        imports("{ lib }", "@tracemesh/lib") +
        imports("{ handle }", "@tracemesh/svc") +
        imports("{ freePort }", "@tracemesh/devkit") +
        imports("{ inner }", "@tracemesh/svc/src/inner.js") +
        // (Joined, like the probe below: this file names no subpath itself, real or not.)
        `export const run = lib + handle + freePort + inner;\nexport const load = ${JSON.stringify([["@tracemesh/lib", "dist/src/index.js"].join("/"), ["@tracemesh/mesh", "main"].join("/")])};\n`,
    });
    const res = check(layered);
    assert.equal(res.status, 1, res.stdout);
    const lines = res.stderr.trim().split("\n");
    const named = (pattern: RegExp) => assert.ok(lines.some((l) => pattern.test(l)), `no line matches ${pattern}:\n${res.stderr}`);
    named(/packages\/lib\/src\/index.ts: imports "@tracemesh\/svc": a library \(packages\/lib\) uses a service \(services\/svc\)/);
    named(/packages\/lib\/src\/index.ts: imports "@tracemesh\/bench": a library \(packages\/lib\) uses a tool \(tools\/bench\)/);
    named(/packages\/lib\/package.json: dependencies @tracemesh\/svc: a library \(packages\/lib\) uses a service/);
    named(/services\/svc\/src\/index.ts: imports "@tracemesh\/devkit": a service \(services\/svc\) uses a tool \(tools\/devkit\)/);
    named(/services\/svc\/package.json: dependencies @tracemesh\/devkit: a service \(services\/svc\) uses a tool/);
    named(/services\/svc\/test\/svc.test.ts: imports "@tracemesh\/bench": a service \(services\/svc\) uses a tool \(tools\/bench\)/);
    named(/services\/svc\/package.json: devDependencies @tracemesh\/bench: a service \(services\/svc\) uses a tool/);
    named(/tools\/mesh\/src\/index.ts: names "@tracemesh\/svc\/src\/inner.js", which is not in services\/svc's exports map/);
    named(/tools\/mesh\/src\/index.ts: names "@tracemesh\/lib\/dist\/src\/index.js", which is not in packages\/lib's exports map/);
    named(/apps\/stray: in no layer/);
    // What is allowed stays unnamed: devkit in a library's tests and devDependencies, the tools' own imports
    // down the layers, and a subpath the exports map has.
    assert.ok(!lines.some((l) => l.includes("packages/lib/test/")), res.stderr);
    assert.ok(!lines.some((l) => /devDependencies @tracemesh\/devkit/.test(l)), res.stderr);
    assert.ok(!lines.some((l) => /tools\/mesh\/src\/index.ts: imports/.test(l)), res.stderr);
    assert.ok(!lines.some((l) => l.includes("mesh/main")), res.stderr);
    assert.ok(!lines.some((l) => l.includes("cycle")), res.stderr);
    assert.equal(lines.length, 10, res.stderr);
  });

  test("the README's structure picture is the one scripts/package-graph.mjs draws from the workspace", () => {
    const res = spawnSync(process.execPath, [path.join(repoRoot(), "scripts", "package-graph.mjs")], { encoding: "utf8", timeout: 30_000 });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /subgraph tools\["tools\/"\][\s\S]*subgraph services[\s\S]*subgraph packages/, "tools above services above libraries");
    const readme = fs.readFileSync(path.join(repoRoot(), "README.md"), "utf8");
    assert.ok(readme.includes(res.stdout), `README.md's picture differs; paste the output of node scripts/package-graph.mjs:\n${res.stdout}`);
  });

  test("TypeScript refuses an import of another package's dist/", () => {
    // Inside tests/ so @tracemesh/api resolves as it does for the real tests.
    const probe = fs.mkdtempSync(path.join(repoRoot(), "tests", ".boundary-probe-"));
    try {
      write(probe, {
        // The specifier is joined so that this file does not name a dist/ path itself (the checker reads strings too).
        "probe.ts": imports("{ apiRoutes }", ["@tracemesh/api", "dist/src/handlers.js"].join("/")) + "export const n = apiRoutes().length;\n",
        "tsconfig.json": JSON.stringify({ extends: "../../tsconfig.base.json", compilerOptions: { noEmit: true }, files: ["probe.ts"] }),
      });
      const tsc = require.resolve("typescript/bin/tsc", { paths: [repoRoot()] });
      const res = spawnSync(process.execPath, [tsc, "-p", path.join(probe, "tsconfig.json")], { encoding: "utf8", timeout: 90_000 });
      assert.notEqual(res.status, 0, "tsc compiled an import of @tracemesh/api/dist");
      assert.match(res.stdout, /error TS2307: Cannot find module '@tracemesh\/api\/dist\/src\/handlers.js'/);
    } finally {
      fs.rmSync(probe, { recursive: true, force: true });
    }
  });
});
