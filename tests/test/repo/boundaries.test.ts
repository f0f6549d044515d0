// The package boundaries are enforced, not just kept: scripts/check-boundaries.mjs passes on the repo and
// fails, naming each problem, on a workspace that breaks every rule; and TypeScript itself refuses an import
// of another package's dist/ (the exports maps with moduleResolution Node16).
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
    assert.match(res.stdout, /no dist imports, no cycles/);
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

  test("TypeScript refuses an import of another package's dist/", () => {
    // Inside tests/ so @tracemesh/api resolves as it does for the real tests.
    const probe = fs.mkdtempSync(path.join(repoRoot(), "tests", ".boundary-probe-"));
    try {
      write(probe, {
        "probe.ts": imports("{ apiRoutes }", "@tracemesh/api/dist/src/handlers.js") + "export const n = apiRoutes().length;\n",
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
