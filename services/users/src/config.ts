import { grpcServiceConfig, int, type GrpcServiceConfig } from "@tracemesh/runtime";

type Env = Record<string, string | undefined>;

export interface UsersConfig extends GrpcServiceConfig {
  /** How long a session token stays valid after sign-up. */
  sessionTtlSeconds: number;
}

export function loadConfig(env: Env = process.env): UsersConfig {
  return {
    ...grpcServiceConfig(env, 50052),
    sessionTtlSeconds: int(env, "SESSION_TTL_SECONDS", 7 * 24 * 3600, { min: 1 }),
  };
}
