#!/usr/bin/env node
// The package boundaries, checked (run by tests/test/boundaries.test.ts, so `npm test` enforces them):
//   1. every workspace package has an `exports` map (so nothing outside it can be imported);
//   2. no source file imports another package's build output (`@tracemesh/x/dist/…`, or a relative path
//      that leaves its own package);
//   3. no import cycle between source files (type-only imports count too);
//   4. no cycle between packages (dependencies + devDependencies), so the build order is well defined.
// Usage: node scripts/check-boundaries.mjs [ROOT]   (exit 1 and one line per problem when any is found)
import fs from "node:fs";
import path from "node:path";

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), ".."));
const problems = [];

function packageDirs() {
  const yaml = fs.readFileSync(path.join(root, "pnpm-workspace.yaml"), "utf8");
  const globs = [...yaml.matchAll(/^\s+-\s+["']?([^"'\s]+)["']?\s*$/gm)].map((m) => m[1]);
  return globs.flatMap((glob) => {
    if (!glob.endsWith("/*")) return fs.existsSync(path.join(root, glob, "package.json")) ? [glob] : [];
    const parent = glob.slice(0, -2);
    if (!fs.existsSync(path.join(root, parent))) return [];
    return fs
      .readdirSync(path.join(root, parent))
      .map((name) => `${parent}/${name}`)
      .filter((dir) => fs.existsSync(path.join(root, dir, "package.json")));
  });
}

function sourceFiles(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (["node_modules", "dist", "gen"].includes(entry.name) || entry.name.startsWith(".")) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...sourceFiles(full));
    else if (/\.(ts|mts|cts|mjs|js)$/.test(entry.name) && !entry.name.endsWith(".d.ts")) out.push(full);
  }
  return out;
}

// import … from "x", export … from "x", import "x", import("x"), require("x")
const IMPORT = /(?:\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["']([^"']+)["']/g;

function importsOf(file) {
  const text = fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
  return [...text.matchAll(IMPORT)].map((m) => m[1]);
}

/** The source file a relative specifier names (`./x.js` is written for `./x.ts`). */
function resolveRelative(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base, base.replace(/\.js$/, ".ts"), base.replace(/\.mjs$/, ".mts"), `${base}.ts`, path.join(base, "index.ts")];
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
}

const rel = (file) => path.relative(root, file);
const packages = packageDirs().map((dir) => ({ dir, json: JSON.parse(fs.readFileSync(path.join(root, dir, "package.json"), "utf8")) }));
const graph = new Map();

for (const pkg of packages) {
  if (!pkg.json.exports) problems.push(`${pkg.dir}/package.json: no "exports" map`);
  const pkgRoot = path.join(root, pkg.dir);
  for (const file of sourceFiles(pkgRoot)) {
    const edges = [];
    for (const spec of importsOf(file)) {
      if (/^@tracemesh\/[^/]+\/dist(\/|$)/.test(spec)) {
        problems.push(`${rel(file)}: imports another package's build output: "${spec}"`);
        continue;
      }
      if (!spec.startsWith(".")) continue;
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(pkgRoot + path.sep)) {
        problems.push(`${rel(file)}: relative import leaves ${pkg.dir}: "${spec}"`);
        continue;
      }
      if (/(^|\/)dist(\/|$)/.test(path.relative(pkgRoot, target))) {
        problems.push(`${rel(file)}: imports build output: "${spec}"`);
        continue;
      }
      const resolved = resolveRelative(file, spec);
      if (resolved) edges.push(resolved);
    }
    graph.set(file, edges);
  }
}

/** Every cycle once, as the list of nodes on it (depth-first search, colouring nodes). */
function cycles(nodes, edgesOf) {
  const found = [];
  const state = new Map();
  const stack = [];
  const visit = (node) => {
    state.set(node, "open");
    stack.push(node);
    for (const next of edgesOf(node)) {
      if (state.get(next) === "open") found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, "done");
  };
  for (const node of nodes) if (!state.has(node)) visit(node);
  return found;
}

for (const cycle of cycles(graph.keys(), (f) => graph.get(f) ?? [])) {
  problems.push(`import cycle: ${cycle.map(rel).join(" → ")}`);
}

const byName = new Map(packages.map((p) => [p.json.name, p]));
const depsOf = (name) => {
  const json = byName.get(name)?.json ?? {};
  return Object.keys({ ...json.dependencies, ...json.devDependencies, ...json.peerDependencies }).filter((d) => byName.has(d));
};
for (const cycle of cycles(byName.keys(), depsOf)) problems.push(`package dependency cycle: ${cycle.join(" → ")}`);

if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`boundaries: ${p}\n`);
  process.exit(1);
}
process.stdout.write(`boundaries: ${packages.length} packages, ${graph.size} source files: exports maps, no dist imports, no cycles\n`);
