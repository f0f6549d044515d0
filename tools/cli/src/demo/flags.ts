// The demo's flag file: a copy of deploy/flags/flags.json (every scenario off) in the run cache, outside the
// repository, so `tracemesh fault on/off` changes no tracked file. A pid file next to it names the demo
// that owns it, so the CLI can tell a running mesh from a file a crashed demo left behind, and a second
// demo does not take over the file of one still running (`--flag-file` gives it one of its own).
import fs from "node:fs";
import path from "node:path";
import { repoRoot } from "@tracemesh/devkit";
import { demoFlagFile } from "@tracemesh/flags";

/** deploy/flags/flags.json (a function: the `tracemesh` image has no repository around it). */
export const deployFlagFile = (): string => path.join(repoRoot(), "deploy", "flags", "flags.json");

export interface DemoFlags {
  file: string;
  remove(): void;
}

export const ownerFile = (flagFile: string) => `${flagFile}.pid`;

/** The pid its pid file names when that process is alive; undefined with no pid file or a dead process. */
export function liveOwner(flagFile: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(ownerFile(flagFile), "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    // EPERM: alive, another user's.
    return (err as NodeJS.ErrnoException).code === "EPERM" ? pid : undefined;
  }
}

/** Copies the flags (every scenario off) to `file`; refuses a file another running demo owns. */
export function prepareDemoFlags(file: string = demoFlagFile()): DemoFlags {
  const owner = liveOwner(file);
  if (owner !== undefined && owner !== process.pid) {
    throw new Error(
      `another demo (pid ${owner}) is using the flag file ${file}: stop it, or give this one a file of its own ` +
        "with --flag-file PATH (and switch its faults with `tracemesh fault --file PATH`)",
    );
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.copyFileSync(deployFlagFile(), file);
  fs.writeFileSync(ownerFile(file), `${process.pid}\n`);
  return {
    file,
    remove: () => {
      // Only the demo that wrote the file removes it (another may have started since).
      if (liveOwner(file) !== process.pid) return;
      fs.rmSync(file, { force: true });
      fs.rmSync(ownerFile(file), { force: true });
    },
  };
}
