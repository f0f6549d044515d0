import { grpcAddress, grpcServiceConfig, int, type GrpcServiceConfig } from "@tracemesh/runtime";

type Env = Record<string, string | undefined>;

export interface ActivitiesConfig extends GrpcServiceConfig {
  /** The users service, asked for display names and for UserFeed's user. */
  usersAddr: string;
  /** Deadline of each call to users (also bounded by the incoming call's deadline). */
  usersDeadlineMs: number;
  /** Approximate cap of the events stream (XADD MAXLEN ~). */
  eventsMaxLen: number;
}

export function loadConfig(env: Env = process.env): ActivitiesConfig {
  return {
    ...grpcServiceConfig(env, 50051),
    usersAddr: grpcAddress(env, "USERS_ADDR", "localhost:50052"),
    usersDeadlineMs: int(env, "USERS_DEADLINE_MS", 300, { min: 1, max: 300 }),
    eventsMaxLen: int(env, "EVENTS_STREAM_MAXLEN", 100_000, { min: 1 }),
  };
}
