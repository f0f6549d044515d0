import { bool, grpcAddress, int, logLevel, port, redisUrl, type LogLevel } from "@tracemesh/runtime";

export interface ApiConfig {
  port: number;
  usersAddr: string;
  activitiesAddr: string;
  notificationsAddr: string;
  /** Used only by /readyz to check that Redis answers (the api stores nothing). */
  redisUrl: string;
  logLevel: LogLevel;
  /** Budget for one HTTP request: every gRPC call it makes shares this deadline. */
  requestTimeoutMs: number;
  /** How long SIGTERM waits for in-flight requests before closing their connections. */
  drainTimeoutMs: number;
  /** Enables GET /api/debug/throw (the fault demo). Never on by default. */
  enableDebugRoutes: boolean;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ApiConfig {
  return {
    port: port(env, "PORT", 8080),
    usersAddr: grpcAddress(env, "USERS_ADDR", "localhost:50052"),
    activitiesAddr: grpcAddress(env, "ACTIVITIES_ADDR", "localhost:50051"),
    notificationsAddr: grpcAddress(env, "NOTIFICATIONS_ADDR", "localhost:50053"),
    redisUrl: redisUrl(env, "REDIS_URL", "redis://127.0.0.1:6379"),
    logLevel: logLevel(env),
    requestTimeoutMs: int(env, "REQUEST_TIMEOUT_MS", 3000, { min: 100, max: 60_000 }),
    drainTimeoutMs: int(env, "DRAIN_TIMEOUT_MS", 5000, { min: 0, max: 60_000 }),
    enableDebugRoutes: bool(env, "ENABLE_DEBUG_ROUTES", false),
  };
}
