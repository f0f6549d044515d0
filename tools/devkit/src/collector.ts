import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, freeUdpPort } from "./ports.js";
import { startProcess, type ManagedProcess } from "./process.js";
import { TOOL_BIN, TOOL_CACHE, repoRoot } from "./paths.js";
import { httpStatus, waitFor } from "./wait.js";
import { parseOtlpJsonLines, type Span } from "@tracemesh/trace-model";
import { STAND_IN_AWS_CREDENTIALS } from "./sinks/xray.js";

/** The two ways to X-Ray: PutTraceSegments (the awsxray exporter) or X-Ray's OTLP endpoint (SigV4). */
export const XRAY_EXPORTERS = ["awsxray", "otlp_http/xray"] as const;
export type XrayExporter = (typeof XRAY_EXPORTERS)[number];

/** XRAY_EXPORTER from the environment (the one local setting), awsxray when unset. */
export function xrayExporterFromEnv(env: NodeJS.ProcessEnv = process.env): XrayExporter {
  const value = env.XRAY_EXPORTER?.trim() || "awsxray";
  if (!(XRAY_EXPORTERS as readonly string[]).includes(value)) throw new Error(`XRAY_EXPORTER must be ${XRAY_EXPORTERS.join(" or ")}, got "${value}"`);
  return value as XrayExporter;
}

/**
 * The Collector configs local runs use: the shared config plus the local overlay, the file exporter's
 * overlay unless `fileExporter` is false (for runs that never read the spans back: it costs CPU per span),
 * and for X-Ray's OTLP endpoint the xray-otlp overlay (the Collector also needs XRAY_EXPORTER).
 */
export function localCollectorConfigs(xrayExporter: XrayExporter = "awsxray", opts: { fileExporter?: boolean } = {}): string[] {
  const dir = path.join(repoRoot(), "deploy", "collector");
  const configs = [path.join(dir, "config.yaml"), path.join(dir, "local.yaml")];
  if (opts.fileExporter ?? true) configs.push(path.join(dir, "file.yaml"));
  return xrayExporter === "otlp_http/xray" ? [...configs, path.join(dir, "xray-otlp.yaml")] : configs;
}

/**
 * Path of the Collector binary: OTELCOL_BIN, else the build of this checkout's deploy/collector/builder.yaml
 * (scripts/tools/20-collector.sh keeps one per manifest hash), else the last one built.
 */
export function findCollector(): string {
  const manifest = fs.readFileSync(path.join(repoRoot(), "deploy", "collector", "builder.yaml"));
  const hash = crypto.createHash("sha256").update(manifest).digest("hex").slice(0, 16);
  const ownBuild = path.join(TOOL_CACHE, "collector", hash, "otelcol-tracemesh");
  for (const candidate of [process.env.OTELCOL_BIN, ownBuild, path.join(TOOL_BIN, "otelcol-tracemesh")]) {
    if (candidate && fs.existsSync(candidate)) return candidate;
  }
  throw new Error("otelcol-tracemesh not found: run `bash scripts/tools/20-collector.sh` (builds the Collector, ~5 min once)");
}

/**
 * Environment that points the Collector's exporters at the local stand-ins: Honeycomb (with a team
 * key), X-Ray (with placeholder AWS credentials, so the AWS SDK neither finds real ones nor asks
 * the EC2 metadata service).
 */
export function standInCollectorEnv(opts: { honeycombUrl: string; honeycombKey: string; xrayEndpoint: string }): NodeJS.ProcessEnv {
  return {
    HONEYCOMB_ENDPOINT: opts.honeycombUrl,
    HONEYCOMB_API_KEY: opts.honeycombKey,
    XRAY_ENDPOINT: opts.xrayEndpoint,
    // The same stand-in answers X-Ray's OTLP endpoint (used when XRAY_EXPORTER=otlp_http/xray).
    XRAY_OTLP_ENDPOINT: `${opts.xrayEndpoint}/v1/traces`,
    AWS_REGION: "us-east-1",
    AWS_ACCESS_KEY_ID: STAND_IN_AWS_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: STAND_IN_AWS_CREDENTIALS.secretAccessKey,
    AWS_EC2_METADATA_DISABLED: "true",
  };
}

export interface LocalCollector {
  /** OTLP/HTTP base URL (OTEL_EXPORTER_OTLP_ENDPOINT for the services). */
  otlpHttpUrl: string;
  /** OTLP/gRPC address host:port. */
  otlpGrpcAddress: string;
  /** UDP port of the awsxray receiver (X-Ray daemon protocol). */
  xrayUdpPort: number;
  healthUrl: string;
  /** Where the file exporter writes OTLP JSON lines (when the config has it). */
  tracesFile: string;
  /** The Prometheus scrape URL of the RED metrics (the spanmetrics and servicegraph connectors). */
  metricsUrl: string;
  /** One scrape of metricsUrl: the Prometheus text exposition. */
  scrapeMetrics(): Promise<string>;
  /** A scrape once the RED metrics stopped changing for `quietMs` (settledScrape; bounded). */
  settledMetrics(opts?: { intervalMs?: number; quietMs?: number; timeoutMs?: number }): Promise<string>;
  process: ManagedProcess;
  /** The spans written to tracesFile so far. */
  fileSpans(): Span[];
  stop(): Promise<void>;
}

/**
 * What the servicegraph connector still counts after the last span arrived: a client span nobody answered
 * becomes a virtual-node edge only once the store's ttl (5 s, config.yaml) and its expiration loop (2 s) are
 * past, and the next flush (RED_FLUSH_INTERVAL, 1 s locally) hands it on.
 */
export const RED_SETTLE_MS = 8_000;

/**
 * Scrapes until the RED metrics have not changed for `quietMs` (default RED_SETTLE_MS): every span that arrived
 * has been counted, paired or expired, and flushed. Bounded by `timeoutMs`; throws past it.
 */
export async function settledScrape(scrape: () => Promise<string>, opts: { intervalMs?: number; quietMs?: number; timeoutMs?: number } = {}): Promise<string> {
  const intervalMs = opts.intervalMs ?? 1_000;
  const quietMs = opts.quietMs ?? RED_SETTLE_MS;
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  let previous = await scrape();
  let unchangedSince = Date.now();
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, intervalMs));
    const next = await scrape();
    if (next !== previous) {
      previous = next;
      unchangedSince = Date.now();
    } else if (Date.now() - unchangedSince >= quietMs) {
      return next;
    }
  }
  throw new Error(`the Collector's RED metrics were still changing after ${timeoutMs} ms`);
}

/**
 * Runs the real Collector (otelcol-tracemesh) on free loopback ports with the given configs
 * (default: config.yaml + local.yaml + file.yaml) and waits, bounded, until its health_check answers 200.
 * `env` is added to a clean environment (PATH, HOME): the host's keys never leak in by accident.
 */
export async function startCollector(
  opts: {
    configs?: string[];
    env?: NodeJS.ProcessEnv;
    echo?: boolean;
    readyTimeoutMs?: number;
    tracesFile?: string;
    /** Which X-Ray exporter the pipeline uses (default awsxray); picks the configs when `configs` is not given. */
    xrayExporter?: XrayExporter;
    /** How often the RED connectors hand on their metrics (default 1s: a local run wants them at once). */
    redFlushInterval?: string;
    /** Write every span to tracesFile (default true); picks the configs when `configs` is not given. */
    fileExporter?: boolean;
    /**
     * Rotate tracesFile (the file exporter's `rotation`): past `maxMegabytes` it is renamed with a timestamp and a
     * new one started; only the newest `maxBackups` renamed files are kept. For runs that never end (the demo's
     * --keep-running); without it the file keeps every span, which is what runs that read it back need.
     */
    tracesFileRotation?: { maxMegabytes: number; maxBackups: number };
    /** Another build of the Collector (default: findCollector()), e.g. an older version beside this one. */
    binary?: string;
  } = {},
): Promise<LocalCollector> {
  const [grpcPort, httpPort, healthPort, proxyPort, metricsPort, udpPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freeUdpPort(),
  ]);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tracemesh-collector-"));
  const tracesFile = opts.tracesFile ?? path.join(dir, "traces.jsonl");
  const xrayExporter = opts.xrayExporter ?? "awsxray";
  const configs = [...(opts.configs ?? localCollectorConfigs(xrayExporter, { fileExporter: opts.fileExporter }))];
  if (opts.tracesFileRotation) {
    // An overlay on file.yaml's exporter, after it: the Collector merges the configs in order.
    const { maxMegabytes, maxBackups } = opts.tracesFileRotation;
    const overlay = path.join(dir, "traces-file-rotation.yaml");
    fs.writeFileSync(overlay, `exporters:\n  file/traces:\n    rotation:\n      max_megabytes: ${maxMegabytes}\n      max_backups: ${maxBackups}\n`);
    configs.push(overlay);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    AWS_EC2_METADATA_DISABLED: "true",
    ...opts.env,
    OTLP_GRPC_ENDPOINT: `127.0.0.1:${grpcPort}`,
    OTLP_HTTP_ENDPOINT: `127.0.0.1:${httpPort}`,
    HEALTH_ENDPOINT: `127.0.0.1:${healthPort}`,
    XRAY_UDP_ENDPOINT: `127.0.0.1:${udpPort}`,
    XRAY_PROXY_ENDPOINT: `127.0.0.1:${proxyPort}`,
    PROMETHEUS_ENDPOINT: `127.0.0.1:${metricsPort}`,
    RED_FLUSH_INTERVAL: opts.redFlushInterval ?? "1s",
    TRACEMESH_TRACES_FILE: tracesFile,
    XRAY_EXPORTER: xrayExporter,
  };
  const args = configs.flatMap((c) => ["--config", c]);
  const proc = startProcess("otelcol", opts.binary ?? findCollector(), args, { env, echo: opts.echo });
  const healthUrl = `http://127.0.0.1:${healthPort}/`;
  try {
    await waitFor(
      "the Collector's health_check",
      async () => {
        if (proc.child.exitCode !== null) throw new Error(`Collector exited with ${proc.child.exitCode}`);
        return (await httpStatus(healthUrl, 500)) === 200;
      },
      { timeoutMs: opts.readyTimeoutMs ?? 20_000, intervalMs: 100 },
    );
  } catch (err) {
    await proc.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}\n${proc.output().slice(-4000)}`);
  }
  const metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
  const scrapeMetrics = async () => {
    const res = await fetch(metricsUrl, { signal: AbortSignal.timeout(5_000) });
    if (!res.ok) throw new Error(`GET ${metricsUrl}: ${res.status}`);
    return res.text();
  };
  return {
    otlpHttpUrl: `http://127.0.0.1:${httpPort}`,
    otlpGrpcAddress: `127.0.0.1:${grpcPort}`,
    xrayUdpPort: udpPort,
    healthUrl,
    tracesFile,
    metricsUrl,
    scrapeMetrics,
    settledMetrics: (o = {}) => settledScrape(scrapeMetrics, o),
    process: proc,
    fileSpans: () => (fs.existsSync(tracesFile) ? parseOtlpJsonLines(fs.readFileSync(tracesFile, "utf8")) : []),
    stop: async () => {
      await proc.stop(10_000);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
