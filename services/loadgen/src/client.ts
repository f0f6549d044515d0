// HTTP to the API through one undici Pool (keep-alive, bounded connections, header/body timeouts), and how
// requests are marked synthetic: a `baggage: synthetic=true` header, or the same baggage carried in the
// OpenTelemetry context when OTel is active so the propagator writes it exactly once.
import diagnosticsChannel from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";
import { Pool, errors as undiciErrors, type Dispatcher } from "undici";
import { ROOT_CONTEXT, context, isSpanContextValid, propagation, trace, type Context } from "@opentelemetry/api";
import type { RouteStats } from "./stats.js";

export type Headers = Record<string, string>;
export const SYNTHETIC_BAGGAGE = "synthetic=true";
const USER_AGENT = "tracemesh-loadgen";

/** How this process marks and propagates, decided once from what is registered with @opentelemetry/api. */
export interface Marking {
  /** A real tracer provider is registered: flows get root spans. */
  otelActive: boolean;
  /** The baggage lives in the flow's context (the propagator writes the header), not in our static headers. */
  baggageInContext: boolean;
  /** instrumentation-undici listens on undici's diagnostics channel and injects context into each request. */
  undiciInstrumented: boolean;
  /** OTel is active but nothing injects for us: we call propagation.inject per request. */
  selfInject: boolean;
  /** The context every flow starts from (root context + synthetic baggage when baggageInContext). */
  baseContext: Context;
}

export function detectMarking(): Marking {
  const probe = trace.getTracer("@tracemesh/loadgen").startSpan("probe"); // never ended, so never exported
  const otelActive = isSpanContextValid(probe.spanContext());
  const baggageContext = propagation.setBaggage(ROOT_CONTEXT, propagation.createBaggage({ synthetic: { value: "true" } }));
  const carrier: Headers = {};
  propagation.inject(baggageContext, carrier);
  const propagatorWritesBaggage = (carrier.baggage ?? "").includes(SYNTHETIC_BAGGAGE);
  const undiciInstrumented = diagnosticsChannel.channel("undici:request:create").hasSubscribers;
  const baggageInContext = propagatorWritesBaggage && (otelActive || undiciInstrumented);
  return {
    otelActive,
    baggageInContext,
    undiciInstrumented,
    selfInject: otelActive && !undiciInstrumented,
    baseContext: baggageInContext ? baggageContext : ROOT_CONTEXT,
  };
}

export interface ClientOptions {
  connections: number;
  timeoutMs: number;
}

/** One API endpoint; every call is timed from its intended send time and recorded on its route. */
export class ApiClient {
  readonly pool: Pool;
  /** Headers for anonymous calls (shared, never mutated). */
  readonly anonymousHeaders: Headers;

  constructor(readonly baseUrl: string, readonly marking: Marking, opts: ClientOptions) {
    this.pool = new Pool(baseUrl, {
      connections: opts.connections,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      connectTimeout: Math.min(opts.timeoutMs, 10_000),
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
    });
    this.anonymousHeaders = this.headers({});
  }

  /** Static headers for a caller: user agent, the synthetic baggage unless OTel carries it, plus `extra`. */
  headers(extra: Headers): Headers {
    const h: Headers = { "user-agent": USER_AGENT, ...extra };
    if (!this.marking.baggageInContext) h.baggage = SYNTHETIC_BAGGAGE;
    return h;
  }

  /**
   * Sends one request; resolves to the parsed JSON body (readJson) or null, or undefined when it failed.
   * Uses pool.dispatch with a small handler rather than pool.request: no response stream per request,
   * and the body is only buffered when it is read.
   */
  call(
    stats: RouteStats,
    intendedAt: number,
    method: "GET" | "POST",
    path: string,
    headers: Headers,
    body: string | undefined,
    readJson: boolean,
  ): Promise<unknown> {
    if (this.marking.selfInject) {
      headers = { ...headers };
      propagation.inject(context.active(), headers);
    }
    return new Promise((resolve) => {
      const handler = new CallHandler(stats, intendedAt, readJson, resolve);
      try {
        this.pool.dispatch({ method, path, headers, body }, handler);
      } catch (err) {
        handler.onError(err as Error);
      }
    });
  }

  /** Polls GET /readyz until it answers 200, for at most waitMs; returns the last failure otherwise. */
  async waitReady(waitMs: number, signal?: AbortSignal): Promise<{ ready: boolean; last: string }> {
    const deadline = Date.now() + waitMs;
    let last = "no attempt";
    while (!signal?.aborted) {
      try {
        const res = await this.pool.request({
          method: "GET",
          path: "/readyz",
          headers: this.anonymousHeaders,
          headersTimeout: 2000,
          bodyTimeout: 2000,
        });
        await res.body.dump();
        if (res.statusCode === 200) return { ready: true, last: "HTTP 200" };
        last = `HTTP ${res.statusCode}`;
      } catch (err) {
        last = describeError(err);
      }
      if (Date.now() + 500 > deadline) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    return { ready: false, last };
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Aborts whatever is still in flight (their calls record an error). */
  async destroy(): Promise<void> {
    await this.pool.destroy();
  }
}

export function describeError(err: unknown): string {
  if (err instanceof undiciErrors.HeadersTimeoutError || err instanceof undiciErrors.BodyTimeoutError || err instanceof undiciErrors.ConnectTimeoutError) {
    return "timeout";
  }
  if (err instanceof undiciErrors.ClientDestroyedError || err instanceof undiciErrors.RequestAbortedError) return "aborted";
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  return (err as Error)?.name ?? "error";
}

/** Collects one response: status, and the body only when it is to be parsed; records latency once. */
class CallHandler implements Dispatcher.DispatchHandlers {
  private status = 0;
  private chunks: Buffer[] | undefined;
  private done = false;

  constructor(
    private readonly stats: RouteStats,
    private readonly intendedAt: number,
    private readonly readJson: boolean,
    private readonly resolve: (value: unknown) => void,
  ) {}

  onConnect(): void {}

  onHeaders(statusCode: number): boolean {
    this.status = statusCode;
    if (this.readJson && statusCode < 400) this.chunks = [];
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks?.push(chunk);
    return true;
  }

  onComplete(): void {
    if (this.status >= 400) return this.finish(`HTTP ${this.status}`, undefined);
    if (!this.chunks) return this.finish(undefined, null);
    let parsed: unknown;
    try {
      parsed = JSON.parse(Buffer.concat(this.chunks).toString("utf8"));
    } catch {
      return this.finish("invalid JSON", undefined);
    }
    this.finish(undefined, parsed);
  }

  onError(err: Error): void {
    this.finish(describeError(err), undefined);
  }

  private finish(errorKind: string | undefined, result: unknown): void {
    if (this.done) return;
    this.done = true;
    this.stats.record(performance.now() - this.intendedAt, errorKind);
    this.resolve(result);
  }
}
