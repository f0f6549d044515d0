// OTLP/JSON into the one span model: one ExportTraceServiceRequest (`{"resourceSpans":[…]}`), the Collector file
// exporter's output (one request per line) and the graph `compare` draws from the spans (the Honeycomb side of the
// comparison: what the Collector exported over OTLP is what Honeycomb receives).
import { readFileSync } from "node:fs";
import { GraphBuilder, classifyFailure, type ServiceGraph } from "./graph.js";
import { SPAN_KINDS, STATUS_CODES, type AttributeValue, type Attributes, type Span } from "./span.js";

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Input a user gave that cannot be read (the CLI exits 2 on it). */
export class InputError extends Error {}

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function array(value: Json | undefined): Json[] {
  return Array.isArray(value) ? value : [];
}

/** OTLP/JSON ids are hex; protobuf's generic JSON mapping would give base64. Accept both, return lower hex. */
export function normalizeId(id: Json | undefined): string {
  if (typeof id !== "string" || id === "") return "";
  if (/^[0-9a-fA-F]+$/.test(id) && (id.length === 32 || id.length === 16)) return id.toLowerCase();
  const bytes = Buffer.from(id, "base64");
  if (bytes.length === 16 || bytes.length === 8) return bytes.toString("hex");
  return id.toLowerCase();
}

function anyValue(value: Json | undefined): AttributeValue {
  if (!isObject(value)) return null;
  if ("stringValue" in value) return String(value.stringValue);
  if ("boolValue" in value) return Boolean(value.boolValue);
  if ("intValue" in value) return Number(value.intValue); // int64 arrives as a JSON string
  if ("doubleValue" in value) return Number(value.doubleValue);
  if ("bytesValue" in value) return String(value.bytesValue);
  if ("arrayValue" in value && isObject(value.arrayValue)) return array(value.arrayValue.values).map(anyValue);
  if ("kvlistValue" in value && isObject(value.kvlistValue)) return keyValues(value.kvlistValue.values);
  return null;
}

function keyValues(list: Json | undefined): Attributes {
  const out: Attributes = {};
  for (const kv of array(list)) {
    if (isObject(kv) && typeof kv.key === "string") out[kv.key] = anyValue(kv.value);
  }
  return out;
}

function enumValue<T extends string>(value: Json | undefined, names: readonly T[], prefix: string): T {
  if (typeof value === "number") return names[value] ?? names[0];
  if (typeof value === "string") {
    const bare = value.startsWith(prefix) ? value.slice(prefix.length) : value;
    const found = names.find((n) => n === bare);
    if (found) return found;
  }
  return names[0];
}

/** Spans from one ExportTraceServiceRequest (`{"resourceSpans":[…]}`) in OTLP/JSON, or protobuf's generic JSON
 *  mapping of it (base64 ids, numeric enums). */
export function spansFromRequest(request: Json): Span[] {
  if (!isObject(request) || !Array.isArray(request.resourceSpans)) {
    throw new InputError('not an OTLP/JSON traces request: no "resourceSpans" array');
  }
  const spans: Span[] = [];
  for (const rs of request.resourceSpans) {
    if (!isObject(rs)) continue;
    const resource = isObject(rs.resource) ? keyValues(rs.resource.attributes) : {};
    const serviceName = typeof resource["service.name"] === "string" ? resource["service.name"] : "unknown_service";
    // "instrumentationLibrarySpans" is the pre-1.0 name some old files still carry.
    for (const ss of [...array(rs.scopeSpans), ...array(rs.instrumentationLibrarySpans)]) {
      if (!isObject(ss)) continue;
      const scope = isObject(ss.scope) && typeof ss.scope.name === "string" ? ss.scope.name : "";
      for (const s of array(ss.spans)) {
        if (!isObject(s)) continue;
        const status = isObject(s.status) ? s.status : {};
        spans.push({
          traceId: normalizeId(s.traceId),
          spanId: normalizeId(s.spanId),
          parentSpanId: normalizeId(s.parentSpanId),
          name: typeof s.name === "string" ? s.name : "",
          kind: enumValue(s.kind, SPAN_KINDS, "SPAN_KIND_"),
          startNs: BigInt(String(s.startTimeUnixNano ?? "0")),
          endNs: BigInt(String(s.endTimeUnixNano ?? "0")),
          attributes: keyValues(s.attributes),
          statusCode: enumValue(status.code, STATUS_CODES, "STATUS_CODE_"),
          statusMessage: typeof status.message === "string" ? status.message : "",
          events: array(s.events)
            .filter(isObject)
            .map((e) => ({ name: typeof e.name === "string" ? e.name : "", attributes: keyValues(e.attributes) })),
          links: array(s.links)
            .filter(isObject)
            .map((l) => ({ traceId: normalizeId(l.traceId), spanId: normalizeId(l.spanId) })),
          serviceName,
          resource,
          scope,
        });
      }
    }
  }
  return spans;
}

/** Parses file text: either one JSON document, or one JSON document per line (the file exporter's format). */
export function parseJsonDocuments(text: string, label: string): Json[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  try {
    return [JSON.parse(trimmed) as Json];
  } catch {
    // fall through to JSON lines
  }
  const docs: Json[] = [];
  text.split("\n").forEach((line, index) => {
    if (line.trim() === "") return;
    try {
      docs.push(JSON.parse(line) as Json);
    } catch (err) {
      throw new InputError(`${label}:${index + 1}: not valid JSON (${(err as Error).message})`);
    }
  });
  return docs;
}

export function readInputFile(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new InputError(`cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

export function spansFromOtlpFiles(files: readonly string[]): Span[] {
  const spans: Span[] = [];
  for (const file of files) {
    for (const doc of parseJsonDocuments(readInputFile(file), file)) {
      try {
        spans.push(...spansFromRequest(doc));
      } catch (err) {
        throw new InputError(`${file}: ${(err as Error).message}`);
      }
    }
  }
  return spans;
}

/**
 * The spans in a file exporter's output that is still being written (a live Collector): lines that are not
 * complete JSON yet are skipped, where spansFromOtlpFiles would refuse the file.
 */
export function parseOtlpJsonLines(text: string): Span[] {
  return text
    .split("\n")
    .filter((line) => line.trim().startsWith("{"))
    .flatMap((line) => {
      try {
        return spansFromRequest(JSON.parse(line) as Json);
      } catch {
        return [];
      }
    });
}

function str(attrs: Attributes, key: string): string | undefined {
  const v = attrs[key];
  return typeof v === "string" && v !== "" ? v : undefined;
}

/** The callee a CLIENT/PRODUCER span names by its attributes when no SERVER/CONSUMER span answers it. */
function calleeFromAttributes(span: Span): string | undefined {
  const a = span.attributes;
  return (
    str(a, "peer.service") ??
    str(a, "db.system.name") ??
    str(a, "db.system") ??
    str(a, "rpc.service") ??
    str(a, "server.address") ??
    str(a, "net.peer.name")
  );
}

function httpStatus(attrs: Attributes): number | undefined {
  const v = attrs["http.response.status_code"] ?? attrs["http.status_code"];
  return typeof v === "number" ? v : undefined;
}

/** Builds the service graph from OTLP spans: an edge per CLIENT/PRODUCER span, from its service to the service of the
 *  SERVER/CONSUMER span that is its child (or links to it), else to the name its attributes give
 *  (peer.service, db.system.name/db.system, rpc.service, server.address). Latency = the client span's duration. */
export function graphFromSpans(spans: readonly Span[]): ServiceGraph {
  const builder = new GraphBuilder("otlp");
  const answering = new Map<string, Span[]>(); // traceId/spanId of a client → SERVER/CONSUMER spans answering it
  const key = (traceId: string, spanId: string): string => `${traceId}/${spanId}`;
  const add = (k: string, s: Span): void => {
    const list = answering.get(k) ?? [];
    list.push(s);
    answering.set(k, list);
  };
  for (const s of spans) {
    builder.trace(s.traceId);
    if (s.kind !== "SERVER" && s.kind !== "CONSUMER") continue;
    builder.node(s.serviceName, false, s.serviceName);
    if (s.parentSpanId) add(key(s.traceId, s.parentSpanId), s);
    // A consumer started in its own trace points back with a link only.
    if (s.kind === "CONSUMER") {
      for (const l of s.links) if (!(l.traceId === s.traceId && l.spanId === s.parentSpanId)) add(key(l.traceId, l.spanId), s);
    }
  }
  for (const s of spans) {
    if (s.kind !== "CLIENT" && s.kind !== "PRODUCER") continue;
    builder.node(s.serviceName, false, s.serviceName);
    const answers = (answering.get(key(s.traceId, s.spanId)) ?? []).filter((a) => a.serviceName !== s.serviceName);
    const answer = answers[0];
    const fromAttributes = calleeFromAttributes(s);
    const callee = answer?.serviceName ?? fromAttributes ?? s.name;
    const notes: string[] = [];
    if (answer && answer.kind === "CONSUMER") {
      const linked = answer.links.some((l) => l.spanId === s.spanId);
      const child = answer.parentSpanId === s.spanId && answer.traceId === s.traceId;
      notes.push(
        `async hop: ${s.kind} span "${s.name}" → CONSUMER span "${answer.name}" in ${answer.serviceName}` +
          (child && linked ? " (child and link)" : child ? " (child)" : " (link only, separate trace)"),
      );
    }
    if (!answer) {
      builder.node(callee, true);
      if (!fromAttributes) notes.push(`no callee attribute on "${s.name}": named after the span`);
    }
    const failure = classifyFailure(httpStatus(s.attributes), s.statusCode === "ERROR");
    builder.call(s.serviceName, callee, {
      latencyMs: Number(s.endNs - s.startNs) / 1e6,
      ...failure,
      statusError: s.statusCode === "ERROR" || answers.some((a) => a.statusCode === "ERROR"),
      calleeAliases: [
        str(s.attributes, "peer.service"),
        str(s.attributes, "db.system.name"),
        str(s.attributes, "db.system"),
        str(s.attributes, "rpc.service"),
        s.name,
        answer?.name,
      ],
      notes,
    });
  }
  return builder.build();
}

export function graphFromOtlp(files: readonly string[]): ServiceGraph {
  return graphFromSpans(spansFromOtlpFiles(files));
}

function toAnyValue(value: AttributeValue): JsonObject | undefined {
  if (value === null) return undefined;
  if (typeof value === "string") return { stringValue: value };
  if (typeof value === "boolean") return { boolValue: value };
  if (typeof value === "number") return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  if (Array.isArray(value)) return { arrayValue: { values: value.map(toAnyValue).filter((v): v is JsonObject => v !== undefined) } };
  return { kvlistValue: { values: toKeyValues(value) } };
}

function toKeyValues(attributes: Attributes): Json[] {
  return Object.entries(attributes).flatMap(([key, value]) => {
    const v = toAnyValue(value);
    return v ? [{ key, value: v }] : [];
  });
}

/**
 * Spans as one OTLP/JSON ExportTraceServiceRequest (grouped by resource and scope) — the Collector file exporter's
 * line format, so spansFromRequest / spansFromOtlpFiles read it back to the same spans.
 */
export function otlpJsonRequest(spans: readonly Span[]): { resourceSpans: Json[] } {
  const resources = new Map<string, { resource: Attributes; scopes: Map<string, Span[]> }>();
  for (const s of spans) {
    const key = JSON.stringify(s.resource);
    const entry = resources.get(key) ?? { resource: s.resource, scopes: new Map<string, Span[]>() };
    resources.set(key, entry);
    entry.scopes.set(s.scope, [...(entry.scopes.get(s.scope) ?? []), s]);
  }
  return {
    resourceSpans: [...resources.values()].map(({ resource, scopes }) => ({
      resource: { attributes: toKeyValues(resource) },
      scopeSpans: [...scopes].map(([scope, list]) => ({
        scope: { name: scope },
        spans: list.map((s) => ({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId,
          name: s.name,
          kind: SPAN_KINDS.indexOf(s.kind),
          startTimeUnixNano: s.startNs.toString(),
          endTimeUnixNano: s.endNs.toString(),
          attributes: toKeyValues(s.attributes),
          events: s.events.map((e) => ({ name: e.name, attributes: toKeyValues(e.attributes) })),
          links: s.links.map((l) => ({ traceId: l.traceId, spanId: l.spanId })),
          status: { code: STATUS_CODES.indexOf(s.statusCode), ...(s.statusMessage ? { message: s.statusMessage } : {}) },
        })),
      })),
    })),
  };
}
