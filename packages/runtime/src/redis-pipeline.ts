import { context, ROOT_CONTEXT, SpanKind, trace, type Attributes } from "@opentelemetry/api";
import { suppressTracing } from "@opentelemetry/core";
import type { Redis } from "ioredis";
import { endSpanAfter } from "./spans.js";

/** One queued command: its name (lower case, as ioredis names its spans) and its arguments. */
export type PipelineCommand = [name: string, ...args: Array<string | number>];

const tracer = trace.getTracer("@tracemesh/runtime");

/**
 * Sends `commands` in one round trip (a non-transactional pipeline) and returns their replies in
 * order; the first command error is thrown.
 *
 * Traced as one client span `pipeline <commands>` rather than one span per command: a page of the
 * home feed reads 3 keys per activity, and 60+ ioredis spans for a single round trip cost more CPU
 * to record and export than the request itself (docs/benchmarks.md). The span carries
 * db.system.name=redis, so peer.service=redis and X-Ray's `redis` node still see the call; `attributes`
 * are added to it (e.g. the fault that slowed it).
 */
export function pipeline(redis: Redis, commands: PipelineCommand[], attributes: Attributes = {}): Promise<unknown[]> {
  return tracedBatch(redis, "pipeline", commands, () => redis.pipeline(commands).exec(), attributes);
}

/**
 * Runs `commands` atomically (MULTI … EXEC, one round trip) and returns their replies in order; the
 * first command error is thrown. Traced like `pipeline`, as one span `multi <commands>`.
 */
export function transaction(redis: Redis, commands: PipelineCommand[]): Promise<unknown[]> {
  return tracedBatch(redis, "multi", commands, () => redis.multi(commands).exec());
}

async function tracedBatch(
  redis: Redis,
  operation: "pipeline" | "multi",
  commands: PipelineCommand[],
  exec: () => Promise<Array<[Error | null, unknown]> | null>,
  extra: Attributes = {},
): Promise<unknown[]> {
  if (commands.length === 0) return [];
  const names = [...new Set(commands.map(([name]) => name.toLowerCase()))];
  const span = tracer.startSpan(`${operation} ${names.join(" ")}`, {
    kind: SpanKind.CLIENT,
    attributes: {
      "db.system.name": "redis",
      "db.operation.name": operation.toUpperCase(),
      "db.operation.batch.size": commands.length,
      "server.address": redis.options.host ?? "localhost",
      "server.port": redis.options.port ?? 6379,
      ...extra,
    },
  });
  // No per-command spans: in a context without a span, instrumentation-ioredis (requireParentSpan, its
  // default) passes each command straight through at its first check; suppressTracing covers the
  // case where it is configured without that.
  return endSpanAfter(span, async () => unwrapReplies(await context.with(suppressTracing(ROOT_CONTEXT), exec)));
}

/** The values of a pipeline's or MULTI's replies; throws the first command error (or when aborted). */
export function unwrapReplies(replies: Array<[Error | null, unknown]> | null): unknown[] {
  if (!replies) throw new Error("redis transaction aborted");
  return replies.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
