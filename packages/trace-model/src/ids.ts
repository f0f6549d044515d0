// Trace ids in the two forms tracemesh shows: W3C (32 hex digits, what OTLP carries) and X-Ray's.

const TRACE_ID = /^[0-9a-f]{32}$/;
const XRAY_TRACE_ID = /^1-([0-9a-f]{8})-([0-9a-f]{24})$/;

/**
 * The X-Ray form of a W3C trace id: `1-` + the first 8 hex digits (the epoch seconds when the AWS X-Ray
 * id generator made the id) + `-` + the remaining 24. Throws on anything that is not a 32-hex-digit id.
 */
export function xrayTraceId(traceId: string): string {
  if (!TRACE_ID.test(traceId)) throw new Error(`not a trace id (32 lowercase hex digits): ${JSON.stringify(traceId)}`);
  return `1-${traceId.slice(0, 8)}-${traceId.slice(8)}`;
}

/** The W3C form of an X-Ray trace id (`1-5f84c7a1-…` → 32 hex digits). */
export function traceIdFromXray(xrayId: string): string {
  const match = XRAY_TRACE_ID.exec(xrayId);
  if (!match) throw new Error(`not an X-Ray trace id (1-xxxxxxxx-xxxxxxxxxxxxxxxxxxxxxxxx): ${JSON.stringify(xrayId)}`);
  return match[1] + match[2];
}

/** True for an X-Ray trace id (what PutTraceSegments requires of `trace_id`). */
export function isXrayTraceId(text: unknown): text is string {
  return typeof text === "string" && XRAY_TRACE_ID.test(text);
}
