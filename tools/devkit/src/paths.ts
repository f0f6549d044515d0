import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";

/**
 * The repository root (the folder holding pnpm-workspace.yaml) above this file. A function, not a constant: the
 * `tracemesh` image (the CI cluster's verifier) loads devkit with no repository around it.
 */
export function repoRoot(): string {
  for (let dir = __dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, "pnpm-workspace.yaml"))) return dir;
  }
  throw new Error(`no pnpm-workspace.yaml above ${__dirname}`);
}

/** Where scripts/tools/*.sh install the tools: TRACEMESH_CACHE, by default the same folder scripts/lib.sh uses. */
export const TOOL_CACHE = process.env.TRACEMESH_CACHE ?? path.join(os.homedir(), ".cache", "tracemesh");
/** The tools' binaries (TRACEMESH_BIN, as scripts/lib.sh exports it). */
export const TOOL_BIN = process.env.TRACEMESH_BIN ?? path.join(TOOL_CACHE, "bin");

/**
 * The file `specifier` names as seen from the package in `packageDir`: through that package's own
 * dependencies and the target's `exports` map, the way Node resolves it at run time. Undefined when it
 * does not resolve (not a dependency, or not built).
 */
export function resolveFrom(packageDir: string, specifier: string): string | undefined {
  try {
    return createRequire(path.join(packageDir, "package.json")).resolve(specifier);
  } catch {
    return undefined;
  }
}

/**
 * Node arguments that run `script` the way the services' start scripts do (`node --require
 * @tracemesh/telemetry/register …`), the register module resolved from `packageDir`'s dependencies;
 * without telemetry (not a dependency, or not built) the script runs alone.
 */
export function nodeArgsFrom(packageDir: string, script: string): string[] {
  const register = resolveFrom(packageDir, "@tracemesh/telemetry/register");
  return register ? ["--require", register, script] : [script];
}
