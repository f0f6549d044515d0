// Running one of the benchmarks' Node scripts to its end: the workers (span budget, Collector load, per-call
// costs) and the demo seed. One place for the kill timer, the stderr kept for the error, and the JSON line a
// worker prints last.
import { spawn } from "node:child_process";

export interface NodeScriptOptions {
  /** The script's whole environment. */
  env: NodeJS.ProcessEnv;
  cwd?: string;
  /** SIGKILL after this long. */
  timeoutMs: number;
  /** "ignore" for a script whose stdout is only its log output (default "keep"). */
  stdout?: "keep" | "ignore";
}

/** Runs `node ARGS`; resolves its stdout when it exits 0, rejects with `<name> exited <code>: <stderr's tail>` otherwise. */
export function runNodeScript(name: string, args: string[], opts: NodeScriptOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: opts.env, cwd: opts.cwd, stdio: ["ignore", opts.stdout === "ignore" ? "ignore" : "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout?.on("data", (c: Buffer) => (out += c.toString()));
    child.stderr?.on("data", (c: Buffer) => (err += c.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`${name} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

/** A worker's result: the JSON object on the last line of its stdout. */
export function lastJsonLine<T>(name: string, stdout: string): T {
  const line = stdout.trim().split("\n").pop() ?? "";
  if (!line.startsWith("{")) throw new Error(`${name} printed no result line: ${stdout.slice(-500)}`);
  return JSON.parse(line) as T;
}
