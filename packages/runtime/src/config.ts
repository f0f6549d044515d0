// Configuration comes only from the environment. Each service declares what it reads with these
// parsers; a bad value stops the process with one line naming the variable (see exitOnConfigError).

export class ConfigError extends Error {
  constructor(readonly variable: string, detail: string) {
    super(`invalid configuration: ${variable} ${detail}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

function raw(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

export function str(env: Env, name: string, fallback: string): string {
  return raw(env, name) ?? fallback;
}

export function optionalStr(env: Env, name: string): string | undefined {
  return raw(env, name);
}

export function int(env: Env, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!/^-?\d+$/.test(value)) throw new ConfigError(name, `must be an integer, got "${value}"`);
  const n = Number(value);
  if (range.min !== undefined && n < range.min) throw new ConfigError(name, `must be >= ${range.min}, got ${n}`);
  if (range.max !== undefined && n > range.max) throw new ConfigError(name, `must be <= ${range.max}, got ${n}`);
  return n;
}

export function port(env: Env, name: string, fallback: number): number {
  // 0 asks the OS for a free port (used by tests).
  return int(env, name, fallback, { min: 0, max: 65535 });
}

export function bool(env: Env, name: string, fallback: boolean): boolean {
  const value = raw(env, name)?.toLowerCase();
  if (value === undefined) return fallback;
  if (["1", "true", "yes", "on"].includes(value)) return true;
  if (["0", "false", "no", "off"].includes(value)) return false;
  throw new ConfigError(name, `must be true or false, got "${value}"`);
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = raw(env, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(", ")}, got "${value}"`);
  }
  return value as T;
}

/** A gRPC target such as `localhost:50052` or `dns:///users:50052`. */
export function grpcAddress(env: Env, name: string, fallback: string): string {
  const value = raw(env, name) ?? fallback;
  if (!/^([a-z]+:\/\/\/?)?[A-Za-z0-9.\-_\[\]:]+:\d{1,5}$/.test(value)) {
    throw new ConfigError(name, `must be host:port, got "${value}"`);
  }
  return value;
}

/** A URL whose scheme is one of `schemes` (e.g. ["redis", "rediss"]); the message names the first two. */
function urlOf(env: Env, name: string, fallback: string, schemes: [string, string]): string {
  const value = raw(env, name) ?? fallback;
  let parsed: URL | undefined;
  try {
    parsed = new URL(value);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !schemes.includes(parsed.protocol.slice(0, -1))) {
    throw new ConfigError(name, `must be a URL starting with ${schemes[0]}:// or ${schemes[1]}://, got "${value}"`);
  }
  return value;
}

export function redisUrl(env: Env, name: string, fallback: string): string {
  return urlOf(env, name, fallback, ["redis", "rediss"]);
}

/** An http(s) base URL such as `http://api:8080` (a trailing slash is dropped). */
export function httpUrl(env: Env, name: string, fallback: string): string {
  return urlOf(env, name, fallback, ["http", "https"]).replace(/\/+$/, "");
}

/** httpUrl for a variable whose absence means "off": undefined when unset. */
export function optionalHttpUrl(env: Env, name: string): string | undefined {
  return raw(env, name) === undefined ? undefined : httpUrl(env, name, "");
}

export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export function logLevel(env: Env): LogLevel {
  return oneOf(env, "LOG_LEVEL", LOG_LEVELS, "info");
}

/** What every gRPC service backed by Redis reads (users, activities, notifications). */
export interface GrpcServiceConfig {
  grpcPort: number;
  redisUrl: string;
  logLevel: LogLevel;
  redisCommandTimeoutMs: number;
}

/** GRPC_PORT (default per service), REDIS_URL, LOG_LEVEL and REDIS_COMMAND_TIMEOUT_MS. */
export function grpcServiceConfig(env: Env, defaultGrpcPort: number): GrpcServiceConfig {
  return {
    grpcPort: port(env, "GRPC_PORT", defaultGrpcPort),
    redisUrl: redisUrl(env, "REDIS_URL", "redis://127.0.0.1:6379"),
    logLevel: logLevel(env),
    redisCommandTimeoutMs: int(env, "REDIS_COMMAND_TIMEOUT_MS", 1000, { min: 1, max: 60_000 }),
  };
}

/**
 * Runs a config loader; on ConfigError prints its one line to stderr and exits with status 2.
 * Anything else is a bug and is rethrown.
 */
export function loadConfigOrExit<T>(load: () => T): T {
  try {
    return load();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}
