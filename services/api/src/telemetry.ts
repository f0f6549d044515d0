// The telemetry hooks the api uses, from the shared package (no-ops when the SDK or Rollbar is off).
export { setHttpRoute, initErrorReporting, reportError, flushErrorReports, shutdownTelemetry } from "@tracemesh/telemetry";
