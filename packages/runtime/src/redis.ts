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

// Socket-level failures: the connection could not be made, broke, or timed out.
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH", "ENOTFOUND", "EAI_AGAIN", "ECONNABORTED"]);
// Replies that mean "this Redis cannot serve now" (loading its data set, busy script, replica
// without master, persistence failing), not "this command is wrong".
const UNAVAILABLE_REPLY = /^(LOADING|BUSY|MASTERDOWN|TRYAGAIN|CLUSTERDOWN|NOREPLICAS|MISCONF|READONLY)\b/;
// ioredis' own texts for a command that never got an answer: commandTimeout, a closed or
// reconnecting connection, the offline queue being off, a failed connect.
const UNAVAILABLE_MESSAGE =
  /Command timed out|Connection is closed|Command aborted due to connection close|Stream isn't writeable|max retries per request|Socket timeout|connect ETIMEDOUT|Ready check failed/i;

/**
 * True when a Redis call failed because Redis could not be reached or could not serve, as opposed
 * to a bug or a bad command: the caller should answer UNAVAILABLE naming Redis, never INTERNAL.
 * Covers every way ioredis reports an outage (MaxRetriesPerRequestError, AbortError, command
 * timeouts, socket errors, LOADING and similar replies, and an EXECABORT caused only by those).
 */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === "MaxRetriesPerRequestError" || err.name === "AbortError" || err.name === "ClusterAllFailedError") return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === "string" && NETWORK_CODES.has(code)) return true;
  if (UNAVAILABLE_REPLY.test(err.message)) return true;
  if (err.message.startsWith("EXECABORT")) {
    const previous = (err as { previousErrors?: unknown }).previousErrors;
    return Array.isArray(previous) && previous.length > 0 && previous.every(isRedisUnavailable);
  }
  return UNAVAILABLE_MESSAGE.test(err.message) || [...NETWORK_CODES].some((c) => err.message.includes(c));
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
