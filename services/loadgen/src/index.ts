// Programmatic use (the demo and the benchmarks): runLoad returns the same summary the CLI prints.
export { runLoad, LoadError, type LoadOptions } from "./run.js";
export {
  checkThresholds,
  formatSummary,
  mergeSummaries,
  parseSummary,
  Recorder,
  summarize,
  encodeHistogram,
  decodeHistogram,
  type Summary,
  type RouteSummary,
  type LatencySummary,
  type Thresholds,
} from "./stats.js";
export { parseScenario, DEFAULT_SCENARIO, FLOW_NAMES, ROUTES, type Scenario, type FlowName } from "./scenario.js";
export { parseCommand, parseDuration, type RunConfig } from "./config.js";
export { UsageError } from "./errors.js";
