// The flag file: flagd flag definitions (https://flagd.dev/reference/flag-definitions/), one number flag
// per scenario with the variants "off" (0) and "on" (V). Switching a fault rewrites the file atomically
// (temporary file + rename), so a service polling it never reads half a file.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { SCENARIOS, scenario, type Scenario } from "./scenarios.js";

/** The flagd provider's own variable for the offline flag source; every service and the CLI read it. */
export const FLAG_FILE_ENV = "FLAGD_OFFLINE_FLAG_SOURCE_PATH";

export interface FlagDefinition {
  state: "ENABLED" | "DISABLED";
  variants: Record<string, number>;
  defaultVariant: string;
  [other: string]: unknown;
}

export interface FlagFile {
  $schema?: string;
  flags: Record<string, FlagDefinition>;
  [other: string]: unknown;
}

export interface FaultState {
  scenario: Scenario;
  /** V when the fault is on; undefined when off (or absent from the file). */
  value: number | undefined;
}

/**
 * Where `npm run demo` keeps the flag file of the mesh it runs: in the project's run cache, outside the
 * repository, so switching a fault changes no tracked file. The CLI finds it here with no path to type.
 */
export function demoFlagFile(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.TRACEMESH_CACHE || path.join(os.homedir(), ".cache", "tracemesh");
  return path.join(cache, "run", "demo", "flags.json");
}

/** A flag file's text, checked; `origin` (a path, a ConfigMap's name) names it in errors. */
export function parseFlagFile(text: string, origin: string): FlagFile {
  let parsed: FlagFile;
  try {
    parsed = JSON.parse(text) as FlagFile;
  } catch (err) {
    throw new Error(`${origin}: not JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== "object" || parsed === null || typeof parsed.flags !== "object" || parsed.flags === null) {
    throw new Error(`${origin}: not a flagd flag file (no "flags" object)`);
  }
  return parsed;
}

export function readFlagFile(file: string): FlagFile {
  return parseFlagFile(fs.readFileSync(file, "utf8"), file);
}

/** The text of a flag file as deploy/flags/flags.json is written (so a switched file diffs cleanly). */
export function formatFlagFile(flags: FlagFile): string {
  return JSON.stringify(flags, null, 2) + "\n";
}

/** Writes through a temporary file in the same folder and a rename. */
export function writeFlagFile(file: string, flags: FlagFile): void {
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`);
  fs.writeFileSync(tmp, formatFlagFile(flags));
  fs.renameSync(tmp, file);
}

/** The state of every scenario as the file says. */
export function faultStates(flags: FlagFile): FaultState[] {
  return SCENARIOS.map((s) => {
    const def = flags.flags[s.name];
    const value = def && def.state === "ENABLED" ? def.variants[def.defaultVariant] : undefined;
    return { scenario: s, value: typeof value === "number" && value !== 0 ? value : undefined };
  });
}

/** A definition with every scenario off: what deploy/flags/flags.json holds. */
export function offDefinition(): FlagDefinition {
  return { state: "ENABLED", variants: { off: 0, on: 0 }, defaultVariant: "off" };
}

/** Returns `flags` with NAME on at `value` (undefined = its default) or off; throws on an unknown name or bad value. */
export function switchFault(flags: FlagFile, name: string, value: number | undefined, on: boolean): FlagFile {
  const s = scenario(name);
  if (!s) throw new RangeError(`unknown scenario "${name}" (known: ${SCENARIOS.map((x) => x.name).join(", ")})`);
  const v = value ?? s.defaultValue;
  if (on && !(Number.isFinite(v) && v > 0 && v <= s.max)) throw new RangeError(`${name}: --value must be in (0, ${s.max}] ${s.unit}, got ${v}`);
  const def = flags.flags[name] ?? offDefinition();
  const next: FlagDefinition = on
    ? { ...def, state: "ENABLED", variants: { ...def.variants, off: 0, on: v }, defaultVariant: "on" }
    : { ...def, state: "ENABLED", variants: { ...def.variants, off: 0 }, defaultVariant: "off" };
  return { ...flags, flags: { ...flags.flags, [name]: next } };
}
