import { ConfigError, int, logLevel, oneOf, port, str, type LogLevel } from "@tracemesh/runtime";

type Env = Record<string, string | undefined>;

/**
 * How moderation is traced (MODERATION_TRACING): `xray-sdk` — the AWS X-Ray SDK, segments over UDP to
 * an X-Ray daemon (the Collector's awsxray receiver), no OpenTelemetry SDK in the process; `otel` — the
 * OpenTelemetry SDK preloaded with `node --require @tracemesh/telemetry/register`, like every other
 * service, and the X-Ray SDK never loaded. docs/xray-migration.md walks from one to the other.
 */
export const MODERATION_TRACING_MODES = ["xray-sdk", "otel"] as const;
export type ModerationTracing = (typeof MODERATION_TRACING_MODES)[number];
/** The story the repository tells by default: a service not migrated yet. */
export const DEFAULT_MODERATION_TRACING: ModerationTracing = "xray-sdk";

export function moderationTracing(env: Env): ModerationTracing {
  return oneOf(env, "MODERATION_TRACING", MODERATION_TRACING_MODES, DEFAULT_MODERATION_TRACING);
}

export interface ModerationConfig {
  port: number;
  tracing: ModerationTracing;
  /**
   * xray-sdk only: where the X-Ray SDK sends its segments (UDP) and asks for sampling rules (TCP):
   * `host:port` for both, or `udp:host:port tcp:host:port` — the X-Ray daemon's own format. In
   * tracemesh it is the Collector's awsxray receiver.
   */
  xrayDaemonAddress?: string;
  /** How long SIGTERM waits for in-flight checks before closing their connections. */
  drainTimeoutMs: number;
  logLevel: LogLevel;
}

const HOST_PORT = /^[A-Za-z0-9.\-_\[\]:]*[A-Za-z0-9.\-_\]]:\d{1,5}$/;

/** Checks AWS_XRAY_DAEMON_ADDRESS the way the X-Ray SDK reads it (it throws at load time on a bad one). */
export function xrayDaemonAddress(env: Env): string {
  const value = str(env, "AWS_XRAY_DAEMON_ADDRESS", "127.0.0.1:2000");
  const parts = value.split(/\s+/);
  const ok =
    parts.length === 1
      ? HOST_PORT.test(value) && !/^(udp|tcp):/.test(value)
      : parts.length === 2 &&
        parts.map((p) => p.split(":")[0]).sort().join(",") === "tcp,udp" &&
        parts.every((p) => HOST_PORT.test(p.replace(/^(udp|tcp):/, "")));
  if (!ok) throw new ConfigError("AWS_XRAY_DAEMON_ADDRESS", `must be host:port or "udp:host:port tcp:host:port", got "${value}"`);
  return value;
}

export function loadConfig(env: Env = process.env): ModerationConfig {
  const tracing = moderationTracing(env);
  return {
    port: port(env, "PORT", 8090),
    tracing,
    // Read (and checked) only where the X-Ray SDK will read it.
    ...(tracing === "xray-sdk" ? { xrayDaemonAddress: xrayDaemonAddress(env) } : {}),
    drainTimeoutMs: int(env, "DRAIN_TIMEOUT_MS", 5000, { min: 0, max: 60_000 }),
    logLevel: logLevel(env),
  };
}
