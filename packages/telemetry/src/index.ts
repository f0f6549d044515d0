export { startTelemetry, shutdownTelemetry, telemetryStarted, setHttpRoute, DEFAULT_INSTRUMENTATIONS } from "./telemetry.js";
export { AnchoredClock, NODE_CLOCKS, processClock, type ClockSources } from "./clock.js";
export { PreciseStartSpanProcessor, missingInternals, type PreciseStartStats, type SdkSpanInternals } from "./precise-start.js";
export { xrayTraceId, traceIdFromXray, currentTraceIds, pinoLogHook, type TraceIds } from "./ids.js";
export { peerServiceFor, parseHttpPeers, PeerServiceSpanProcessor, GRPC_PEER_SERVICES } from "./peer-service.js";
export {
  xrayNamingAttributes,
  XrayNamingSpanProcessor,
  AWS_SPAN_KIND,
  AWS_LOCAL_SERVICE,
  AWS_REMOTE_SERVICE,
  type LocalRootFacts,
} from "./xray-naming.js";
export { serviceIdentity, serviceNameFromPackage, serviceResourceAttributes } from "./resource.js";
export {
  initErrorReporting,
  reportError,
  flushErrorReports,
  errorReportingEnabled,
  SCRUB_FIELDS,
  scrub,
  type InfoLogger,
  type ErrorReportingOptions,
} from "./rollbar.js";
export { GrpcInstrumentation, GRPC_INSTRUMENTATION_NAME, type GrpcInstrumentationConfig } from "./grpc-instrumentation.js";
export { RedisUnsampledBypass, unsampledParent } from "./unsampled-bypass.js";
export { HttpUnsampledBypass, EdgeDecidedIdGenerator, type HttpBypassConfig } from "./unsampled-http.js";
export { BaggageAttributesSpanProcessor, BAGGAGE_SPAN_ATTRIBUTES } from "./baggage-attributes.js";
