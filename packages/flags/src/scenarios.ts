// The named failure scenarios (issue 14): one flagd flag each, keyed by the scenario's name. A flag's
// value is a number (the scenario's V); the "off" variant is 0, "on" holds V. This table is the one list:
// deploy/flags/flags.json, the CLI and the docs are checked against it.

export interface Scenario {
  /** The flag key and the value of app.fault.name. */
  name: string;
  /** The process that reads the flag and acts on it. */
  service: "users" | "activities" | "notifications" | "api" | "loadgen";
  /** V when `fault on NAME` is given no --value. */
  defaultValue: number;
  /** What V means. */
  unit: "ms" | "%" | "KiB" | "×" | "switch";
  /** Largest V accepted (the CLI refuses more). */
  max: number;
  summary: string;
}

export const SCENARIOS = [
  { name: "users-slow", service: "users", defaultValue: 400, unit: "ms", max: 30_000, summary: "BatchGetUsers waits V ms" },
  { name: "activities-errors", service: "activities", defaultValue: 20, unit: "%", max: 100, summary: "V % of CreateActivity fail with INTERNAL" },
  { name: "notifications-stall", service: "notifications", defaultValue: 500, unit: "ms", max: 30_000, summary: "the stream consumer pauses V ms per entry" },
  { name: "redis-slow-timeline", service: "activities", defaultValue: 200, unit: "ms", max: 900, summary: "the home timeline read takes V ms more in Redis" },
  { name: "moderation-unreachable", service: "activities", defaultValue: 1, unit: "switch", max: 1, summary: "activities' calls to moderation fail" },
  { name: "api-memory-leak", service: "api", defaultValue: 64, unit: "KiB", max: 1024, summary: "api keeps V KiB per request (at most 256 MiB), released when off" },
  { name: "loadgen-surge", service: "loadgen", defaultValue: 3, unit: "×", max: 20, summary: "loadgen multiplies its rate by V" },
] as const satisfies readonly Scenario[];

export type ScenarioName = (typeof SCENARIOS)[number]["name"];

export function scenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
