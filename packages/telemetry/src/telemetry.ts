import { context, diag, propagation, trace, type Span } from "@opentelemetry/api";
import {
  CompositePropagator,
  getRPCMetadata,
  RPCType,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from "@opentelemetry/core";
import type { NodeSDK, NodeSDKConfiguration } from "@opentelemetry/sdk-node";
import type { Sampler } from "@opentelemetry/sdk-trace";
import type { Instrumentation } from "@opentelemetry/instrumentation";
import type { UndiciRequest } from "@opentelemetry/instrumentation-undici";
import type { ReadableSpan } from "@opentelemetry/sdk-trace";
import { BaggageAttributesSpanProcessor } from "./baggage-attributes.js";
import { ExportHealth } from "./export-health.js";
import { GrpcInstrumentation } from "./grpc-instrumentation.js";
import { RedisUnsampledBypass } from "./unsampled-bypass.js";
import { EdgeDecidedIdGenerator, HttpUnsampledBypass } from "./unsampled-http.js";
import { pinoLogHook } from "./ids.js";
import { parseHttpPeers, PeerServiceSpanProcessor } from "./peer-service.js";
import { PreciseStartSpanProcessor } from "./precise-start.js";
import { serviceResourceAttributes } from "./resource.js";
import { XrayNamingSpanProcessor } from "./xray-naming.js";

// One SDK per process, reachable from every copy of this module (register and the service's own import).
const SDK_KEY = Symbol.for("tracemesh.telemetry.sdk");
/** What is kept of the running SDK: how to flush and stop it. */
interface RunningSdk {
  shutdown(): Promise<void>;
}
type Global = typeof globalThis & { [SDK_KEY]?: RunningSdk };
const global = globalThis as Global;

/**
 * Kubernetes probes and gRPC health/reflection calls would each make a trace of their own; so would
 * every upload of browser spans through the frontend server's OTLP proxy.
 */
const UNTRACED_HTTP_PATHS = new Set(["/healthz", "/readyz", "/livez", "/otlp/v1/traces"]);
/** The web frontend's hashed static files: the browser's own resourceFetch spans time them. */
const UNTRACED_HTTP_PREFIXES = ["/assets/"];

function untracedPath(url: string | undefined): boolean {
  const path = (url ?? "").split("?")[0] ?? "";
  return UNTRACED_HTTP_PATHS.has(path) || UNTRACED_HTTP_PREFIXES.some((prefix) => path.startsWith(prefix));
}
const UNTRACED_GRPC_METHODS = ["Check", "Watch", "ServerReflectionInfo"];

function isDisabled(env: NodeJS.ProcessEnv): boolean {
  return (env.OTEL_SDK_DISABLED ?? "").trim().toLowerCase() === "true";
}

/**
 * The instrumentations the mesh uses, when OTEL_NODE_ENABLED_INSTRUMENTATIONS does not say otherwise:
 * the metapackage's own default would add net and dns (root spans of their own), express, fs…
 */
export const DEFAULT_INSTRUMENTATIONS = ["http", "grpc", "ioredis", "pino", "undici"] as const;

/** Our five instrumentations, by the short names OTEL_NODE_ENABLED_INSTRUMENTATIONS takes, and their classes. */
const OWN_INSTRUMENTATIONS: Record<(typeof DEFAULT_INSTRUMENTATIONS)[number], () => new (config: object) => Instrumentation> = {
  http: () => (require("@opentelemetry/instrumentation-http") as typeof import("@opentelemetry/instrumentation-http")).HttpInstrumentation,
  grpc: () => GrpcInstrumentation,
  ioredis: () => (require("@opentelemetry/instrumentation-ioredis") as typeof import("@opentelemetry/instrumentation-ioredis")).IORedisInstrumentation,
  pino: () => (require("@opentelemetry/instrumentation-pino") as typeof import("@opentelemetry/instrumentation-pino")).PinoInstrumentation,
  undici: () => (require("@opentelemetry/instrumentation-undici") as typeof import("@opentelemetry/instrumentation-undici")).UndiciInstrumentation,
};

/** The short names in a comma-separated OTEL_NODE_*_INSTRUMENTATIONS value. */
function instrumentationNames(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter(Boolean);
}

/**
 * The instrumentations OTEL_NODE_ENABLED_INSTRUMENTATIONS / OTEL_NODE_DISABLED_INSTRUMENTATIONS ask for (short names:
 * `http,grpc`), as @opentelemetry/auto-instrumentations-node reads them; unset, ENABLED is DEFAULT_INSTRUMENTATIONS.
 * Ours are constructed here: the metapackage requires all of its ~45 instrumentation packages at load (≈ 15 MiB
 * and 0.17 s of CPU per process), so it is loaded only when the variables name one of the others. The settings
 * below apply to whichever of these end up enabled.
 */
function createInstrumentations(env: NodeJS.ProcessEnv, logsShipped: boolean, sdk: SdkDecisions | undefined): Instrumentation[] {
  if (!env.OTEL_NODE_ENABLED_INSTRUMENTATIONS?.trim()) env.OTEL_NODE_ENABLED_INSTRUMENTATIONS = DEFAULT_INSTRUMENTATIONS.join(",");
  const decides = unsampledParentDecides(env);
  const grpc = { ignoreGrpcMethods: UNTRACED_GRPC_METHODS, unsampledParentDecides: decides };
  // HTTP requests that will not be sampled skip the http and undici instrumentations (unsampled-http.ts): only when
  // the sampler follows the parent and the instrumentations' work feeds nothing but spans (their metrics are off).
  // Constructed below, after the http instrumentation; undici's hook reaches it when requests are made.
  let httpBypass: HttpUnsampledBypass | undefined;
  const config = {
    "@opentelemetry/instrumentation-http": {
      ignoreIncomingRequestHook: (req: { url?: string }) => untracedPath(req.url),
      // Rollbar's own item uploads are reporting, not the service's work: traced, they would add a
      // `POST` node (the Rollbar host) to every failing trace and to the service maps. Probes of the paths
      // the servers do not trace are not traced by their callers either (below).
      ignoreOutgoingRequestHook: (req: { headers?: unknown; path?: string | null }) =>
        hasHeader(req.headers, "x-rollbar-access-token") || untracedPath(req.path ?? undefined),
    },
    // A probe no server traces (loadgen's --wait-ready polls GET /readyz) would be a client span with nothing
    // behind it: a root of its own, drawn by X-Ray as an inferred node named `GET` — the cluster map's stray node.
    "@opentelemetry/instrumentation-undici": {
      ignoreRequestHook: (req: UndiciRequest) => untracedPath(req.path) || (httpBypass?.propagateOnly(req) ?? false),
    },
    // Ours (grpc-instrumentation.ts says why), under the name the variables use for gRPC.
    "@opentelemetry/instrumentation-grpc": grpc,
    // Logs go to stdout (and from there to CloudWatch): shipping them over OTLP too would double them.
    "@opentelemetry/instrumentation-pino": { disableLogSending: !logsShipped, logHook: pinoLogHook },
  };
  const disabled = new Set(instrumentationNames(env.OTEL_NODE_DISABLED_INSTRUMENTATIONS));
  const enabled = instrumentationNames(env.OTEL_NODE_ENABLED_INSTRUMENTATIONS).filter((name) => !disabled.has(name));
  // Constructed (and so hooked into require) after the ioredis instrumentation: it wraps that one's wrapper.
  const redisBypass = () => (enabled.includes("ioredis") ? [new RedisUnsampledBypass({ unsampledParentDecides: decides })] : []);
  const bypasses = () => {
    if (decides && sdk) httpBypass = new HttpUnsampledBypass({ ...sdk, untraced: untracedPath });
    return [...redisBypass(), ...(httpBypass ? [httpBypass] : [])];
  };
  if (enabled.every((name) => name in OWN_INSTRUMENTATIONS)) {
    const own = enabled.map((name) => {
      const Instrumentation = OWN_INSTRUMENTATIONS[name as keyof typeof OWN_INSTRUMENTATIONS]();
      return new Instrumentation(config[`@opentelemetry/instrumentation-${name}` as keyof typeof config] ?? {});
    });
    return [...own, ...bypasses()];
  }
  // Loaded here, not at the top, so that importing this module for setHttpRoute stays cheap.
  /* eslint-disable @typescript-eslint/no-require-imports */
  const { getNodeAutoInstrumentations } = require("@opentelemetry/auto-instrumentations-node") as typeof import("@opentelemetry/auto-instrumentations-node");
  const others = getNodeAutoInstrumentations({ ...config, "@opentelemetry/instrumentation-grpc": { enabled: false } });
  return [...others, ...(enabled.includes("grpc") ? [new GrpcInstrumentation(grpc)] : []), ...bypasses()];
}

/** The sampler and the id generator the tracer provider is given: the HTTP bypass decides a root request with them. */
interface SdkDecisions {
  sampler: Sampler;
  ids: EdgeDecidedIdGenerator;
}

/**
 * Whether OTEL_TRACES_SAMPLER leaves every span under an unsampled parent unsampled (the parentbased_* samplers, the
 * default, and always_off): then a gRPC call or a Redis command under such a parent skips the SDK
 * (grpc-instrumentation.ts, unsampled-bypass.ts).
 */
function unsampledParentDecides(env: NodeJS.ProcessEnv): boolean {
  // Every other value (unknown ones fall back to parentbased_always_on in samplerFromEnv) follows the parent.
  return !["always_on", "traceidratio"].includes(env.OTEL_TRACES_SAMPLER?.trim() ?? "");
}

function hasHeader(headers: unknown, name: string): boolean {
  if (!headers || typeof headers !== "object") return false;
  return Object.keys(headers).some((key) => key.toLowerCase() === name);
}

/** OTLP over HTTP: protobuf by default, JSON when OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL=http/json. */
function createTraceExporter(env: NodeJS.ProcessEnv) {
  const protocol = (env.OTEL_EXPORTER_OTLP_TRACES_PROTOCOL ?? env.OTEL_EXPORTER_OTLP_PROTOCOL ?? "http/protobuf").trim();
  if (protocol === "http/json") {
    const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-http") as typeof import("@opentelemetry/exporter-trace-otlp-http");
    return new OTLPTraceExporter();
  }
  if (protocol !== "http/protobuf") {
    // The gRPC exporter would load grpc-js ahead of its instrumentation (and it suppresses gRPC spans).
    diag.warn(`OTEL_EXPORTER_OTLP_PROTOCOL=${protocol} is not supported by tracemesh; using http/protobuf (port 4318)`);
  }
  const { OTLPTraceExporter } = require("@opentelemetry/exporter-trace-otlp-proto") as typeof import("@opentelemetry/exporter-trace-otlp-proto");
  return new OTLPTraceExporter();
}

/**
 * Starts the OpenTelemetry SDK for this process (once). Must run before http, grpc-js, ioredis,
 * pino and undici are loaded — `node --require @tracemesh/telemetry/register` does that.
 * Returns false when OTEL_SDK_DISABLED=true (nothing is started).
 */
export function startTelemetry(env: NodeJS.ProcessEnv = process.env): boolean {
  if (global[SDK_KEY]) return true;
  if (isDisabled(env)) return false;

  // Metrics are not used and logs go to stdout: both off unless asked for explicitly.
  env.OTEL_METRICS_EXPORTER ??= "none";
  env.OTEL_LOGS_EXPORTER ??= "none";
  const logsShipped = !env.OTEL_LOGS_EXPORTER.split(",").map((s) => s.trim()).includes("none");

  const { defaultResource, resourceFromAttributes, envDetector, hostDetector, processDetector } =
    require("@opentelemetry/resources") as typeof import("@opentelemetry/resources");
  const { BatchSpanProcessor } = require("@opentelemetry/sdk-trace") as typeof import("@opentelemetry/sdk-trace");
  const { AWSXRayIdGenerator } = require("@opentelemetry/id-generator-aws-xray") as typeof import("@opentelemetry/id-generator-aws-xray");
  const ids = new EdgeDecidedIdGenerator(new AWSXRayIdGenerator());
  // Traces only (the default): this process's own tracer provider, whose sampler and ids the HTTP bypass shares.
  // Otherwise NodeSDK reads the sampler from the environment itself.
  const tracesOnly = env.OTEL_METRICS_EXPORTER.trim() === "none" && !logsShipped;
  const sampler = tracesOnly ? samplerFromEnv(env) : undefined;
  const instrumentations = createInstrumentations(env, logsShipped, sampler ? { sampler, ids } : undefined);
  const { AWSXRayPropagator } = require("@opentelemetry/propagator-aws-xray") as typeof import("@opentelemetry/propagator-aws-xray");

  // Drops while the Collector is away are counted and logged once (not silently, not per batch);
  // with OTEL_LOG_LEVEL set the SDK's own diag logger is left to speak instead.
  const exportHealth = new ExportHealth();
  if (!env.OTEL_LOG_LEVEL) exportHealth.install();

  const config = {
    // Detected attributes (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME) override these.
    resource: defaultResource().merge(resourceFromAttributes(serviceResourceAttributes(env))),
    // No cloud detectors: they probe metadata endpoints at start.
    resourceDetectors: [envDetector, hostDetector, processDetector],
    idGenerator: ids,
    textMapPropagator: new CompositePropagator({
      propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator(), new AWSXRayPropagator()],
    }),
    // The start time first (sub-millisecond, see precise-start.ts), then the attribute setters (peer.service,
    // then the X-Ray naming that reads it) so the batch processor exports spans that already carry them.
    spanProcessors: [
      new PreciseStartSpanProcessor(),
      new BaggageAttributesSpanProcessor(),
      new PeerServiceSpanProcessor(parseHttpPeers(env.TRACEMESH_HTTP_PEERS)),
      new XrayNamingSpanProcessor(),
      // Memory is bounded by the queue (OTEL_BSP_MAX_QUEUE_SIZE, 2048 spans) plus the one batch in
      // flight (OTEL_BSP_MAX_EXPORT_BATCH_SIZE, 512); beyond that new spans are dropped and counted.
      new BatchSpanProcessor({ exporter: exportHealth.wrap(createTraceExporter(env)), ...batchOptionsFromEnv(env) }),
    ],
    instrumentations,
  } satisfies Partial<NodeSDKConfiguration>;
  global[SDK_KEY] = sampler ? startTracing(config, sampler, env) : startNodeSdk(config);
  return true;
}

type TracingConfig = Pick<NodeSDKConfiguration, "resource" | "resourceDetectors" | "idGenerator" | "textMapPropagator" | "spanProcessors" | "instrumentations">;

/**
 * Traces only (the default: metrics off, logs on stdout): the parts of the SDK that make them, wired as NodeSDK
 * wires them (instrumentations, context manager, propagator, resource detection, sampler from OTEL_TRACES_SAMPLER,
 * span limits from OTEL_SPAN_*, the tracer provider). @opentelemetry/sdk-node would load every exporter of every
 * signal (the gRPC ones, Prometheus, Zipkin, logs, metrics): ≈ 15 MiB and 0.17 s of CPU more per process.
 */
function startTracing(config: TracingConfig, sampler: Sampler, env: NodeJS.ProcessEnv): RunningSdk {
  const { registerInstrumentations } = require("@opentelemetry/instrumentation") as typeof import("@opentelemetry/instrumentation");
  const { AsyncLocalStorageContextManager } = require("@opentelemetry/context-async-hooks") as typeof import("@opentelemetry/context-async-hooks");
  const { detectResources } = require("@opentelemetry/resources") as typeof import("@opentelemetry/resources");
  const { TracerProvider } = require("@opentelemetry/sdk-trace") as typeof import("@opentelemetry/sdk-trace");
  registerInstrumentations({ instrumentations: config.instrumentations });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(config.textMapPropagator!);
  const provider = new TracerProvider({
    resource: config.resource!.merge(detectResources({ detectors: config.resourceDetectors })),
    sampler,
    spanLimits: spanLimitsFromEnv(env),
    idGenerator: config.idGenerator,
    spanProcessors: config.spanProcessors,
  });
  trace.setGlobalTracerProvider(provider);
  return provider;
}

/** Metrics or logs over OTLP asked for (OTEL_METRICS_EXPORTER, OTEL_LOGS_EXPORTER): NodeSDK sets those up too. */
function startNodeSdk(config: TracingConfig): RunningSdk {
  const { NodeSDK } = require("@opentelemetry/sdk-node") as typeof import("@opentelemetry/sdk-node");
  // The sampler comes from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG (parentbased_always_on by default).
  const sdk: NodeSDK = new NodeSDK(config);
  sdk.start();
  return sdk;
}

/**
 * OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG as NodeSDK reads them; unset or unknown: parentbased_always_on.
 * Written here because sdk-trace 3.x no longer reads the environment and NodeSDK's reader (create-from-env) is not
 * exported apart from the whole of sdk-node, which this set-up exists to avoid loading.
 */
export function samplerFromEnv(env: NodeJS.ProcessEnv): Sampler {
  const { AlwaysOffSampler, AlwaysOnSampler, ParentBasedSampler, TraceIdRatioBasedSampler } = require("@opentelemetry/sdk-trace") as typeof import("@opentelemetry/sdk-trace");
  const ratio = () => {
    const value = Number(env.OTEL_TRACES_SAMPLER_ARG?.trim() || "1");
    if (Number.isFinite(value) && value >= 0 && value <= 1) return value;
    diag.error(`OTEL_TRACES_SAMPLER_ARG=${env.OTEL_TRACES_SAMPLER_ARG} is not a ratio in [0..1]; using 1`);
    return 1;
  };
  const name = env.OTEL_TRACES_SAMPLER?.trim() || "parentbased_always_on";
  switch (name) {
    case "always_on":
      return new AlwaysOnSampler();
    case "always_off":
      return new AlwaysOffSampler();
    case "traceidratio":
      return new TraceIdRatioBasedSampler(ratio());
    case "parentbased_always_off":
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case "parentbased_traceidratio":
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio()) });
    default:
      if (name !== "parentbased_always_on") diag.error(`unknown OTEL_TRACES_SAMPLER value "${name}"; using parentbased_always_on`);
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/** OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT and the other span limits NodeSDK reads; unset ones keep the SDK's defaults. */
function spanLimitsFromEnv(env: NodeJS.ProcessEnv) {
  const number = (...names: string[]) => {
    for (const name of names) {
      const value = env[name]?.trim();
      if (value && Number.isFinite(Number(value))) return Number(value);
    }
    return undefined;
  };
  return {
    attributeCountLimit: number("OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT", "OTEL_ATTRIBUTE_COUNT_LIMIT"),
    attributeValueLengthLimit: number("OTEL_SPAN_ATTRIBUTE_VALUE_LENGTH_LIMIT", "OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT"),
    eventCountLimit: number("OTEL_SPAN_EVENT_COUNT_LIMIT"),
    linkCountLimit: number("OTEL_SPAN_LINK_COUNT_LIMIT"),
    attributePerEventCountLimit: number("OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT"),
    attributePerLinkCountLimit: number("OTEL_LINK_ATTRIBUTE_COUNT_LIMIT", "OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT"),
  };
}

/**
 * OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT, OTEL_BSP_MAX_QUEUE_SIZE and OTEL_BSP_MAX_EXPORT_BATCH_SIZE, as
 * the specification names them and sdk-trace 2.x read them; unset or not a positive number: the SDK's defaults
 * (5000 ms, 30000 ms, 2048, 512). sdk-trace 3.x's BatchSpanProcessor reads only its constructor's options.
 */
export function batchOptionsFromEnv(env: NodeJS.ProcessEnv): {
  scheduledDelayMillis?: number;
  exportTimeoutMillis?: number;
  maxQueueSize?: number;
  maxExportBatchSize?: number;
} {
  const positive = (name: string) => {
    const raw = env[name]?.trim();
    if (!raw) return undefined;
    const value = Number(raw);
    if (Number.isFinite(value) && value > 0) return value;
    diag.error(`${name}=${raw} is not a positive number; using the SDK's default`);
    return undefined;
  };
  return {
    scheduledDelayMillis: positive("OTEL_BSP_SCHEDULE_DELAY"),
    exportTimeoutMillis: positive("OTEL_BSP_EXPORT_TIMEOUT"),
    maxQueueSize: positive("OTEL_BSP_MAX_QUEUE_SIZE"),
    maxExportBatchSize: positive("OTEL_BSP_MAX_EXPORT_BATCH_SIZE"),
  };
}

/** Whether the SDK is running in this process. */
export function telemetryStarted(): boolean {
  return global[SDK_KEY] !== undefined;
}

/**
 * Flushes and stops the SDK, waiting at most timeoutMs (never rejects, never exits the process).
 * Resolves true when every span was handed to the exporter in time. Services call it as the last
 * step of exitOnSignal.
 */
export async function shutdownTelemetry(timeoutMs = 2000): Promise<boolean> {
  const sdk = global[SDK_KEY];
  if (!sdk) return true;
  global[SDK_KEY] = undefined;
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const done = sdk.shutdown().then(
    () => true,
    (err: unknown) => {
      diag.error("telemetry shutdown failed", err);
      return false;
    },
  );
  try {
    return await Promise.race([done, bound]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Names the current HTTP server span after its route (`GET /api/activities/:uuid`) and sets
 * `http.route`. Call it in the request handler once the route is matched; a no-op outside an
 * incoming HTTP request or when the SDK is not running.
 */
export function setHttpRoute(route: string): void {
  const metadata = getRPCMetadata(context.active());
  if (metadata?.type !== RPCType.HTTP) return;
  // instrumentation-http reads the route from here when the response finishes and renames the span
  // `<method> <route>`; naming it now as well keeps the name right even if the request never finishes.
  metadata.route = route;
  metadata.span.setAttribute("http.route", route);
  metadata.span.updateName(`${requestMethod(metadata.span)} ${route}`);
}

/** The HTTP method recorded on a server span (the SDK's spans expose their attributes). */
function requestMethod(span: Span): string {
  const attributes = (span as Partial<Pick<ReadableSpan, "attributes">>).attributes;
  const method = attributes?.["http.request.method"] ?? attributes?.["http.method"];
  return typeof method === "string" ? method : "GET";
}
