#!/usr/bin/env node
// The structure picture in README.md ("Packages and layers"): every workspace package in its folder's layer and
// an arrow to each workspace package it depends on at run time (package.json "dependencies"; test-only
// devDependencies, devkit's mostly, are left out so the picture stays readable), as a Mermaid flowchart.
// tests/test/repo/boundaries.test.ts fails when the README's copy differs from what this prints.
// Usage: node scripts/package-graph.mjs [ROOT]   (prints the ```mermaid block)
import fs from "node:fs";
import path from "node:path";
import { packageDirs } from "./workspace.mjs";

const root = path.resolve(process.argv[2] ?? path.join(import.meta.dirname, ".."));

const packages = packageDirs(root)
  .filter((dir) => dir !== "tests") // the cross-service tests use everything; they are not a layer of the product
  .map((dir) => ({ dir, json: JSON.parse(fs.readFileSync(path.join(root, dir, "package.json"), "utf8")) }));
const byName = new Map(packages.map((p) => [p.json.name, p]));
const id = (dir) => dir.replace(/[^a-z0-9]/gi, "_");
const folders = [...new Set(packages.map((p) => p.dir.split("/")[0]))];
// Top to bottom: the folders that depend on others first (tools, then services, then libraries).
const rank = (folder) => ({ tools: 0, services: 1, packages: 2 })[folder] ?? 3;
folders.sort((a, b) => rank(a) - rank(b));

const lines = ["```mermaid", "flowchart TB"];
for (const folder of folders) {
  lines.push(`  subgraph ${folder}["${folder}/"]`);
  for (const p of packages.filter((q) => q.dir.startsWith(`${folder}/`))) lines.push(`    ${id(p.dir)}[${path.basename(p.dir)}]`);
  lines.push("  end");
}
for (const p of packages) {
  for (const dep of Object.keys(p.json.dependencies ?? {}).sort()) {
    const to = byName.get(dep);
    if (to) lines.push(`  ${id(p.dir)} --> ${id(to.dir)}`);
  }
}
lines.push("```");
process.stdout.write(`${lines.join("\n")}\n`);
