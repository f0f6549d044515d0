import { SpanKind, trace, type Context } from "@opentelemetry/api";
import type { Resource } from "@opentelemetry/resources";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace";

/**
 * Attributes the Collector's awsxray exporter (v0.143.0, translator/segment.go) reads to name segments.
 * Without them a local-root span that is not SERVER kind becomes a segment named after the span
 * (loadgen's `flow post`) or, for CONSUMER spans, after peer.service/…/the span name — never after
 * service.name — so the X-Ray service map would show nodes no other tool shows.
 */
export const AWS_SPAN_KIND = "aws.span.kind";
export const AWS_LOCAL_SERVICE = "aws.local.service";
export const AWS_REMOTE_SERVICE = "aws.remote.service";

/** The facts the naming rule needs about one starting span. */
export interface LocalRootFacts {
  kind: SpanKind;
  /** No parent in this process: no parent at all, or a parent that came over the wire. */
  localRoot: boolean;
  serviceName: string | undefined;
  attributes: Readonly<Record<string, unknown>>;
}

/**
 * The aws.* attributes a span gets, or an empty object. With `aws.span.kind=LOCAL_ROOT`:
 * - INTERNAL (loadgen's `flow …`): the segment is named `aws.local.service` (the service);
 * - CLIENT/PRODUCER/CONSUMER: the exporter makes a service segment named `aws.local.service`
 *   (parent = the span's parent, e.g. the producer) plus a dependency subsegment named
 *   `aws.remote.service` that keeps the span id, so the span's children attach under it.
 * SERVER spans are left alone: the exporter already names them after service.name.
 */
export function xrayNamingAttributes(span: LocalRootFacts): Record<string, string> {
  if (!span.localRoot || span.kind === SpanKind.SERVER || !span.serviceName) return {};
  const out: Record<string, string> = { [AWS_SPAN_KIND]: "LOCAL_ROOT", [AWS_LOCAL_SERVICE]: span.serviceName };
  if (span.kind === SpanKind.INTERNAL) return out;
  // What the span talks to: its peer, or for a consumer the messaging system it reads from (the
  // notifications consumer reads the Redis stream: `redis`).
  const peer = span.attributes["peer.service"] ?? (span.kind === SpanKind.CONSUMER ? span.attributes["messaging.system"] : undefined);
  if (typeof peer === "string" && peer !== "") out[AWS_REMOTE_SERVICE] = peer;
  return out;
}

/**
 * Marks local-root spans for X-Ray as they start (ended spans are read-only). Registered after
 * PeerServiceSpanProcessor, so peer.service is already set on client spans.
 */
export class XrayNamingSpanProcessor implements SpanProcessor {
  onStart(span: Span, parentContext: Context): void {
    const parent = trace.getSpanContext(parentContext);
    const attributes = xrayNamingAttributes({
      kind: span.kind,
      localRoot: parent === undefined || !trace.isSpanContextValid(parent) || parent.isRemote === true,
      serviceName: serviceNameOf(span.resource),
      attributes: span.attributes,
    });
    for (const [key, value] of Object.entries(attributes)) {
      // A value the caller set on purpose wins.
      if (span.attributes[key] === undefined) span.setAttribute(key, value);
    }
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/**
 * The resource's service.name. Not through `resource.attributes`: until the detectors' async attributes settle
 * (host.id is read from a file), that getter logs "Accessing resource attributes before async attributes settled"
 * — every short-lived process (seed, loadgen) starts its first spans then. service.name is never async: the raw
 * list has it, first entry winning as in the getter.
 */
function serviceNameOf(resource: Resource): string | undefined {
  for (const [key, value] of resource.getRawAttributes()) {
    if (key === "service.name" && typeof value === "string" && value !== "") return value;
  }
  return undefined;
}
