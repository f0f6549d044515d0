// Command-line flags, each also readable from a LOADGEN_* variable (flags win), for the Kubernetes Job.
import fs from "node:fs";
import { parseArgs } from "node:util";
import { DURATION_GRAMMAR, parseDuration as parseDomainDuration } from "@tracemesh/domain";
import { parseScenario, DEFAULT_SCENARIO, type Scenario } from "./scenario.js";
import type { Thresholds } from "./stats.js";
import { UsageError } from "./errors.js";

export { UsageError };

/** The flag file's variable, as @tracemesh/flags names it (spelled out here so that the package loads only when set). */
export const FLAG_FILE_ENV = "FLAGD_OFFLINE_FLAG_SOURCE_PATH";

export interface RunConfig {
  baseUrl: string;
  /** Target requests per second for this process (already divided by the Job's parallelism). */
  rate: number;
  /** The rate the whole run aims at (before dividing among the Job's pods). */
  totalRate: number;
  durationMs: number;
  rampMs: number;
  scenario: Scenario;
  jsonPath?: string;
  thresholds: Thresholds;
  waitReadyMs: number;
  connections: number;
  timeoutMs: number;
  maxInFlight: number;
  users: number;
  runId?: string;
  shard: { index: number; count: number };
}

export type Command = { kind: "run"; config: RunConfig } | { kind: "merge"; files: string[]; jsonPath?: string; thresholds: Thresholds } | { kind: "help" };

export const USAGE = `usage: loadgen [flags]                 drive the tracemesh HTTP API open-loop
       loadgen merge a.json b.json … [--json out.json] [thresholds]   merge summaries exactly

flags (environment variable in brackets; flags win):
  --base-url URL          API base URL [LOADGEN_BASE_URL] (http://localhost:8080)
  --rate N                target requests/s for the whole run [LOADGEN_RATE] (50)
  --duration D            e.g. 30s, 2m, 500ms [LOADGEN_DURATION] (30s)
  --ramp D                ramp the rate linearly from 0 over D [LOADGEN_RAMP] (0s)
  --scenario FILE|JSON    flow weights and think time [LOADGEN_SCENARIO: JSON text or a path]
  --users N               signed-up users in the pool [LOADGEN_USERS] (scenario's, else 20)
  --json FILE             write the JSON summary [LOADGEN_JSON]
  --max-error-rate X      fail when the error rate exceeds X, e.g. 0.01 [LOADGEN_MAX_ERROR_RATE]
  --p99 'ROUTE=MS'        fail when ROUTE's p99 exceeds MS; repeatable [LOADGEN_P99: comma-separated]
  --wait-ready D          wait up to D for GET /readyz = 200 before starting [LOADGEN_WAIT_READY] (0s)
  --connections N         keep-alive connections to the API [LOADGEN_CONNECTIONS] (64)
  --timeout D             per-request timeout [LOADGEN_TIMEOUT] (10s)
  --max-in-flight N       flows in flight before new ones are dropped [LOADGEN_MAX_IN_FLIGHT] (10000)
  --run-id ID             [a-z0-9]{1,5}, names users lg_<id>_<n> [LOADGEN_RUN_ID] (random)
Indexed Job: JOB_COMPLETION_INDEX and LOADGEN_PARALLELISM=N make each pod run rate/N with its own users.
Exit status: 0 ok, 1 threshold breached or run failed, 2 bad usage.`;

type Env = Record<string, string | undefined>;

const RUN_OPTIONS = {
  "base-url": { type: "string" },
  rate: { type: "string" },
  duration: { type: "string" },
  ramp: { type: "string" },
  scenario: { type: "string" },
  users: { type: "string" },
  json: { type: "string" },
  "max-error-rate": { type: "string" },
  p99: { type: "string", multiple: true },
  "wait-ready": { type: "string" },
  connections: { type: "string" },
  timeout: { type: "string" },
  "max-in-flight": { type: "string" },
  "run-id": { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** A duration in the domain's one grammar (`30s`, `500ms`, `2m`, `1h`, bare seconds) → milliseconds. */
export function parseDuration(text: string, what: string): number {
  const ms = parseDomainDuration(text);
  if (ms === undefined) throw new UsageError(`${what} must be ${DURATION_GRAMMAR}, got "${text}"`);
  return ms;
}

function parseNumber(text: string, what: string, range: { min: number; max: number; integer?: boolean; exclusiveMin?: boolean }): number {
  const t = text.trim();
  const n = Number(t);
  if (t === "" || !Number.isFinite(n)) throw new UsageError(`${what} must be a number, got "${text}"`);
  if (range.integer && !Number.isInteger(n)) throw new UsageError(`${what} must be an integer, got "${text}"`);
  if (range.exclusiveMin ? n <= range.min : n < range.min) throw new UsageError(`${what} must be ${range.exclusiveMin ? ">" : ">="} ${range.min}, got ${n}`);
  if (n > range.max) throw new UsageError(`${what} must be <= ${range.max}, got ${n}`);
  return n;
}

/** `GET /api/activities/home=250` → [route, 250]. */
export function parseP99(text: string): [string, number] {
  const at = text.lastIndexOf("=");
  const route = at > 0 ? text.slice(0, at).trim() : "";
  if (!/^[A-Z]+ \/\S*$/.test(route)) {
    throw new UsageError(`--p99 must look like 'GET /api/activities/home=250' (route=milliseconds), got "${text}"`);
  }
  return [route, parseNumber(text.slice(at + 1), `--p99 limit of "${route}"`, { min: 0, max: 3_600_000, exclusiveMin: true })];
}

function parseBaseUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--base-url must be a URL like http://localhost:8080, got "${text}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--base-url must be http:// or https://, got "${text}"`);
  if (url.pathname !== "/" || url.search) throw new UsageError(`--base-url must have no path or query (routes start at /api), got "${text}"`);
  return url.origin;
}

function loadScenario(source: string | undefined, what: string): Scenario {
  if (source === undefined) return DEFAULT_SCENARIO;
  const text = source.trim();
  if (text.startsWith("{")) return parseScenario(text, what);
  let content: string;
  try {
    content = fs.readFileSync(text, "utf8");
  } catch (err) {
    throw new UsageError(`${what}: cannot read scenario file "${text}": ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseScenario(content, `${what} (${text})`);
}

function parseThresholds(maxErrorRate: string | undefined, p99: string[], errorWhat: string): Thresholds {
  return {
    maxErrorRate: maxErrorRate === undefined ? undefined : parseNumber(maxErrorRate, errorWhat, { min: 0, max: 1 }),
    p99: new Map(p99.map(parseP99)),
  };
}

function envValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === "" ? undefined : v.trim();
}

function parseFlags(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: RUN_OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]!);
  }
}

/** Parses argv (without node and script) and the environment; throws UsageError on anything bad. */
export function parseCommand(argv: string[], env: Env = process.env): Command {
  const { values, positionals } = parseFlags(argv);
  if (values.help) return { kind: "help" };
  const p99Flags = values.p99 ?? (envValue(env, "LOADGEN_P99")?.split(",").map((s) => s.trim()).filter(Boolean) ?? []);
  const maxErrorRate = values["max-error-rate"] ?? envValue(env, "LOADGEN_MAX_ERROR_RATE");
  const errorWhat = values["max-error-rate"] !== undefined ? "--max-error-rate" : "LOADGEN_MAX_ERROR_RATE";

  if (positionals[0] === "merge") {
    const files = positionals.slice(1);
    if (files.length === 0) throw new UsageError("merge needs at least one summary file: loadgen merge a.json b.json …");
    return { kind: "merge", files, jsonPath: values.json, thresholds: parseThresholds(maxErrorRate, p99Flags, errorWhat) };
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}" (the only subcommand is "merge")`);

  // Each setting: the flag, else the variable; the error message names whichever was used.
  const pick = (flag: keyof typeof values, variable: string): { value: string | undefined; what: string } => {
    const fromFlag = values[flag];
    if (typeof fromFlag === "string") return { value: fromFlag, what: `--${flag}` };
    return { value: envValue(env, variable), what: variable };
  };
  const num = (flag: keyof typeof values, variable: string, fallback: number, range: Parameters<typeof parseNumber>[2]) => {
    const { value, what } = pick(flag, variable);
    return value === undefined ? fallback : parseNumber(value, what, range);
  };
  const dur = (flag: keyof typeof values, variable: string, fallback: number) => {
    const { value, what } = pick(flag, variable);
    return value === undefined ? fallback : parseDuration(value, what);
  };

  const baseUrl = parseBaseUrl(pick("base-url", "LOADGEN_BASE_URL").value ?? "http://localhost:8080");
  const totalRate = num("rate", "LOADGEN_RATE", 50, { min: 0, max: 1_000_000, exclusiveMin: true });
  const durationMs = dur("duration", "LOADGEN_DURATION", 30_000);
  if (durationMs <= 0) throw new UsageError("--duration must be more than 0");
  const rampMs = dur("ramp", "LOADGEN_RAMP", 0);
  const timeoutMs = dur("timeout", "LOADGEN_TIMEOUT", 10_000);
  if (timeoutMs <= 0) throw new UsageError("--timeout must be more than 0");
  const scenarioSource = pick("scenario", "LOADGEN_SCENARIO");
  const scenario = loadScenario(scenarioSource.value, scenarioSource.what);
  const users = num("users", "LOADGEN_USERS", scenario.users, { min: 1, max: 10_000, integer: true });
  const runIdPick = pick("run-id", "LOADGEN_RUN_ID");
  if (runIdPick.value !== undefined && !/^[a-z0-9]{1,5}$/.test(runIdPick.value)) {
    throw new UsageError(`${runIdPick.what} must match [a-z0-9]{1,5} (handles are at most 20 characters), got "${runIdPick.value}"`);
  }

  // Indexed Job: each pod takes an equal share of the rate and its own user handles.
  const parallelism = envValue(env, "LOADGEN_PARALLELISM") === undefined ? 1 : parseNumber(env.LOADGEN_PARALLELISM!, "LOADGEN_PARALLELISM", { min: 1, max: 99, integer: true });
  const indexText = envValue(env, "JOB_COMPLETION_INDEX");
  const index = indexText === undefined ? 0 : parseNumber(indexText, "JOB_COMPLETION_INDEX", { min: 0, max: 98, integer: true });
  if (index >= parallelism) throw new UsageError(`JOB_COMPLETION_INDEX ${index} must be < LOADGEN_PARALLELISM ${parallelism}`);

  return {
    kind: "run",
    config: {
      baseUrl,
      rate: totalRate / parallelism,
      totalRate,
      durationMs,
      rampMs,
      scenario,
      jsonPath: pick("json", "LOADGEN_JSON").value,
      thresholds: parseThresholds(maxErrorRate, p99Flags, errorWhat),
      waitReadyMs: dur("wait-ready", "LOADGEN_WAIT_READY", 0),
      connections: num("connections", "LOADGEN_CONNECTIONS", 64, { min: 1, max: 10_000, integer: true }),
      timeoutMs,
      maxInFlight: num("max-in-flight", "LOADGEN_MAX_IN_FLIGHT", 10_000, { min: 1, max: 1_000_000, integer: true }),
      users,
      runId: runIdPick.value,
      shard: { index, count: parallelism },
    },
  };
}
