// The workspace's package folders, read the way pnpm reads pnpm-workspace.yaml (a glob `x/*` is every folder of x
// with a package.json), for the scripts that walk the packages (check-boundaries.mjs, package-graph.mjs).
import fs from "node:fs";
import path from "node:path";

/** The package folders under `root`, relative to it, in pnpm-workspace.yaml's order (each glob's folders sorted). */
export function packageDirs(root) {
  const yaml = fs.readFileSync(path.join(root, "pnpm-workspace.yaml"), "utf8");
  const globs = [...yaml.matchAll(/^\s+-\s+["']?([^"'\s]+)["']?\s*$/gm)].map((m) => m[1]);
  return globs.flatMap((glob) => {
    if (!glob.endsWith("/*")) return fs.existsSync(path.join(root, glob, "package.json")) ? [glob] : [];
    const parent = glob.slice(0, -2);
    if (!fs.existsSync(path.join(root, parent))) return [];
    return fs
      .readdirSync(path.join(root, parent))
      .sort()
      .map((name) => `${parent}/${name}`)
      .filter((dir) => fs.existsSync(path.join(root, dir, "package.json")));
  });
}
