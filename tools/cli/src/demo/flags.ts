// The demo's flag file: a copy of deploy/flags/flags.json (every scenario off) in the run cache, outside the
// repository, so `tracemesh fault on/off` changes no tracked file. A pid file next to it names the demo
// that owns it (owner.ts), so the CLI can tell a running mesh from a file a crashed demo left behind, and a
// second demo does not take over the file of one still running (`--flag-file` gives it one of its own).
import fs from "node:fs";
import path from "node:path";
import { repoRoot } from "@tracemesh/devkit";
import { demoFlagFile } from "@tracemesh/flags";
import { claim } from "./owner.js";

/** deploy/flags/flags.json (a function: the `tracemesh` image has no repository around it). */
export const deployFlagFile = (): string => path.join(repoRoot(), "deploy", "flags", "flags.json");

export interface DemoFlags {
  file: string;
  remove(): void;
}

/** Copies the flags (every scenario off) to `file`; refuses a file another running demo owns. */
export function prepareDemoFlags(file: string = demoFlagFile()): DemoFlags {
  const owned = claim(
    file,
    "is using the flag file",
    "stop it, or give this one a file of its own with --flag-file PATH (and switch its faults with `tracemesh fault --file PATH`)",
  );
  fs.copyFileSync(deployFlagFile(), file);
  return { file, remove: () => owned.release(() => fs.rmSync(file, { force: true })) };
}
