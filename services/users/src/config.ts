import { int, logLevel, port, redisUrl, type LogLevel } from "@tracemesh/runtime";

type Env = Record<string, string | undefined>;

export interface UsersConfig {
  grpcPort: number;
  redisUrl: string;
  logLevel: LogLevel;
  redisCommandTimeoutMs: number;
  /** How long a session token stays valid after sign-up. */
  sessionTtlSeconds: number;
}

export function loadConfig(env: Env = process.env): UsersConfig {
  return {
    grpcPort: port(env, "GRPC_PORT", 50052),
    redisUrl: redisUrl(env, "REDIS_URL", "redis://127.0.0.1:6379"),
    logLevel: logLevel(env),
    redisCommandTimeoutMs: int(env, "REDIS_COMMAND_TIMEOUT_MS", 1000, { min: 1, max: 60_000 }),
    sessionTtlSeconds: int(env, "SESSION_TTL_SECONDS", 7 * 24 * 3600, { min: 1 }),
  };
}
