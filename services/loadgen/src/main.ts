#!/usr/bin/env node
// CLI: `loadgen [flags]` runs the load; `loadgen merge a.json b.json …` merges summaries exactly.
// Exit status: 0 ok, 1 threshold breached or the run could not start, 2 bad usage.
import fs from "node:fs";
import { trace } from "@opentelemetry/api";
import type { FaultLogger } from "@tracemesh/flags";
import { FLAG_FILE_ENV, parseCommand, USAGE, type RunConfig } from "./config.js";
import { UsageError } from "./errors.js";
import { LoadError, runLoad } from "./run.js";
import { checkThresholds, formatSummary, mergeSummaries, parseSummary, type Summary, type Thresholds } from "./stats.js";

// loadgen is a command with a human-readable output, not a service: the fault helper's lines read like its own.
const fields = (obj: object) => Object.entries(obj).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ");
const stderrLogger: FaultLogger = {
  info: (obj, msg) => process.stderr.write(`loadgen: ${msg} (${fields(obj)})\n`),
  warn: (obj, msg) => process.stderr.write(`loadgen: warning: ${msg} (${fields(obj)})\n`),
};

function writeJson(path: string, summary: Summary): void {
  fs.writeFileSync(path, JSON.stringify(summary, null, 2) + "\n");
  process.stderr.write(`loadgen: summary written to ${path}\n`);
}

/** Prints the table, writes --json, reports each breached threshold; returns the exit status. */
function finish(summary: Summary, jsonPath: string | undefined, thresholds: Thresholds): number {
  process.stdout.write(formatSummary(summary) + "\n");
  if (jsonPath) writeJson(jsonPath, summary);
  const breaches = checkThresholds(summary, thresholds);
  for (const line of breaches) process.stderr.write(`${line}\n`);
  return breaches.length > 0 ? 1 : 0;
}

async function run(config: RunConfig): Promise<number> {
  const abort = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    // First signal: stop scheduling, drain, print the summary. Second: give up at once.
    if (++signals > 1) process.exit(130);
    process.stderr.write(`\nloadgen: ${sig}, stopping (waiting for in-flight requests)\n`);
    abort.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // @tracemesh/flags loads OpenFeature and flagd's gRPC provider (~0.15 s of CPU): only when there is a flag file.
  const faults = process.env[FLAG_FILE_ENV]
    ? await (require("@tracemesh/flags") as typeof import("@tracemesh/flags")).startFaults("loadgen", stderrLogger)
    : undefined;
  const summary = await runLoad({
    baseUrl: config.baseUrl,
    rate: config.rate,
    reportedTargetRate: config.rate,
    durationMs: config.durationMs,
    rampMs: config.rampMs,
    scenario: config.scenario,
    users: config.users,
    connections: config.connections,
    timeoutMs: config.timeoutMs,
    maxInFlight: config.maxInFlight,
    runId: config.runId,
    shard: config.shard,
    waitReadyMs: config.waitReadyMs,
    // After a signal, don't wait the whole request timeout: Kubernetes gives 30 s by default.
    drainMs: Math.min(config.timeoutMs + 1000, 10_000),
    signal: abort.signal,
    faults,
  });
  await faults?.close();
  if (config.shard.count > 1) {
    summary.shard = config.shard;
    summary.job_target_rate = config.totalRate;
  }
  return finish(summary, config.jsonPath, config.thresholds);
}

function merge(files: string[], jsonPath: string | undefined, thresholds: Thresholds): number {
  const summaries = files.map((file) => {
    let text: string;
    try {
      text = fs.readFileSync(file, "utf8");
    } catch (err) {
      throw new UsageError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    return parseSummary(text, file);
  });
  return finish(mergeSummaries(summaries), jsonPath, thresholds);
}

async function main(): Promise<number> {
  try {
    const command = parseCommand(process.argv.slice(2));
    if (command.kind === "help") {
      process.stdout.write(USAGE + "\n");
      return 0;
    }
    if (command.kind === "merge") return merge(command.files, command.jsonPath, command.thresholds);
    return await run(command.config);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`loadgen: ${err.message}\n(run with --help for usage)\n`);
      return 2;
    }
    if (err instanceof LoadError) {
      process.stderr.write(`loadgen: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}

/** With OTel active, export the flow spans before exiting (bounded); a no-op otherwise. */
async function flushSpans(): Promise<void> {
  const provider = trace.getTracerProvider() as { getDelegate?: () => { forceFlush?: () => Promise<void> } };
  const flush = provider.getDelegate?.().forceFlush?.();
  if (flush) await Promise.race([flush.catch(() => undefined), new Promise((r) => setTimeout(r, 3000).unref())]);
}

main().then(
  async (code) => {
    await flushSpans();
    process.exit(code);
  },
  (err: unknown) => {
    process.stderr.write(`loadgen: unexpected error: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
