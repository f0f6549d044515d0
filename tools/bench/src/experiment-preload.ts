// Experiments only (bench's profile command, never the benchmarks): preloaded before the telemetry
// register module, they turn parts of our telemetry into no-ops to measure what each one costs
// without editing the telemetry package.
//   BENCH_SKIP_INSTRUMENTATIONS=ioredis,grpc,http,pino   those instrumentations
//   BENCH_SKIP_PARTS=xray-propagator,span-processors,xray-ids,upstream-grpc,redis-bypass,http-bypass
//     xray-propagator: no X-Amzn-Trace-Id inject/extract (W3C only); span-processors: our three
//     attribute-setting processors' onStart; xray-ids: the SDK's random ids instead of X-Ray's;
//     upstream-grpc: @opentelemetry/instrumentation-grpc in place of ours (grpc-instrumentation.ts), to compare;
//     redis-bypass: unsampled Redis commands through the ioredis instrumentation too (unsampled-bypass.ts);
//     http-bypass: unsampled HTTP requests through the http and undici instrumentations too (unsampled-http.ts).
import path from "node:path";

// "+" as well as ",": ab.js's --config takes its variables comma-separated (BENCH_SKIP_PARTS=span-processors+xray-ids).
const list = (name: string) => (process.env[name] ?? "").split(/[,+]/).map((s) => s.trim()).filter(Boolean);
const skip = list("BENCH_SKIP_INSTRUMENTATIONS");
const parts = list("BENCH_SKIP_PARTS");
const INSTRUMENTATIONS: Record<string, [string, string]> = {
  ioredis: ["@opentelemetry/instrumentation-ioredis", "IORedisInstrumentation"],
  grpc: ["@tracemesh/telemetry", "GrpcInstrumentation"],
  http: ["@opentelemetry/instrumentation-http", "HttpInstrumentation"],
  pino: ["@opentelemetry/instrumentation-pino", "PinoInstrumentation"],
};
type Prototype = Record<string, unknown>;
const PARTS: Record<string, Array<[module: string, className: string, method: string, replacement: (...args: never[]) => unknown]>> = {
  "xray-propagator": [
    ["@opentelemetry/propagator-aws-xray", "AWSXRayPropagator", "inject", () => undefined],
    ["@opentelemetry/propagator-aws-xray", "AWSXRayPropagator", "extract", (ctx: never) => ctx],
    ["@opentelemetry/propagator-aws-xray", "AWSXRayPropagator", "fields", () => []],
  ],
  "redis-bypass": [["@tracemesh/telemetry", "RedisUnsampledBypass", "init", () => []]],
  "http-bypass": [
    ["@tracemesh/telemetry", "HttpUnsampledBypass", "init", () => []],
    ["@tracemesh/telemetry", "HttpUnsampledBypass", "propagateOnly", () => false],
  ],
  "span-processors": [
    ["@tracemesh/telemetry", "PeerServiceSpanProcessor", "onStart", () => undefined],
    ["@tracemesh/telemetry", "XrayNamingSpanProcessor", "onStart", () => undefined],
    ["@tracemesh/telemetry", "BaggageAttributesSpanProcessor", "onStart", () => undefined],
  ],
};
// moderation has no OpenTelemetry (the X-Ray SDK only): nothing to turn off there.
const telemetryPkg = resolveOrUndefined("@tracemesh/telemetry/package.json", process.cwd());
if (telemetryPkg && (skip.length || parts.length)) {
  // Resolve the copies the telemetry package loads (the span processors through its public exports: the root
  // index re-exports the very classes its register module uses, so patching their prototypes reaches them).
  const telemetryDir = path.dirname(telemetryPkg);
  const load = (module: string) =>
    require(require.resolve(module, { paths: [module === "@tracemesh/telemetry" ? process.cwd() : telemetryDir] })) as Record<string, { prototype: Prototype }>;
  for (const name of skip) {
    const entry = INSTRUMENTATIONS[name];
    if (!entry) throw new Error(`BENCH_SKIP_INSTRUMENTATIONS: unknown "${name}" (known: ${Object.keys(INSTRUMENTATIONS).join(", ")})`);
    load(entry[0])[entry[1]]!.prototype.init = () => [];
  }
  for (const name of parts) {
    if (name === "upstream-grpc") {
      // Upstream's module definitions (its patches, its tracer, ignoring the same methods), enabled by our
      // instance where registerInstrumentations enables it: one gRPC instrumentation either way.
      const ours = load("@tracemesh/telemetry").GrpcInstrumentation!.prototype;
      const { GrpcInstrumentation: Upstream } = require("@opentelemetry/instrumentation-grpc") as { GrpcInstrumentation: new (config: object) => { init(): unknown } };
      ours.init = function (this: { getConfig(): { ignoreGrpcMethods?: unknown } }) {
        return new Upstream({ ignoreGrpcMethods: this.getConfig().ignoreGrpcMethods, enabled: false }).init();
      };
      continue;
    }
    if (name === "xray-ids") {
      // The X-Ray generator's methods replaced by the SDK's RandomIdGenerator's.
      const { RandomIdGenerator } = load("@opentelemetry/sdk-trace") as unknown as { RandomIdGenerator: new () => Prototype };
      const random = new RandomIdGenerator();
      const xray = load("@opentelemetry/id-generator-aws-xray").AWSXRayIdGenerator!.prototype;
      xray.generateTraceId = random.generateTraceId;
      xray.generateSpanId = random.generateSpanId;
      continue;
    }
    const patches = PARTS[name];
    if (!patches) throw new Error(`BENCH_SKIP_PARTS: unknown "${name}" (known: ${[...Object.keys(PARTS), "xray-ids", "upstream-grpc"].join(", ")})`);
    for (const [module, className, method, replacement] of patches) load(module)[className]!.prototype[method] = replacement;
  }
}

function resolveOrUndefined(specifier: string, from: string): string | undefined {
  try {
    return require.resolve(specifier, { paths: [from] });
  } catch {
    return undefined;
  }
}
