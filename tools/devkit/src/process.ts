import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";

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
  opts: {
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    echo?: boolean;
    /** Also append every line of stdout and stderr to this file, as the kubelet writes container logs (criLogWriter). */
    logFile?: string;
  } = {},
): ManagedProcess {
  const child = spawn(command, args, {
    cwd: opts.cwd,
    env: opts.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const MAX = 4 * 1024 * 1024;
  let out = "";
  let stdout = "";
  const log = opts.logFile ? criLogWriter(opts.logFile) : undefined;
  const keep = (chunk: Buffer, isStdout: boolean) => {
    const text = chunk.toString("utf8");
    log?.write(isStdout ? "stdout" : "stderr", text);
    out = (out + text).slice(-MAX);
    if (isStdout) stdout = (stdout + text).slice(-MAX);
    if (opts.echo) process.stderr.write(text.replace(/^(?=.)/gm, `[${name}] `));
  };
  child.stdout?.on("data", (c: Buffer) => keep(c, true));
  child.stderr?.on("data", (c: Buffer) => keep(c, false));
  // "close": after the last byte of its output was read ("exit" may come before).
  child.on("close", () => log?.close());
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

/** A container log file in the CRI format, fed with a process's output as it comes. */
export interface CriLogWriter {
  /** Appends the complete lines of `text` (a line cut by a chunk boundary waits for its end). */
  write(stream: "stdout" | "stderr", text: string): void;
  /** Writes what is left of an unfinished line and closes the file. */
  close(): void;
  /** Lines written so far. */
  lines(): number;
}

/**
 * Writes a process's output the way the kubelet (containerd) writes a container's log: one line per line of
 * output, `<RFC 3339 time, ns> <stdout|stderr> F <line>`, so the Fluent Bit configuration users deploy (tail with
 * the `cri` multiline parser) reads a local process's log exactly as a pod's.
 */
export function criLogWriter(file: string): CriLogWriter {
  const fd = fs.openSync(file, "a");
  const pending = { stdout: "", stderr: "" };
  let count = 0;
  let closed = false;
  const emit = (stream: "stdout" | "stderr", lines: string[]) => {
    if (closed || lines.length === 0) return;
    // The kubelet's clock has ns; Node's has ms, padded.
    const time = new Date().toISOString().replace("Z", "000000Z");
    fs.writeSync(fd, lines.map((line) => `${time} ${stream} F ${line}\n`).join(""));
    count += lines.length;
  };
  return {
    write: (stream, text) => {
      const parts = (pending[stream] + text).split("\n");
      pending[stream] = parts.pop()!;
      emit(stream, parts);
    },
    close: () => {
      for (const stream of ["stdout", "stderr"] as const) if (pending[stream]) emit(stream, [pending[stream]]);
      if (!closed) fs.closeSync(fd);
      closed = true;
    },
    lines: () => count,
  };
}

/** Stops every process this module started and that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

// A test run or demo that dies must not leave servers behind.
process.on("exit", () => {
  for (const p of running) p.child.kill("SIGKILL");
});
