import {
  context,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  TraceFlags,
  type Context,
} from "@opentelemetry/api";
import { InstrumentationBase, InstrumentationNodeModuleDefinition, type InstrumentationConfig } from "@opentelemetry/instrumentation";
import { SamplingDecision, type IdGenerator, type Sampler } from "@opentelemetry/sdk-trace";
import type { UndiciRequest } from "@opentelemetry/instrumentation-undici";
import type { IncomingMessage, ServerResponse } from "node:http";
import { unsampledParent } from "./unsampled-bypass.js";

/**
 * The ids the SDK starts spans with, except that the next root span may be given the trace id a sampler was already
 * asked about (HttpUnsampledBypass): the SDK then asks its sampler about that same id and, the ratio sampler
 * being a function of the id, gets the same answer. Otherwise a request decided "sampled" at the edge would be
 * decided a second time, on another id, and 10 % would become 1 %.
 */
export class EdgeDecidedIdGenerator implements IdGenerator {
  private decided: string | undefined;
  constructor(private readonly ids: IdGenerator) {}

  /** The next generateTraceId() returns this id, once. */
  useForNextTrace(traceId: string | undefined): void {
    this.decided = traceId;
  }

  generateTraceId(): string {
    const traceId = this.decided ?? this.ids.generateTraceId();
    this.decided = undefined;
    return traceId;
  }

  generateSpanId(): string {
    return this.ids.generateSpanId();
  }
}

export interface HttpBypassConfig extends InstrumentationConfig {
  /** The SDK's own sampler, asked about a request that arrives without a parent. */
  sampler: Sampler;
  /** The SDK's own id generator: a sampled request's root span gets the trace id the sampler was asked about. */
  ids: EdgeDecidedIdGenerator;
  /** Requests instrumentation-http leaves untraced anyway (probes): they go to it untouched. */
  untraced: (url: string | undefined) => boolean;
}

type Emit = ((this: unknown, event: string | symbol, ...args: unknown[]) => boolean) & { __original?: Emit };
type HttpModule = { Server: { prototype: { emit: Emit } } } & { default?: HttpModule; [Symbol.toStringTag]?: string };

/**
 * HTTP requests that will not be sampled skip @opentelemetry/instrumentation-http's server side and
 * @opentelemetry/instrumentation-undici (fetch). Their spans would record nothing, yet upstream builds them anyway:
 * the URL parsed, a dozen attributes, the span through the SDK, listeners on the response. That is about 78 µs of
 * CPU per incoming request and 64 µs per fetch (`tools/bench` calls.js, always_off). Only the decision is carried on.
 *
 * - Server side: the handler runs in the context the request carries or, for a request without a parent, in a
 *   non-recording span of a new trace. Its log lines keep trace ids and its calls carry the decision on, as under
 *   upstream's span. Not sampled means: the parent it carries was not sampled, or it has no parent and the sampler
 *   says no to the trace id its root span would get. Sampled requests go through the instrumentation as before.
 *   Only `http`: the mesh serves no HTTPS itself.
 * - Client side (propagateOnly, for undici's ignoreRequestHook): the caller's context is injected into the
 *   request's headers here, as the instrumentation would, and the instrumentation steps aside.
 *
 * Only where nothing but spans reads the instrumentations' work (traces only: both also record request durations
 * for metrics) and the sampler follows the parent; telemetry.ts decides. Registered after the http
 * instrumentation, so this wraps its wrapper, as RedisUnsampledBypass does.
 */
export class HttpUnsampledBypass extends InstrumentationBase<HttpBypassConfig> {
  constructor(config: HttpBypassConfig) {
    super("@tracemesh/http-unsampled-bypass", "0.1.0", config);
  }

  /**
   * For instrumentation-undici's ignoreRequestHook: under an unsampled parent, writes the caller's context into the
   * request's headers (as the instrumentation writes them) and returns true, so that the instrumentation steps aside.
   */
  propagateOnly(request: UndiciRequest): boolean {
    const caller = context.active();
    if (!unsampledParent(caller, true)) return false;
    const headers: Record<string, string> = {};
    propagation.inject(caller, headers);
    for (const [name, value] of Object.entries(headers)) {
      if (typeof request.addHeader === "function") request.addHeader(name, value);
      else if (typeof request.headers === "string") request.headers += `${name}: ${value}\r\n`;
      else if (Array.isArray(request.headers)) request.headers.push(name, value);
    }
    return true;
  }

  protected init() {
    const httpModule = (module: HttpModule) => (module[Symbol.toStringTag] === "Module" && module.default ? module.default : module);
    return [
      new InstrumentationNodeModuleDefinition(
        "http",
        ["*"],
        (module: HttpModule) => {
          const prototype = httpModule(module).Server.prototype;
          const traced = prototype.emit;
          const untraced = traced.__original;
          if (!untraced) return module;
          const bypass = this;
          // Assigned, not this._wrap()ed: see RedisUnsampledBypass.
          prototype.emit = function emit(this: unknown, event: string | symbol, ...args: unknown[]) {
            if (event !== "request") return untraced.call(this, event, ...args);
            const [request, response] = args as [IncomingMessage, ServerResponse];
            const unsampled = bypass.unsampledContext(request);
            if (!unsampled) {
              try {
                return traced.call(this, event, ...args);
              } finally {
                // Taken by the request's span; should the instrumentation not start one, no later trace gets it.
                bypass.getConfig().ids.useForNextTrace(undefined);
              }
            }
            return context.with(unsampled, () => {
              // As upstream does: listeners the handler adds (the body's data and end) run in this context too.
              context.bind(unsampled, request);
              context.bind(unsampled, response);
              return untraced.call(this, event, ...args);
            });
          };
          this.restore = () => {
            if (prototype.emit !== traced) prototype.emit = traced;
          };
          return module;
        },
        () => this.restore(),
      ),
    ];
  }

  /** The context an unsampled request's handler runs in; undefined when the instrumentation should see it. */
  private unsampledContext(request: IncomingMessage): Context | undefined {
    const { sampler, ids, untraced } = this.getConfig();
    if (untraced(request.url)) return undefined;
    const carried = propagation.extract(ROOT_CONTEXT, request.headers);
    const parent = trace.getSpanContext(carried);
    if (parent && isSpanContextValid(parent)) return unsampledParent(carried, true) ? carried : undefined;
    const traceId = ids.generateTraceId();
    const decision = sampler.shouldSample(carried, traceId, request.method ?? "GET", SpanKind.SERVER, {}, []).decision;
    if (decision === SamplingDecision.NOT_RECORD) {
      return trace.setSpanContext(carried, { traceId, spanId: ids.generateSpanId(), traceFlags: TraceFlags.NONE });
    }
    ids.useForNextTrace(traceId);
    return undefined;
  }

  private restore: () => void = () => undefined;
}
