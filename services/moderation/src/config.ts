import { ConfigError, logLevel, port, str, type LogLevel } from "@tracemesh/runtime";

type Env = Record<string, string | undefined>;

export interface ModerationConfig {
  port: number;
  /**
   * Where the X-Ray SDK sends its segments (UDP) and asks for sampling rules (TCP): `host:port` for
   * both, or `udp:host:port tcp:host:port` — the X-Ray daemon's own format. In tracemesh it is the
   * Collector's awsxray receiver.
   */
  xrayDaemonAddress: string;
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
  return {
    port: port(env, "PORT", 8090),
    xrayDaemonAddress: xrayDaemonAddress(env),
    logLevel: logLevel(env),
  };
}
