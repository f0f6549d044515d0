import { spawn, type ChildProcess } from "node:child_process";

/** How a process ended: its exit code, or the signal that ended it. */
export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

export interface ManagedProcess {
  name: string;
  child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** The stdout lines that parse as JSON (pino logs). */
  jsonLines(): Array<Record<string, unknown>>;
  /** Resolves with the exit code (or signal) once the process has exited. */
  exited: Promise<ExitStatus>;
  /** SIGTERM, then SIGKILL after graceMs; resolves with the exit status. */
  stop(graceMs?: number): Promise<ExitStatus>;
}

const running = new Set<ManagedProcess>();

/** Starts a process whose output is kept (bounded) for assertions and failure messages. */
export function startProcess(
  name: string,
  command: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; echo?: boolean } = {},
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const MAX = 4 * 1024 * 1024;
  let out = "";
  let stdout = "";
  const keep = (chunk: Buffer, isStdout: boolean) => {
    const text = chunk.toString("utf8");
    out = (out + text).slice(-MAX);
    if (isStdout) stdout = (stdout + text).slice(-MAX);
    if (opts.echo) process.stderr.write(text.replace(/^(?=.)/gm, `[${name}] `));
  };
  child.stdout?.on("data", (c: Buffer) => keep(c, true));
  child.stderr?.on("data", (c: Buffer) => keep(c, false));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
    child.on("error", (err) => {
      out += `\n[spawn error] ${err.message}\n`;
      resolve({ code: -1, signal: null });
    });
  });
  const managed: ManagedProcess = {
    name,
    child,
    output: () => out,
    jsonLines: () =>
      stdout
        .split("\n")
        .filter((l) => l.startsWith("{"))
        .flatMap((l) => {
          try {
            return [JSON.parse(l) as Record<string, unknown>];
          } catch {
            return [];
          }
        }),
    exited,
    stop: async (graceMs = 5000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const status = await exited;
        clearTimeout(timer);
        running.delete(managed);
        return status;
      }
      running.delete(managed);
      return exited;
    },
  };
  running.add(managed);
  exited.then(() => running.delete(managed));
  return managed;
}

/** Stops every process this module started and that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

// A test run or demo that dies must not leave servers behind.
process.on("exit", () => {
  for (const p of running) p.child.kill("SIGKILL");
});
