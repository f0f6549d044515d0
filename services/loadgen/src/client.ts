// HTTP to the API (keep-alive, bounded connections, header/body timeouts), and how requests are marked
// synthetic: a `baggage: synthetic=true` header, or the same baggage carried in the OpenTelemetry context when
// OTel is active so the propagator writes it exactly once.
// One transport: undici's Pool, driven through its lower-level dispatch API (no response stream per request);
// instrumentation-undici, when it listens, gives each request its client span and injects the context.
import diagnosticsChannel from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";
import { Pool, type Dispatcher } from "undici";
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

export interface Response {
  status: number;
  body: Buffer;
}

/** One API endpoint; every call is timed from its intended send time and recorded on its route. */
export class ApiClient {
  /** Headers for anonymous calls (shared, never mutated). */
  readonly anonymousHeaders: Headers;
  private readonly pool: Pool;

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
   * Never rejects: the outcome is recorded on `stats`, latency counted from intendedAt.
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
    return new Promise((resolve) => this.callThen(stats, intendedAt, method, path, headers, body, readJson, resolve));
  }

  /** call() with a callback: `done` gets what call() would resolve to, exactly once. */
  callThen(
    stats: RouteStats,
    intendedAt: number,
    method: "GET" | "POST",
    path: string,
    headers: Headers,
    body: string | undefined,
    readJson: boolean,
    done: (result: unknown) => void,
  ): void {
    if (this.marking.selfInject) {
      headers = { ...headers };
      propagation.inject(context.active(), headers);
    }
    // pool.dispatch with a small handler rather than pool.request: no response stream per request, and
    // the body is only buffered when it is read.
    const handler = new UndiciCall(stats, intendedAt, readJson, done);
    try {
      this.pool.dispatch({ method, path, headers, body }, handler);
    } catch (err) {
      handler.onError(err as Error);
    }
  }

  /** One request outside the measured mix (readiness, sign-ups): status and whole body; rejects on failure. */
  async send(method: "GET" | "POST", path: string, headers: Headers, body: string | undefined, timeoutMs: number): Promise<Response> {
    const res = await this.pool.request({ method, path, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()) };
  }

  /** Polls GET /readyz until it answers 200, for at most waitMs; returns the last failure otherwise. */
  async waitReady(waitMs: number, signal?: AbortSignal): Promise<{ ready: boolean; last: string }> {
    const deadline = Date.now() + waitMs;
    let last = "no attempt";
    while (!signal?.aborted) {
      try {
        const res = await this.send("GET", "/readyz", this.anonymousHeaders, undefined, 2000);
        if (res.status === 200) return { ready: true, last: "HTTP 200" };
        last = `HTTP ${res.status}`;
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

// Error kinds by undici's error codes.
const KIND_BY_CODE = new Map([
  ["UND_ERR_HEADERS_TIMEOUT", "timeout"],
  ["UND_ERR_BODY_TIMEOUT", "timeout"],
  ["UND_ERR_CONNECT_TIMEOUT", "timeout"],
  ["UND_ERR_DESTROYED", "aborted"],
  ["UND_ERR_ABORTED", "aborted"],
]);

export function describeError(err: unknown): string {
  const code = (err as { code?: unknown })?.code;
  if (typeof code === "string") return KIND_BY_CODE.get(code) ?? code;
  return (err as Error)?.name ?? "error";
}

/** One measured call: records its latency and outcome once, then resolves. */
class Call {
  private done = false;

  constructor(
    private readonly stats: RouteStats,
    private readonly intendedAt: number,
    protected readonly readJson: boolean,
    private readonly resolve: (value: unknown) => void,
  ) {}

  onError(err: Error): void {
    this.finish(describeError(err), undefined);
  }

  protected finishJson(text: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return this.finish("invalid JSON", undefined);
    }
    this.finish(undefined, parsed);
  }

  protected finish(errorKind: string | undefined, result: unknown): void {
    if (this.done) return;
    this.done = true;
    this.stats.record(performance.now() - this.intendedAt, errorKind);
    this.resolve(result);
  }
}

/** Through undici: status, and the body only when it is to be parsed. */
class UndiciCall extends Call implements Dispatcher.DispatchHandlers {
  private status = 0;
  private chunks: Buffer[] | undefined;

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
    this.finishJson(Buffer.concat(this.chunks).toString("utf8"));
  }
}
