// `tracemesh verify --browser`: the web app's own spans (service frontend-web, made in the browser by the
// OpenTelemetry web SDK and forwarded by the frontend server to the node's Collector) are joined to the server
// side: a browser's fetch is an ancestor of api's server span, in the same trace.
import type { Comparison, Span } from "@tracemesh/trace-model";

/** A check as verify.ts reports it (its VerifyCheck; not imported, so the two modules form no cycle). */
interface BrowserCheck {
  name: string;
  ok: boolean;
  detail: string;
}

/** A span made in a browser: the web SDK's resource says so (telemetry.sdk.language = webjs). */
export function isBrowserSpan(span: Span): boolean {
  return span.resource["telemetry.sdk.language"] === "webjs";
}

/**
 * X-Ray edges into a browser's service that the OTLP map cannot draw: a page's document load continues the frontend
 * server's span (`<meta name="traceparent">`), and X-Ray draws every parent → child segment across services as an
 * edge (frontend → frontend-web), where the OTLP map draws client → server calls only. A known difference, not a
 * lost span.
 */
export function pageLoadEdges(comparison: Comparison, spans: readonly Span[]): string[] {
  const browser = new Set(spans.filter(isBrowserSpan).map((s) => s.serviceName));
  return comparison.edges
    .filter((e) => e.category === "only-xray" && e.xray.length > 0 && e.xray.every((x) => browser.has(x.to)))
    .map((e) => `${e.xray[0]!.from} → ${e.xray[0]!.to}`);
}

export function browserChecks(spans: readonly Span[]): BrowserCheck[] {
  const key = (traceId: string, spanId: string) => `${traceId}/${spanId}`;
  const byKey = new Map(spans.map((s) => [key(s.traceId, s.spanId), s]));
  const web = spans.filter(isBrowserSpan);
  const webServices = [...new Set(web.map((s) => s.serviceName))].sort();
  const joined = new Set<string>();
  for (const server of spans.filter((s) => s.serviceName === "api" && s.kind === "SERVER")) {
    // Walk up from api's server span; bounded by the trace's size, so a cycle cannot hang it.
    let parent = byKey.get(key(server.traceId, server.parentSpanId));
    for (let hops = 0; parent && hops < spans.length; hops++) {
      if (isBrowserSpan(parent)) {
        joined.add(server.traceId);
        break;
      }
      parent = byKey.get(key(parent.traceId, parent.parentSpanId));
    }
  }
  return [
    {
      name: "the browser's spans (frontend-web) are joined to api's in the same traces",
      ok: joined.size > 0,
      detail:
        web.length === 0
          ? "no span from a browser in the export"
          : `${joined.size} of ${new Set(web.map((s) => s.traceId)).size} browser traces reach api through the frontend server (${web.length} spans of ${webServices.join(", ")})`,
    },
  ];
}
