// HTTP to the API (keep-alive, bounded connections, header/body timeouts), and how requests are marked
// synthetic: a `baggage: synthetic=true` header, or the same baggage carried in the OpenTelemetry context when
// OTel is active so the propagator writes it exactly once.
// Two transports, chosen once: undici's Pool when instrumentation-undici listens on its diagnostics channel
// (its client spans and context injection need undici), otherwise the lean Http1Pool (http1.ts), which costs
// about half the CPU per request. undici is then not even loaded (~0.1 s of CPU at start-up).
import diagnosticsChannel from "node:diagnostics_channel";
import { performance } from "node:perf_hooks";
import type { Dispatcher, Pool } from "undici";
import { ROOT_CONTEXT, context, isSpanContextValid, propagation, trace, type Context } from "@opentelemetry/api";
import { Http1Error, Http1Pool, type Http1Request } from "./http1.js";
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

// What undici checks of a request, so both transports refuse the same ones (as UND_ERR_INVALID_ARG).
const INVALID_PATH = /[^\u0021-\u00ff]/;
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const INVALID_HEADER_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
const RESERVED_HEADERS = new Set(["host", "connection", "content-length", "keep-alive", "transfer-encoding", "upgrade", "expect"]);
const EXPECTS_PAYLOAD = new Set(["POST", "PUT", "PATCH"]);
const EMPTY = Buffer.alloc(0);

/** One API endpoint; every call is timed from its intended send time and recorded on its route. */
export class ApiClient {
  /** Headers for anonymous calls (shared, never mutated). */
  readonly anonymousHeaders: Headers;
  readonly transport: "undici" | "http1";
  private readonly pool: Pool | undefined;
  private readonly http1: Http1Pool | undefined;
  /** "host: …\r\nconnection: keep-alive\r\n", as undici writes them. */
  private readonly hostLines: string;
  /** Serialized header blocks of the static header objects (anonymousHeaders, each user's authHeaders). */
  private readonly blocks = new WeakMap<Headers, string>();
  // The last request head without a body: a run of identical requests (ping) writes one shared buffer.
  private lastMethod = "";
  private lastPath = "";
  private lastHeaders: Headers | undefined;
  private lastHead: string | Buffer = "";
  // undici's Pool queues a request it has no free connection for and creates it — and instrumentation-undici's
  // client span — later, when another request completes: in that request's async context, so under load the span
  // joined another flow's trace (or none) and outlived its own flow by seconds. While the Pool is saturated
  // (dispatch() returned false) requests wait here instead, each dispatched in its caller's context on the Pool's
  // `drain` (the same order and timing the Pool's own queue would give).
  private saturated = false;
  private readonly waiting: Array<{ caller: Context; send: () => boolean; fail: (err: Error) => void }> = [];

  constructor(readonly baseUrl: string, readonly marking: Marking, opts: ClientOptions) {
    const url = new URL(baseUrl);
    const connectTimeoutMs = Math.min(opts.timeoutMs, 10_000);
    if (marking.undiciInstrumented || url.protocol !== "http:") {
      const { Pool } = require("undici") as typeof import("undici");
      this.pool = new Pool(baseUrl, {
        connections: opts.connections,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connectTimeout: connectTimeoutMs,
        headersTimeout: opts.timeoutMs,
        bodyTimeout: opts.timeoutMs,
      });
      this.pool.on("drain", () => {
        this.saturated = false;
        this.sendWaiting();
      });
      this.transport = "undici";
    } else {
      this.http1 = new Http1Pool(url, { connections: opts.connections, timeoutMs: opts.timeoutMs, connectTimeoutMs, keepAliveTimeoutMs: 30_000 });
      this.transport = "http1";
    }
    this.hostLines = `host: ${url.host}\r\nconnection: keep-alive\r\n`;
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
    let fresh = false;
    if (this.marking.selfInject) {
      headers = { ...headers };
      propagation.inject(context.active(), headers);
      fresh = true;
    }
    if (this.http1) {
      let req: Http1Call;
      try {
        const bodyBuf = body === undefined ? undefined : Buffer.from(body, "utf8");
        req = new Http1Call(stats, intendedAt, readJson, done, method, this.requestHead(method, path, headers, bodyBuf, !fresh), bodyBuf);
      } catch (err) {
        stats.record(performance.now() - intendedAt, describeError(err));
        done(undefined);
        return;
      }
      this.http1.dispatch(req);
      return;
    }
    // pool.dispatch with a small handler rather than pool.request: no response stream per request, and
    // the body is only buffered when it is read.
    const handler = new UndiciCall(stats, intendedAt, readJson, done);
    const send = (): boolean => {
      try {
        return this.pool!.dispatch({ method, path, headers, body }, handler);
      } catch (err) {
        handler.onError(err as Error);
        return true;
      }
    };
    if (this.saturated || this.waiting.length > 0) {
      this.waiting.push({ caller: context.active(), send, fail: (err) => handler.onError(err) });
    } else {
      this.saturated = !send();
    }
  }

  /** The Pool has a free connection again: waiting requests go out, each in its caller's context. */
  private sendWaiting(): void {
    while (!this.saturated && this.waiting.length > 0) {
      const { caller, send } = this.waiting.shift()!;
      this.saturated = !context.with(caller, send);
    }
  }

  /** One request outside the measured mix (readiness, sign-ups): status and whole body; rejects on failure. */
  async send(method: "GET" | "POST", path: string, headers: Headers, body: string | undefined, timeoutMs: number): Promise<Response> {
    const http1 = this.http1;
    if (http1) {
      return new Promise<Response>((resolve, reject) => {
        const bodyBuf = body === undefined ? undefined : Buffer.from(body, "utf8");
        http1.dispatch({
          method,
          head: this.requestHead(method, path, headers, bodyBuf, false),
          body: bodyBuf,
          wantBody: true,
          timeoutMs,
          onResponse: (status, buf) => resolve({ status, body: buf ?? EMPTY }),
          onError: reject,
        });
      });
    }
    const res = await this.pool!.request({ method, path, headers, body, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
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
    await (this.http1 ? this.http1.close() : this.pool!.close());
  }

  /** Aborts whatever is still in flight or waiting (their calls record an error). */
  async destroy(): Promise<void> {
    for (const { fail } of this.waiting.splice(0)) fail(Object.assign(new Error("request aborted"), { code: "UND_ERR_ABORTED" }));
    await (this.http1 ? this.http1.destroy() : this.pool!.destroy());
  }

  /** Request line and headers for the Http1Pool, written the way undici writes them. */
  private requestHead(method: string, path: string, headers: Headers, body: Buffer | undefined, cacheable: boolean): string | Buffer {
    if (cacheable && body === undefined && path === this.lastPath && headers === this.lastHeaders && method === this.lastMethod) {
      // Seen twice in a row: worth one buffer that every later identical request shares.
      if (typeof this.lastHead === "string") this.lastHead = Buffer.from(this.lastHead, "latin1");
      return this.lastHead;
    }
    if (path[0] !== "/" || INVALID_PATH.test(path)) throw new Http1Error("UND_ERR_INVALID_ARG", "invalid request path");
    const head =
      `${method} ${path} HTTP/1.1\r\n${this.hostLines}${this.headerBlock(headers, cacheable)}` +
      (body !== undefined ? `content-length: ${body.length}\r\n\r\n` : EXPECTS_PAYLOAD.has(method) ? "content-length: 0\r\n\r\n" : "\r\n");
    if (cacheable && body === undefined) {
      this.lastMethod = method;
      this.lastPath = path;
      this.lastHeaders = headers;
      this.lastHead = head;
    }
    return head;
  }

  private headerBlock(headers: Headers, cacheable: boolean): string {
    let block = cacheable ? this.blocks.get(headers) : undefined;
    if (block !== undefined) return block;
    block = "";
    for (const [name, value] of Object.entries(headers)) {
      if (!HEADER_NAME.test(name) || RESERVED_HEADERS.has(name.toLowerCase())) throw new Http1Error("UND_ERR_INVALID_ARG", `invalid header ${name}`);
      if (typeof value !== "string" || INVALID_HEADER_VALUE.test(value)) throw new Http1Error("UND_ERR_INVALID_ARG", `invalid ${name} header`);
      block += `${name}: ${value}\r\n`;
    }
    if (cacheable) this.blocks.set(headers, block);
    return block;
  }
}

// Error kinds by code: undici's and Http1Pool's errors share them.
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

/** Through Http1Pool: the pool hands over the status and, when asked for, the whole body. */
class Http1Call extends Call implements Http1Request {
  constructor(
    stats: RouteStats,
    intendedAt: number,
    readJson: boolean,
    resolve: (value: unknown) => void,
    readonly method: string,
    readonly head: string | Buffer,
    readonly body: Buffer | undefined,
  ) {
    super(stats, intendedAt, readJson, resolve);
  }

  get wantBody(): boolean {
    return this.readJson;
  }

  onResponse(status: number, body: Buffer | undefined): void {
    if (status >= 400) return this.finish(`HTTP ${status}`, undefined);
    if (!this.readJson) return this.finish(undefined, null);
    this.finishJson((body ?? EMPTY).toString("utf8"));
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
