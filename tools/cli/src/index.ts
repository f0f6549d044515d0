// Programmatic API of @tracemesh/cli: the commands' building blocks (Honeycomb and X-Ray setup, the live X-Ray
// graph) and the demo. The trace model they work on is @tracemesh/trace-model.
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
  setupTransactionSearch,
  setupXray,
  transactionSearchPlan,
  xraySetupPlan,
  type TransactionSearchResult,
  type XrayOptions,
  type XraySetupPlan,
} from "./xray.js";
export { DEMO_LOG_DIR, DEMO_USAGE, parseDemoArgs, runDemo, type DemoExtension, type DemoOptions } from "./demo/demo.js";
export { demoLogSummary, logsDemo, type LogsDemoOptions } from "./demo/logs.js";
export { applicationLogGroup, cloudWatchSetupPlan, makeCloudWatchLogsClient, setupCloudWatch, traceFilterPattern, traceLogLines, type TraceLogLine } from "./cloudwatch-logs.js";
export { lookUpTrace, normalizeTraceId, renderTrace, type TraceView } from "./trace.js";
export { rollbarOccurrences, type RollbarOccurrence } from "./rollbar.js";
export { verifyLogs, streamSource } from "./verify-logs.js";
export {
  DEFAULT_DEMO_OUT,
  exportFailures,
  honeycombUi,
  loadWindow,
  pickExampleTrace,
  planSinks,
  sinkCollectorEnv,
  telemetryDemo,
  xrayConsoleUrls,
  type SinkPlan,
  type TelemetryDemo,
  type TelemetryDemoOptions,
} from "./demo/telemetry.js";
export { main } from "./main.js";
