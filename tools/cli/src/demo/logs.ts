// The demo's logs step: every mesh process writes its output to a file in the kubelet's CRI format (demo.ts passes
// the folder to the mesh), the real Fluent Bit tails that folder with the configuration users deploy and ships
// each line to a local CloudWatch Logs stand-in (HTTPS, its own CA, SigV4 checked), and the services report errors
// to a local Rollbar stand-in. After the load it switches a failure scenario on for one request of its own
// (activities-errors, its own traceparent), and at the end shows that request as `tracemesh trace` does: the
// waterfall with its log lines read back with FilterLogEvents, and its Rollbar item.
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  STAND_IN_AWS_CREDENTIALS,
  makeStandInTls,
  startCloudWatchLogsStandIn,
  startFluentBit,
  startRollbarStandIn,
  type CloudWatchLogsStandIn,
  type LocalFluentBit,
  type RollbarStandIn,
  type StoredLogEvent,
} from "@tracemesh/devkit";
import { readFlagFile, switchFault, writeFlagFile } from "@tracemesh/flags";
import type { Mesh } from "@tracemesh/mesh";
import { spansFromOtlpFiles } from "@tracemesh/trace-model";
import { makeCloudWatchLogsClient } from "../cloudwatch-logs.js";
import { lookUpTrace, renderTrace } from "../trace.js";
import type { DemoExtension, RunningDemoOptions } from "./demo.js";

const ROLLBAR_TOKEN = "demo-rollbar-post-server-item";
const ROLLBAR_READ_TOKEN = "demo-rollbar-read";
/** The `msg` of the one line per request, RPC and stream event (@tracemesh/runtime request-log.ts). */
const REQUEST_MESSAGES = new Set(["request", "rpc", "event"]);

export interface LogsDemoOptions {
  /** Where the Collector's file export is (the telemetry step's), to tell which trace ids were exported. */
  tracesFile: () => string;
  /** The CA and certificate of the CloudWatch Logs stand-in go here. */
  outDir: string;
  write?: (text: string) => void;
  echo?: boolean;
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** The demo's log summary: events per stream, the share of request lines with an exported trace id, delivery time. */
export function demoLogSummary(events: readonly StoredLogEvent[], exportedTraceIds: ReadonlySet<string>): string[] {
  const perStream = new Map<string, number>();
  for (const e of events) perStream.set(e.logStreamName, (perStream.get(e.logStreamName) ?? 0) + 1);
  const records = events.map((e) => {
    try {
      return JSON.parse(e.message) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  });
  const requests = records.filter((r) => REQUEST_MESSAGES.has(String(r?.msg)));
  const traced = requests.filter((r) => exportedTraceIds.has(String(r?.trace_id)));
  const anyTraced = records.filter((r) => exportedTraceIds.has(String(r?.trace_id)));
  // From the line written (the CRI time, the event's timestamp) to the line stored (its ingestion time).
  const delays = events.map((e) => e.ingestionTime - e.timestamp).sort((a, b) => a - b);
  const pct = (n: number, of: number) => (of === 0 ? "—" : `${((n / of) * 100).toFixed(1)} %`);
  return [
    `CloudWatch Logs stand-in received ${events.length} log events in ${perStream.size} streams:`,
    ...[...perStream].sort(([a], [b]) => a.localeCompare(b)).map(([stream, n]) => `  ${String(n).padStart(6)}  ${stream}`),
    `request lines (request, rpc, event) with the trace id of an exported span: ${traced.length} of ${requests.length} (${pct(traced.length, requests.length)}); ` +
      `all lines: ${anyTraced.length} of ${events.length} (${pct(anyTraced.length, events.length)})`,
    `from a line written to stored in CloudWatch Logs: p50 ${percentile(delays, 50)} ms, p99 ${percentile(delays, 99)} ms`,
  ];
}

export function logsDemo(options: LogsDemoOptions): DemoExtension {
  const say = (line: string) => process.stderr.write(`\x1b[1;34m[demo]\x1b[0m ${line}\n`);
  const write = options.write ?? ((text: string) => void process.stdout.write(text));
  let cloudwatch: CloudWatchLogsStandIn | undefined;
  let rollbar: RollbarStandIn | undefined;
  let fluentBit: LocalFluentBit | undefined;
  let logDir = "";
  let failedTraceId: string | undefined;

  const stopFluentBit = async () => {
    const fb = fluentBit;
    fluentBit = undefined;
    await fb?.stop();
  };

  return {
    name: "logs",

    async beforeMesh(opts: RunningDemoOptions): Promise<void> {
      logDir = opts.logDir;
      const tls = makeStandInTls(path.join(options.outDir, "tls"));
      cloudwatch = await startCloudWatchLogsStandIn({ tls, retention: opts.retention });
      rollbar = await startRollbarStandIn({ accessToken: ROLLBAR_TOKEN, readToken: ROLLBAR_READ_TOKEN, retention: opts.retention });
      // A fresh state each run: offsets and buffers of the last run's files must not meet this run's.
      const stateDir = path.join(options.outDir, "fluent-bit");
      fs.rmSync(stateDir, { recursive: true, force: true });
      fluentBit = await startFluentBit({ logDir, endpoint: cloudwatch.url, caFile: tls.caFile, stateDir, echo: options.echo });
      say(`CloudWatch Logs: local stand-in ${cloudwatch.url} (HTTPS, its CA ${tls.caFile}; SigV4 checked); Rollbar: stand-in ${rollbar.apiUrl}`);
      say(`Fluent Bit ${fluentBit.httpUrl}: tails ${logDir}/*.log → ${fluentBit.logGroup}`);
    },

    env: () => (rollbar ? { ROLLBAR_ACCESS_TOKEN: ROLLBAR_TOKEN, ROLLBAR_ENDPOINT: rollbar.endpoint } : {}),

    urls: () =>
      cloudwatch && fluentBit && rollbar
        ? [
            `  cloudwatch-logs: ${cloudwatch.url}   (log group ${fluentBit.logGroup}; CA ${cloudwatch.tls.caFile}; keys AKIDSTANDIN0000000000 / stand-in-secret)`,
            `  fluent-bit     ${fluentBit.httpUrl}   (tails ${logDir}/*.log)`,
            `  rollbar        ${rollbar.apiUrl}   (read token ${ROLLBAR_READ_TOKEN})`,
          ]
        : [],

    /** One request that fails on purpose: activities-errors at 100 %, a post with its own traceparent. */
    async afterLoad(mesh: Mesh, opts: RunningDemoOptions): Promise<void> {
      // This demo's flag file: a second demo beside another (--flag-file) must not switch the first one's.
      const { flagFile } = opts;
      writeFlagFile(flagFile, switchFault(readFlagFile(flagFile), "activities-errors", 100, true));
      try {
        const signUp = await fetch(`${mesh.apiUrl}/api/users`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ handle: `fault${Date.now() % 100000}`, display_name: "Fault demo" }),
          signal: AbortSignal.timeout(5000),
        });
        const token = ((await signUp.json()) as { token?: string }).token;
        // The services read the flag file every ~5 s: a bounded wait for the first failing post.
        const deadline = Date.now() + 20_000;
        while (Date.now() < deadline && !failedTraceId) {
          const traceId = crypto.randomBytes(16).toString("hex");
          const res = await fetch(`${mesh.apiUrl}/api/activities`, {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${token}`, traceparent: `00-${traceId}-${crypto.randomBytes(8).toString("hex")}-01` },
            body: JSON.stringify({ message: "a post that meets activities-errors", ttl: "1-day" }),
            signal: AbortSignal.timeout(5000),
          });
          await res.arrayBuffer();
          if (res.status === 500) failedTraceId = traceId;
          else await new Promise((r) => setTimeout(r, 500));
        }
        say(failedTraceId ? `activities-errors on for one post: it failed (500), trace ${failedTraceId}` : "activities-errors: no post failed within 20 s");
      } finally {
        writeFlagFile(flagFile, switchFault(readFlagFile(flagFile), "activities-errors", undefined, false));
      }
    },

    async afterMesh(): Promise<void> {
      if (!cloudwatch || !fluentBit || !rollbar) return;
      const group = fluentBit.logGroup;
      // Every process has exited: Fluent Bit sends what it still holds as it stops.
      await stopFluentBit();
      const spansFile = options.tracesFile();
      const exported = new Set(fs.existsSync(spansFile) ? spansFromOtlpFiles([spansFile]).map((s) => s.traceId) : []);
      const out = ["", "── Logs: every process's output → its file → Fluent Bit → CloudWatch Logs (stand-in)", ""];
      out.push(...demoLogSummary(cloudwatch.store.events(group), exported));
      out.push(`the processes' own logs: ${logDir}/<service>.log (CRI format, as the kubelet writes them)`, "");
      if (failedTraceId) {
        const view = await lookUpTrace({
          traceId: failedTraceId,
          otlpFiles: fs.existsSync(spansFile) ? [spansFile] : [],
          logs: { client: makeCloudWatchLogsClient({ region: "us-east-1", endpoint: cloudwatch.url, caFile: cloudwatch.tls.caFile, credentials: STAND_IN_AWS_CREDENTIALS }), logGroup: group },
          rollbar: { readToken: ROLLBAR_READ_TOKEN, apiUrl: rollbar.apiUrl },
        });
        out.push(
          `── The failed request, from its trace to its logs and its error — pnpm tracemesh trace ${failedTraceId} --otlp ${spansFile} --log-group ${group}`,
          renderTrace(view, { width: Math.min(150, process.stdout.columns || 130) }),
        );
      }
      write(out.join("\n") + "\n");
    },

    async stop(): Promise<void> {
      await stopFluentBit();
      await cloudwatch?.stop();
      await rollbar?.stop();
    },
  };
}
