// `tracemesh fault list | on NAME [--value V] | off NAME`: the named failure scenarios of @tracemesh/flags,
// switched in the flag file the mesh's services poll. Without --file it is the file of the demo running on
// this machine (FLAGD_OFFLINE_FLAG_SOURCE_PATH when set, else the demo's place in the run cache).
import fs from "node:fs";
import { parseArgs } from "node:util";
import { FLAG_FILE_ENV, SCENARIOS, demoFlagFile, faultStates, readFlagFile, switchFault, writeFlagFile, type FlagFile, type Scenario } from "@tracemesh/flags";
import { ALL_DATASETS, DEFAULT_HONEYCOMB_API_URL, createMarker } from "./honeycomb.js";
import { ownerFile } from "./demo/flags.js";

export const FAULT_USAGE = `usage:
  tracemesh fault list [--file FILE]
  tracemesh fault on NAME [--value V] [--file FILE]
  tracemesh fault off NAME [--file FILE]
      the named failure scenarios (docs/faults.md) in the flag file of the mesh \`npm run demo\` runs on this
      machine (or --file, or ${FLAG_FILE_ENV}); services pick a switch up within about 5 s, no restart.
      With HONEYCOMB_API_KEY set, on/off also posts a Honeycomb marker (type fault).
      --context NAME (the ConfigMap on Kubernetes) is not implemented yet.
      scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}
`;

/** A problem with the command line or the flag file (exit 2). */
export class FaultUsageError extends Error {}

export interface FaultIo {
  out: (text: string) => void;
  err: (text: string) => void;
  env: NodeJS.ProcessEnv;
}

function flagFile(explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  const file = explicit ?? (env[FLAG_FILE_ENV] || demoFlagFile(env));
  if (!fs.existsSync(file)) {
    throw new FaultUsageError(
      explicit || env[FLAG_FILE_ENV]
        ? `no flag file at ${file}`
        : `no local mesh: ${file} does not exist (start one with \`npm run demo -- --keep-running\`, or give --file)`,
    );
  }
  return file;
}

/** A warning when the demo that wrote the file is gone (its services are not polling it any more). */
function ownerWarning(file: string): string | undefined {
  const owner = ownerFile(file);
  if (!fs.existsSync(owner)) return undefined;
  const pid = Number(fs.readFileSync(owner, "utf8").trim());
  try {
    process.kill(pid, 0);
    return undefined;
  } catch {
    return `warning: the demo that wrote ${file} (pid ${pid}) is not running; no service reads this file\n`;
  }
}

const describeValue = (s: Scenario, value: number) => (s.unit === "switch" ? "on" : `on (${value} ${s.unit})`);

function listText(file: string): string {
  const states = faultStates(readFlagFile(file));
  const rows = states.map(({ scenario: s, value }) => [s.name, value === undefined ? "off" : describeValue(s, value), s.service, s.unit === "switch" ? s.summary : `${s.summary} (default ${s.defaultValue} ${s.unit})`]);
  const header = ["scenario", "state", "service", "what happens"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join("  ") + "\n";
  return `flag file: ${file}\n` + line(header) + line(widths.map((w) => "-".repeat(w))) + rows.map(line).join("");
}

async function postMarker(message: string, env: NodeJS.ProcessEnv, io: FaultIo): Promise<boolean> {
  if (!env.HONEYCOMB_API_KEY) return true;
  try {
    await createMarker(
      { apiKey: env.HONEYCOMB_API_KEY, apiUrl: env.HONEYCOMB_API_URL || DEFAULT_HONEYCOMB_API_URL, dataset: ALL_DATASETS, timeoutMs: 10_000 },
      { message, type: "fault", start_time: Math.floor(Date.now() / 1000) },
    );
    io.err(`Honeycomb marker: ${message}\n`);
    return true;
  } catch (err) {
    io.err(`the fault was switched, but the Honeycomb marker failed: ${(err as Error).message}\n`);
    return false;
  }
}

/** Runs `fault …`; resolves the exit code (0 done, 1 the marker failed). Throws FaultUsageError for bad usage. */
export async function faultCommand(args: string[], io: FaultIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      value: { type: "string" },
      file: { type: "string" },
      context: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  const [action, name, ...extra] = positionals;
  if (values.help || action === "help") {
    io.out(FAULT_USAGE);
    return 0;
  }
  if (values.context !== undefined) {
    throw new FaultUsageError(`fault --context: switching the ConfigMap of a Kubernetes context is not implemented yet; without --context the local demo's flag file is used`);
  }
  if (extra.length > 0) throw new FaultUsageError(`fault: unexpected arguments: ${extra.join(" ")}`);
  if (action === "list") {
    if (name !== undefined || values.value !== undefined) throw new FaultUsageError("fault list takes no NAME or --value");
    const file = flagFile(values.file, io.env);
    io.out(listText(file));
    const warning = ownerWarning(file);
    if (warning) io.err(warning);
    return 0;
  }
  if (action !== "on" && action !== "off") throw new FaultUsageError(`fault: "list", "on" or "off", got "${action ?? ""}"`);
  if (!name) throw new FaultUsageError(`fault ${action}: give a scenario NAME (${SCENARIOS.map((s) => s.name).join(", ")})`);
  if (action === "off" && values.value !== undefined) throw new FaultUsageError("fault off takes no --value");
  let value: number | undefined;
  if (values.value !== undefined) {
    value = Number(values.value);
    if (!Number.isFinite(value)) throw new FaultUsageError(`--value: a number, got "${values.value}"`);
  }
  const file = flagFile(values.file, io.env);
  let next: FlagFile;
  try {
    next = switchFault(readFlagFile(file), name, value, action === "on");
  } catch (err) {
    if (err instanceof RangeError) throw new FaultUsageError(err.message);
    throw err;
  }
  writeFlagFile(file, next);
  const state = faultStates(next).find((s) => s.scenario.name === name)!;
  const text = state.value === undefined ? `${name} off` : `${name} ${describeValue(state.scenario, state.value)}`;
  io.out(`${text} in ${file}; services pick it up within about 5 s\n`);
  const warning = ownerWarning(file);
  if (warning) io.err(warning);
  return (await postMarker(`fault ${text}`, io.env, io)) ? 0 : 1;
}

/** `tracemesh fault …` as main.ts dispatches it: usage errors print one line and exit 2, like every command. */
export async function runFault(args: string[], io: FaultIo = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t), env: process.env }): Promise<number> {
  try {
    return await faultCommand(args, io);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (!(err instanceof FaultUsageError) && !e.code?.startsWith("ERR_PARSE_ARGS")) throw err;
    io.err(`tracemesh: ${e.message}\nrun \`tracemesh fault --help\` for usage\n`);
    return 2;
  }
}
