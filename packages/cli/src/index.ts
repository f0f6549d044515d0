// Programmatic API of @tracemesh/cli (used by the end-to-end test to compare real Collector output).
export { compareGraphs, type Comparison, type CompareOptions, type EdgeComparison, type ExplainedDifference, type MatchCategory } from "./compare.js";
export { type GraphEdge, type GraphNode, type ServiceGraph, classifyFailure, percentile } from "./graph.js";
export { InputError, graphFromOtlp, graphFromSpans, spansFromOtlpFiles, spansFromRequest, type OtlpSpan } from "./otlp.js";
export {
  graphFromXrayFiles,
  graphFromXraySegments,
  segmentDocumentsFrom,
  segmentDocumentsFromFiles,
  type XraySegmentDocument,
} from "./xray-segments.js";
export { renderMermaid, renderSvg, renderTable } from "./render.js";
export {
  createMarker,
  endMarker,
  savedQueries,
  setupHoneycomb,
  specMatches,
  type HoneycombOptions,
  type QuerySpec,
  type SavedQuery,
} from "./honeycomb.js";
export {
  fetchXrayGraph,
  graphFromServiceGraph,
  groupFilterExpression,
  samplingRules,
  setupXray,
  xraySetupPlan,
  type XrayOptions,
  type XraySetupPlan,
} from "./xray.js";
export { main } from "./main.js";
export { segmentDocumentsFromSpans, xrayTraceIdOf } from "./xray-otlp.js";
