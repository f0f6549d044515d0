// The one helper every service uses to ask whether a scenario is on: OpenFeature with the flagd provider in
// in-process mode, reading the offline flag file named by FLAGD_OFFLINE_FLAG_SOURCE_PATH (no flagd server).
// The provider polls the file (fs.watchFile, Node's default 5 s interval), so a switch reaches a running
// service within about 5 s, without a restart. Without the variable every scenario is off and OpenFeature
// is not started at all.
import fs from "node:fs";
import { trace, type Span } from "@opentelemetry/api";
import { FlagdProvider } from "@openfeature/flagd-provider";
import { OpenFeature, type Client } from "@openfeature/server-sdk";
import { FLAG_FILE_ENV } from "./file.js";
import type { ScenarioName } from "./scenarios.js";

/** What the helper needs of a logger (pino's Logger fits). */
export interface FaultLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface Faults {
  /** V of the scenario when it is on, undefined when off; the first evaluation after it was off logs one line. */
  value(name: ScenarioName): Promise<number | undefined>;
  /**
   * V of the scenario when it is on, undefined when off. When on, `span` (default: the active span) gets
   * app.fault.name and app.fault.value, and the first evaluation after it was off logs one line.
   */
  active(name: ScenarioName, span?: Span): Promise<number | undefined>;
  /** The flag file read, or undefined when faults are disabled. */
  readonly file: string | undefined;
  close(): Promise<void>;
}

export const FAULT_NAME_ATTRIBUTE = "app.fault.name";
export const FAULT_VALUE_ATTRIBUTE = "app.fault.value";

/** The attributes of a span a fault touched (for spans started elsewhere, e.g. a Redis pipeline's). */
export function faultAttributes(name: ScenarioName, value: number): Record<string, string | number> {
  return { [FAULT_NAME_ATTRIBUTE]: name, [FAULT_VALUE_ATTRIBUTE]: value };
}

/** Marks a span as touched by a fault. */
export function markFault(span: Span | undefined, name: ScenarioName, value: number): void {
  span?.setAttributes(faultAttributes(name, value));
}

/** The listener that holds the file's poller from before the provider's first read (see startFaults). */
function keepPolling(): void {}

const DISABLED: Faults = { value: async () => undefined, active: async () => undefined, file: undefined, close: async () => undefined };

/** Starts OpenFeature on the flag file of `env` (FLAGD_OFFLINE_FLAG_SOURCE_PATH); never throws. */
export async function startFaults(service: string, logger: FaultLogger, env: NodeJS.ProcessEnv = process.env): Promise<Faults> {
  const file = env[FLAG_FILE_ENV];
  if (!file) return DISABLED;
  // The provider starts polling the file only after its first read, and the poll's first snapshot is taken
  // later still: a switch written in between was never seen. Node keeps one poller per path, so starting it
  // here, before the read, gives the provider's listener a snapshot older than what it read.
  fs.watchFile(file, keepPolling);
  try {
    await OpenFeature.setProviderAndWait(new FlagdProvider({ resolverType: "in-process", offlineFlagSourcePath: file }));
  } catch (err) {
    fs.unwatchFile(file, keepPolling);
    // A service without its flag file still serves; the faults stay off.
    logger.warn({ file, err: (err as Error).message }, "fault flags unavailable; every scenario is off");
    return DISABLED;
  }
  logger.info({ file }, "fault flags read from file");
  return new FlagFaults(OpenFeature.getClient(service), file, logger);
}

class FlagFaults implements Faults {
  // The last value seen per scenario, so "starts acting" is logged once per switch, not per request.
  private readonly seen = new Map<ScenarioName, number>();

  constructor(
    private readonly client: Client,
    readonly file: string,
    private readonly logger: FaultLogger,
  ) {}

  async active(name: ScenarioName, span: Span | undefined = trace.getActiveSpan()): Promise<number | undefined> {
    const value = await this.value(name);
    if (value !== undefined) markFault(span, name, value);
    return value;
  }

  async value(name: ScenarioName): Promise<number | undefined> {
    const value = await this.client.getNumberValue(name, 0);
    const before = this.seen.get(name) ?? 0;
    if (value !== before) {
      this.seen.set(name, value);
      if (value > 0) this.logger.warn({ fault: name, value }, `fault ${name} is acting (value ${value})`);
      else this.logger.info({ fault: name }, `fault ${name} stopped`);
    }
    return value > 0 ? value : undefined;
  }

  async close(): Promise<void> {
    await OpenFeature.close();
    fs.unwatchFile(this.file, keepPolling);
  }
}
