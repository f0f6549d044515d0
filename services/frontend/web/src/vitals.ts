// Core Web Vitals (LCP, INP, CLS) plus FCP and TTFB from the web-vitals package, each recorded as a
// span `web-vital <name>` with the value on it (`web_vital.value`, ms or unitless for CLS) and an
// event of the same name. LCP is final at the first input or when the page is hidden; INP and CLS
// when the page is hidden — so they must be registered before the flush on page hide (tracing.ts).
import { ROOT_CONTEXT, trace } from "@opentelemetry/api";
import { onCLS, onFCP, onINP, onLCP, onTTFB, type Metric } from "web-vitals";

function record(metric: Metric): void {
  const tracer = trace.getTracer("frontend-web/web-vitals");
  const attributes = {
    "web_vital.name": metric.name,
    "web_vital.value": metric.value,
    "web_vital.rating": metric.rating,
    "web_vital.delta": metric.delta,
    "web_vital.id": metric.id,
    "web_vital.navigation_type": metric.navigationType,
    "url.path": location.pathname,
  };
  // A root span of its own: a vital belongs to the page, not to whatever the user clicked last.
  const span = tracer.startSpan(`web-vital ${metric.name}`, { attributes }, ROOT_CONTEXT);
  span.addEvent(metric.name, { value: metric.value, rating: metric.rating });
  span.end();
}

export function recordWebVitals(): void {
  onLCP(record);
  onINP(record);
  onCLS(record);
  onFCP(record);
  onTTFB(record);
}
