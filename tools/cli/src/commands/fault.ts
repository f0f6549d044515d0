// `tracemesh fault`: the command lives in ../fault.ts with the flag stores it switches (also used by the tests); it
// reports its own bad usage (exit 2, pointing at `tracemesh fault --help`).
import { FAULT_USAGE, runFault } from "../fault.js";

export const usage = FAULT_USAGE;

export const summary =
  "  tracemesh fault list | on NAME [--value V] | off NAME [--context NAME]   the named failure scenarios, in the local demo or a cluster (tracemesh fault --help)\n";

export function run(args: string[]): Promise<number> {
  return runFault(args);
}
