import os from "node:os";
import { grpcAddress, grpcServiceConfig, int, optionalStr, type GrpcServiceConfig } from "@tracemesh/runtime";

type Env = Record<string, string | undefined>;

export interface NotificationsConfig extends GrpcServiceConfig {
  /** The users service, asked which mentioned handles are users. */
  usersAddr: string;
  /** Deadline of each call to users; past it the entry stays pending and is retried. */
  usersDeadlineMs: number;
  consumer: ConsumerConfig;
}

export interface ConsumerConfig {
  /** This replica's name in the consumer group: POD_NAME, else hostname-pid. */
  consumerName: string;
  /** XREADGROUP BLOCK; the consumer's connection gets a command timeout above it. */
  blockMs: number;
  /** Pending entries idle longer than this are claimed from (presumably dead) consumers. */
  claimIdleMs: number;
  /** How often to look for such entries. */
  claimIntervalMs: number;
  /** An entry delivered more often than this goes to the dead-letter stream. */
  maxDeliveries: number;
  /** Notifications kept per user (older ones are trimmed). */
  perUserCap: number;
}

export function loadConfig(env: Env = process.env): NotificationsConfig {
  return {
    ...grpcServiceConfig(env, 50053),
    usersAddr: grpcAddress(env, "USERS_ADDR", "localhost:50052"),
    usersDeadlineMs: int(env, "USERS_DEADLINE_MS", 1000, { min: 1, max: 10_000 }),
    consumer: {
      consumerName: optionalStr(env, "POD_NAME") ?? `${os.hostname()}-${process.pid}`,
      blockMs: int(env, "EVENTS_BLOCK_MS", 2000, { min: 1, max: 5_000 }),
      claimIdleMs: int(env, "EVENTS_CLAIM_IDLE_MS", 30_000, { min: 1 }),
      claimIntervalMs: int(env, "EVENTS_CLAIM_INTERVAL_MS", 5_000, { min: 10 }),
      maxDeliveries: int(env, "EVENTS_MAX_DELIVERIES", 5, { min: 1 }),
      perUserCap: int(env, "NOTIFICATIONS_PER_USER", 500, { min: 1 }),
    },
  };
}
