#!/usr/bin/env node
// The package boundaries, checked (run by tests/test/repo/boundaries.test.ts, so `npm test` enforces them):
//   1. every workspace package has an `exports` map (so nothing outside it can be imported);
//   2. no source file imports another package's build output (`@tracemesh/x/dist/…`, or a relative path
//      that leaves its own package);
//   3. no import cycle between source files (type-only imports count too);
//   4. no cycle between packages (dependencies + devDependencies), so the build order is well defined;
//   5. imports run downward through the layers, by the package's top folder: libraries (packages/*) import no
//      service and no tool; services (services/*) import no tool; tools (tools/*) and the cross-service tests
//      (tests/) may import anything below them. Checked on each source file's imports and on each package.json's
//      dependencies. One exception: a package's own tests (its test/ folder, and devDependencies) may use
//      @tracemesh/devkit, the test harness — it is a tool only because it sits above nothing it tests;
//   6. a package names another only through that package's `exports` map: every "@tracemesh/x/sub" string in a
//      source file (an import, or a specifier handed to require.resolve at run time) is one of x's exports.
// Usage: node scripts/check-boundaries.mjs [ROOT]   (exit 1 and one line per problem when any is found)
import fs from "node:fs";
import path from "node:path";
import { packageDirs } from "./workspace.mjs";

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname ?? path.dirname(new URL(import.meta.url).pathname), ".."));
const problems = [];

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

/** A source file without its comments (what it says about imports is not an import). */
function readCode(file) {
  return fs.readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
}

function importsOf(file) {
  return [...readCode(file).matchAll(IMPORT)].map((m) => m[1]);
}

/** The source file a relative specifier names (`./x.js` is written for `./x.ts`). */
function resolveRelative(from, spec) {
  const base = path.resolve(path.dirname(from), spec);
  const candidates = [base, base.replace(/\.js$/, ".ts"), base.replace(/\.mjs$/, ".mts"), `${base}.ts`, path.join(base, "index.ts")];
  return candidates.find((c) => fs.existsSync(c) && fs.statSync(c).isFile());
}

const rel = (file) => path.relative(root, file);
const packages = packageDirs(root).map((dir) => ({ dir, json: JSON.parse(fs.readFileSync(path.join(root, dir, "package.json"), "utf8")) }));
const graph = new Map();

// The layer a package sits in, from its folder; tests/ (the cross-service tests) sits on top.
const LAYERS = { packages: "library", services: "service", tools: "tool", tests: "tests" };
const RANK = { library: 0, service: 1, tool: 2, tests: 3 };
/** The one tool a package's tests (and devDependencies) may use below the tools layer. */
const TEST_HARNESS = "@tracemesh/devkit";
const layerOf = (dir) => LAYERS[dir.split("/")[0]];
const pkgByName = new Map(packages.map((p) => [p.json.name, p]));
for (const p of packages) if (!layerOf(p.dir)) problems.push(`${p.dir}: in no layer (a package lives in ${Object.keys(LAYERS).join("/, ")})`);

/** Why `from` may not use `to` (both packages), or undefined when it may. */
function directionProblem(from, to, forTests) {
  const a = layerOf(from.dir);
  const b = layerOf(to.dir);
  if (!a || !b || RANK[b] <= RANK[a] || RANK[a] >= RANK.tool) return undefined; // no layer: reported once above
  if (forTests && to.json.name === TEST_HARNESS) return undefined;
  return `a ${a} (${from.dir}) uses a ${b} (${to.dir}): imports run libraries ← services ← tools`;
}

/** The exports-map keys of a package as matchers ("./x", "./x/*"). */
function exportsMatch(json, subpath) {
  const exp = json.exports;
  if (!exp || typeof exp === "string" || Object.keys(exp).every((k) => !k.startsWith("."))) return subpath === ".";
  return Object.keys(exp).some((key) => {
    if (!key.includes("*")) return key === subpath;
    const [pre, post] = key.split("*");
    return subpath.startsWith(pre) && subpath.endsWith(post) && subpath.length >= pre.length + post.length;
  });
}

// Whole quoted strings naming a workspace package's subpath: "@tracemesh/x/sub".
const SUBPATH = /["'`](@tracemesh\/[a-z0-9-]+)\/([^"'`\s$,\\]+)["'`\\]/g;

for (const pkg of packages) {
  for (const field of ["dependencies", "devDependencies", "peerDependencies"]) {
    for (const name of Object.keys(pkg.json[field] ?? {})) {
      const to = pkgByName.get(name);
      const why = to && directionProblem(pkg, to, field === "devDependencies");
      if (why) problems.push(`${pkg.dir}/package.json: ${field} ${name}: ${why}`);
    }
  }
}

for (const pkg of packages) {
  if (!pkg.json.exports) problems.push(`${pkg.dir}/package.json: no "exports" map`);
  const pkgRoot = path.join(root, pkg.dir);
  for (const file of sourceFiles(pkgRoot)) {
    const edges = [];
    const inTests = path.relative(pkgRoot, file).split(path.sep)[0] === "test";
    for (const spec of importsOf(file)) {
      if (/^@tracemesh\/[^/]+\/dist(\/|$)/.test(spec)) {
        problems.push(`${rel(file)}: imports another package's build output: "${spec}"`);
        continue;
      }
      const target = pkgByName.get(/^@tracemesh\/[^/]+/.exec(spec)?.[0]);
      const why = target && target !== pkg && directionProblem(pkg, target, inTests);
      if (why) problems.push(`${rel(file)}: imports "${spec}": ${why}`);
      if (!spec.startsWith(".")) continue;
      const resolvedPath = path.resolve(path.dirname(file), spec);
      if (!resolvedPath.startsWith(pkgRoot + path.sep)) {
        problems.push(`${rel(file)}: relative import leaves ${pkg.dir}: "${spec}"`);
        continue;
      }
      if (/(^|\/)dist(\/|$)/.test(path.relative(pkgRoot, resolvedPath))) {
        problems.push(`${rel(file)}: imports build output: "${spec}"`);
        continue;
      }
      const resolved = resolveRelative(file, spec);
      if (resolved) edges.push(resolved);
    }
    graph.set(file, edges);
    // Not only imports: a specifier in any string (require.resolve(x), a list of modules to load) counts too.
    const imported = new Set(importsOf(file));
    for (const [, name, sub] of readCode(file).matchAll(SUBPATH)) {
      const target = pkgByName.get(name);
      if (!target || imported.has(`${name}/${sub}`) && sub.startsWith("dist/")) continue; // reported above, as build output
      if (!exportsMatch(target.json, `./${sub}`)) problems.push(`${rel(file)}: names "${name}/${sub}", which is not in ${target.dir}'s exports map`);
    }
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

const depsOf = (name) => {
  const json = pkgByName.get(name)?.json ?? {};
  return Object.keys({ ...json.dependencies, ...json.devDependencies, ...json.peerDependencies }).filter((d) => pkgByName.has(d));
};
for (const cycle of cycles(pkgByName.keys(), depsOf)) problems.push(`package dependency cycle: ${cycle.join(" → ")}`);

if (problems.length > 0) {
  for (const p of problems) process.stderr.write(`boundaries: ${p}\n`);
  process.exit(1);
}
process.stdout.write(
  `boundaries: ${packages.length} packages, ${graph.size} source files: exports maps, no dist imports, no cycles, imports run libraries ← services ← tools\n`,
);
