// The demo's flag file: a copy of deploy/flags/flags.json (every scenario off) in the run cache, outside the
// repository, so `tracemesh fault on/off` changes no tracked file. A pid file next to it names the demo
// that owns it, so the CLI can tell a running mesh from a file a crashed demo left behind.
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

export function prepareDemoFlags(env: NodeJS.ProcessEnv = process.env): DemoFlags {
  const file = demoFlagFile(env);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.copyFileSync(deployFlagFile(), file);
  fs.writeFileSync(ownerFile(file), `${process.pid}\n`);
  return {
    file,
    remove: () => {
      // Only the demo that wrote the file removes it (another may have started since).
      if (fs.readFileSync(ownerFile(file), "utf8").trim() !== String(process.pid)) return;
      fs.rmSync(file, { force: true });
      fs.rmSync(ownerFile(file), { force: true });
    },
  };
}
