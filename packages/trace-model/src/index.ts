// The one trace model: spans (OTLP) and X-Ray segments, their decoders, the service graph each backend draws,
// the comparison of the two graphs and the renderers. No servers, no cloud SDK.
export {
  SPAN_KIND,
  SPAN_KINDS,
  STATUS_CODES,
  durationMs,
  type AttributeValue,
  type Attributes,
  type Span,
  type SpanEvent,
  type SpanKind,
  type SpanLink,
  type StatusCode,
} from "./span.js";
export { isXrayTraceId, traceIdFromXray, xrayTraceId } from "./ids.js";
export {
  InputError,
  graphFromOtlp,
  graphFromSpans,
  normalizeId,
  otlpJsonRequest,
  parseJsonDocuments,
  parseOtlpJsonLines,
  readInputFile,
  spansFromOtlpFiles,
  spansFromRequest,
} from "./otlp.js";
export { decodeOtlpMetrics, decodeOtlpTraces, type OtlpMetricSummary } from "./otlp-protobuf.js";
export {
  graphFromXrayFiles,
  graphFromXraySegments,
  segmentDocumentsFrom,
  segmentDocumentsFromFiles,
  type XraySegment,
} from "./xray-segments.js";
export { segmentDocumentsFromSpans } from "./xray-otlp.js";
export {
  GraphBuilder,
  classifyFailure,
  percentile,
  round,
  type GraphEdge,
  type GraphNode,
  type GraphSource,
  type ServiceGraph,
} from "./graph.js";
export {
  combined,
  compareGraphs,
  type Comparison,
  type CompareOptions,
  type EdgeComparison,
  type ExplainedDifference,
  type MatchCategory,
} from "./compare.js";
export {
  SERVICE_GRAPH_METRICS,
  SPAN_METRICS,
  graphFromServiceGraphMetrics,
  histogramQuantileMs,
  parsePrometheusText,
  redFromSpanMetrics,
  renderRedTable,
  samplesBetween,
  type OperationRed,
  type PromSample,
} from "./red.js";
export { formatMs, renderEdgeTable, renderMermaid, renderSvg, renderTable } from "./render.js";
export { renderWaterfall, spanTree, waterfallSpan, type WaterfallLog, type WaterfallSpan } from "./waterfall.js";
export { onWholeMs, renderTimingReport, timingReport, type ChildOutsideParent, type TimingReport } from "./timing.js";
