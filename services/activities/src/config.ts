import { grpcAddress, int, logLevel, port, redisUrl, type LogLevel } from "@tracemesh/runtime";

type Env = Record<string, string | undefined>;

export interface ActivitiesConfig {
  grpcPort: number;
  redisUrl: string;
  logLevel: LogLevel;
  redisCommandTimeoutMs: number;
  /** The users service, asked for display names and for UserFeed's user. */
  usersAddr: string;
  /** Deadline of each call to users (also bounded by the incoming call's deadline). */
  usersDeadlineMs: number;
  /** Approximate cap of the events stream (XADD MAXLEN ~). */
  eventsMaxLen: number;
}

export function loadConfig(env: Env = process.env): ActivitiesConfig {
  return {
    grpcPort: port(env, "GRPC_PORT", 50051),
    redisUrl: redisUrl(env, "REDIS_URL", "redis://127.0.0.1:6379"),
    logLevel: logLevel(env),
    redisCommandTimeoutMs: int(env, "REDIS_COMMAND_TIMEOUT_MS", 1000, { min: 1, max: 60_000 }),
    usersAddr: grpcAddress(env, "USERS_ADDR", "localhost:50052"),
    usersDeadlineMs: int(env, "USERS_DEADLINE_MS", 300, { min: 1, max: 300 }),
    eventsMaxLen: int(env, "EVENTS_STREAM_MAXLEN", 100_000, { min: 1 }),
  };
}
