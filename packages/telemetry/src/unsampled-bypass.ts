import { context, isSpanContextValid, trace, TraceFlags, type Context } from "@opentelemetry/api";
import { InstrumentationBase, InstrumentationNodeModuleDefinition, type InstrumentationConfig } from "@opentelemetry/instrumentation";

/** True when a span started under `parent` would not be sampled: the sampler follows it, and it was not sampled. */
export function unsampledParent(parent: Context, sampledFollowsParent: boolean): boolean {
  if (!sampledFollowsParent) return false;
  const parentSpan = trace.getSpanContext(parent);
  return parentSpan !== undefined && isSpanContextValid(parentSpan) && (parentSpan.traceFlags & TraceFlags.SAMPLED) === 0;
}

export interface RedisBypassConfig extends InstrumentationConfig {
  /** As GrpcInstrumentationConfig's: the sampler leaves every span under an unsampled parent unsampled. */
  unsampledParentDecides?: boolean;
}

type SendCommand = ((...args: unknown[]) => unknown) & { __original?: (...args: unknown[]) => unknown };
type RedisModule = { prototype: { sendCommand: SendCommand } } & { default?: RedisModule; [Symbol.toStringTag]?: string };

/**
 * Under an unsampled parent, a Redis command skips @opentelemetry/instrumentation-ioredis: its span would record
 * nothing, yet upstream builds it anyway (attributes, the command's text serialised, its resolve and reject wrapped):
 * 26 µs of CPU per command (`tools/bench` calls.js, always_off). A Redis command carries no context onwards, so
 * nothing is lost. Sampled commands go through the instrumentation as before.
 *
 * Registered after the ioredis instrumentation, so this wraps its wrapper; the unwrapped sendCommand is the one
 * shimmer keeps as `__original`. With the ioredis instrumentation off there is nothing to bypass, and nothing changes.
 */
export class RedisUnsampledBypass extends InstrumentationBase<RedisBypassConfig> {
  constructor(config: RedisBypassConfig = {}) {
    super("@tracemesh/ioredis-unsampled-bypass", "0.1.0", config);
  }

  protected init() {
    const redisClass = (module: RedisModule) => (module[Symbol.toStringTag] === "Module" && module.default ? module.default : module);
    return [
      new InstrumentationNodeModuleDefinition(
        "ioredis",
        [">=2.0.0 <7"],
        (module: RedisModule) => {
          const prototype = redisClass(module).prototype;
          const traced = prototype.sendCommand;
          const untraced = traced.__original;
          if (!untraced) return module;
          const bypass = this;
          // Assigned, not this._wrap()ed: the base class's _wrap first unwraps a wrapped function, which would
          // remove the ioredis instrumentation's wrapper instead of wrapping it.
          prototype.sendCommand = function sendCommand(this: unknown, ...args: unknown[]) {
            const skip = unsampledParent(context.active(), bypass.getConfig().unsampledParentDecides === true);
            return (skip ? untraced : traced).apply(this, args);
          };
          this.restore = () => {
            if (prototype.sendCommand !== traced) prototype.sendCommand = traced;
          };
          return module;
        },
        () => this.restore(),
      ),
    ];
  }

  private restore: () => void = () => undefined;
}
