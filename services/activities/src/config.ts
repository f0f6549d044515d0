import { grpcAddress, grpcServiceConfig, int, optionalHttpUrl, type GrpcServiceConfig } from "@tracemesh/runtime";

type Env = Record<string, string | undefined>;

export interface ActivitiesConfig extends GrpcServiceConfig {
  /** The users service, asked for the display names of what feeds show and for UserFeed's user. */
  usersAddr: string;
  /** Deadline of each call to users (also bounded by the incoming call's deadline). */
  usersDeadlineMs: number;
  /** Approximate cap of the events stream (XADD MAXLEN ~). */
  eventsMaxLen: number;
  /** The moderation service (http://host:port); undefined = posts and replies are not moderated. */
  moderationUrl: string | undefined;
  /** Deadline of each moderation check (also bounded by the incoming call's deadline). */
  moderationDeadlineMs: number;
}

export function loadConfig(env: Env = process.env): ActivitiesConfig {
  return {
    ...grpcServiceConfig(env, 50051),
    usersAddr: grpcAddress(env, "USERS_ADDR", "localhost:50052"),
    usersDeadlineMs: int(env, "USERS_DEADLINE_MS", 300, { min: 1, max: 300 }),
    eventsMaxLen: int(env, "EVENTS_STREAM_MAXLEN", 100_000, { min: 1 }),
    moderationUrl: optionalHttpUrl(env, "MODERATION_URL"),
    moderationDeadlineMs: int(env, "MODERATION_DEADLINE_MS", 300, { min: 1, max: 2000 }),
  };
}
