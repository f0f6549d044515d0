import Redis, { type RedisOptions } from "ioredis";
import type { Logger } from "./logger.js";

export type { Redis };

export interface RedisClientOptions {
  /** Every command fails after this long instead of hanging (ioredis `commandTimeout`). */
  commandTimeoutMs: number;
  /** Extra ioredis options, e.g. a longer timeout for a blocking XREADGROUP connection. */
  overrides?: RedisOptions;
}

/**
 * A Redis client that never blocks a request forever: commands time out, a dropped connection is
 * retried with capped backoff, and a command issued while disconnected fails after one retry.
 */
export function createRedis(url: string, logger: Logger, opts: RedisClientOptions): Redis {
  const client = new Redis(url, {
    commandTimeout: opts.commandTimeoutMs,
    connectTimeout: 5_000,
    maxRetriesPerRequest: 1,
    retryStrategy: (times) => Math.min(times * 100, 2_000),
    lazyConnect: false,
    ...opts.overrides,
  });
  let lastError = "";
  client.on("error", (err: Error) => {
    // ioredis emits the same connection error on every retry; log each distinct one once.
    if (err.message !== lastError) logger.warn({ err: err.message }, "redis connection error");
    lastError = err.message;
  });
  client.on("ready", () => {
    if (lastError) logger.info("redis connection restored");
    lastError = "";
  });
  return client;
}

/** Resolves once the client is ready, or rejects after timeoutMs. */
export function waitForRedis(client: Redis, timeoutMs: number): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      client.off("ready", onReady);
    };
    client.on("ready", onReady);
  });
}
