// What every `tracemesh` command module (one per command in this folder) exports, and what they share: the
// --help option, the two ways a command stops early, and the duration every --since takes.
import { DURATION_GRAMMAR, parseDuration } from "@tracemesh/domain";

export interface Command {
  /** What `tracemesh help` says of the command (its usage without the "usage:" line, or one line). */
  summary: string;
  /** Runs the command with the arguments after its name; resolves with the exit status. */
  run(args: string[]): Promise<number> | number;
}

/** Thrown for --help/-h: main prints the usage on stdout and exits 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super("help");
  }
}

/** Bad usage: main prints the message and a pointer to `tracemesh help`, exit 2. */
export class UsageError extends Error {}

export const HELP_OPTION = { help: { type: "boolean", short: "h", default: false } } as const;

/** The usage text without its "usage:" line, as `tracemesh help` lists it. */
export function withoutUsageLine(usage: string): string {
  return usage.replace("usage:\n", "");
}

/** A JSON result on stdout, indented. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

/** --since: a duration in milliseconds. */
export function sinceMs(text: string): number {
  const ms = parseDuration(text);
  if (ms === undefined) throw new UsageError(`--since: expected ${DURATION_GRAMMAR}, got "${text}"`);
  return ms;
}
