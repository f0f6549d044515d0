// Which running demo owns a file or folder: a `<path>.pid` file beside it names the demo's process. A demo
// claims what it writes to (its flag file, its logs folder) before it touches it, so that a second demo
// started beside a running one stops with a message instead of overwriting the first one's files, and a
// claim a crashed demo left behind is taken over.
import fs from "node:fs";
import path from "node:path";

export const ownerFile = (target: string) => `${target}.pid`;

/** The pid its pid file names when that process is alive; undefined with no pid file or a dead process. */
export function liveOwner(target: string): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(ownerFile(target), "utf8").trim());
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

export interface Claim {
  /** Removes the pid file (and runs `cleanUp`) only while this process still owns `target`. */
  release(cleanUp?: () => void): void;
}

/**
 * Claims `target` for this process; throws `another demo (pid N) <what> <target>: <remedy>` when a running
 * demo other than this one owns it.
 */
export function claim(target: string, what: string, remedy: string): Claim {
  const owner = liveOwner(target);
  if (owner !== undefined && owner !== process.pid) throw new Error(`another demo (pid ${owner}) ${what} ${target}: ${remedy}`);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  fs.writeFileSync(ownerFile(target), `${process.pid}\n`);
  return {
    release: (cleanUp) => {
      // Another demo may have taken it over since (after this one was thought gone): leave it to that one.
      if (liveOwner(target) !== process.pid) return;
      cleanUp?.();
      fs.rmSync(ownerFile(target), { force: true });
    },
  };
}
