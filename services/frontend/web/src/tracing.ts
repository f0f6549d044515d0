// Browser tracing, started before React renders (the user-interaction instrumentation wraps
// addEventListener, so React's root listeners must be added after it). A click on "Post" becomes one
// trace: the `click` span → the fetch span (traceparent + baggage on the request) → the frontend
// server → api → … Spans go through the frontend server's /otlp/v1/traces to the Collector, in
// batches, and are flushed when the page is hidden or left.
import { context, propagation, SpanKind, trace, type Context, type Span as ApiSpan, type TextMapGetter, type TextMapPropagator, type TextMapSetter } from "@opentelemetry/api";
import { CompositePropagator, hrTimeToMilliseconds, W3CBaggagePropagator, W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { AWSXRayIdGenerator } from "@opentelemetry/id-generator-aws-xray";
import { registerInstrumentations } from "@opentelemetry/instrumentation";
import { DocumentLoadInstrumentation } from "@opentelemetry/instrumentation-document-load";
import { FetchInstrumentation } from "@opentelemetry/instrumentation-fetch";
import { UserInteractionInstrumentation } from "@opentelemetry/instrumentation-user-interaction";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
// The 3.x trace SDK runs in the browser as it is (sdk-trace-web, its 2.x wrapper, has no 3.x): the provider,
// the batch processor and the stack context manager come from it.
import { BatchSpanProcessor, StackContextManager, TracerProvider, type ReadableSpan, type Span, type SpanProcessor } from "@opentelemetry/sdk-trace";
// The services' X-Ray naming rule (a browser-safe module of packages/telemetry): local-root spans that
// are not SERVER spans become segments named after service.name, not after the span.
import { XrayNamingSpanProcessor } from "@tracemesh/telemetry/xray-naming";
import { apiRoute } from "../../src/routes";
import { currentAccount, sessionId } from "./session";

export const SERVICE_NAME = "frontend-web";
const OTLP_PATH = "/otlp/v1/traces";

/**
 * Puts `session.id` (and who is signed in) on every span as it starts, and `peer.service=frontend` on
 * fetch spans: every request the page makes goes to the frontend server (same origin).
 */
class SessionSpanProcessor implements SpanProcessor {
  constructor(private readonly session: string) {}
  onStart(span: Span): void {
    span.setAttribute("session.id", this.session);
    if (span.kind === SpanKind.CLIENT) span.setAttribute("peer.service", "frontend");
    const account = currentAccount();
    if (account) span.setAttributes({ "enduser.id": account.handle, "app.user.handle": account.handle });
  }
  onEnd(): void {}
  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** W3C baggage that always carries `session.id`, so the backend's spans can be tied to the browser session. */
class SessionBaggagePropagator implements TextMapPropagator {
  private readonly baggage = new W3CBaggagePropagator();
  constructor(private readonly session: string) {}
  inject(ctx: Context, carrier: unknown, setter: TextMapSetter): void {
    const bag = (propagation.getBaggage(ctx) ?? propagation.createBaggage()).setEntry("session.id", { value: this.session });
    this.baggage.inject(propagation.setBaggage(ctx, bag), carrier, setter);
  }
  extract(ctx: Context, carrier: unknown, getter: TextMapGetter): Context {
    return this.baggage.extract(ctx, carrier, getter);
  }
  fields(): string[] {
    return this.baggage.fields();
  }
}

const attribute = (span: ApiSpan, ...names: string[]): string | undefined => {
  const attrs = (span as unknown as ReadableSpan).attributes;
  for (const n of names) if (typeof attrs[n] === "string") return attrs[n] as string;
  return undefined;
};

/**
 * Names a fetch span by the api route (`POST /api/activities`) and splits its time: the frontend
 * server says in Server-Timing how long api took (`api;dur=…`); the rest of the fetch is network
 * (browser ↔ frontend server, including the proxy hop).
 */
function describeFetch(span: ApiSpan, request: Request | RequestInit, result: Response | { status?: number }): void {
  const url = attribute(span, "url.full", "http.url");
  if (!url) return;
  const { pathname } = new URL(url, location.href);
  const method = (request.method ?? "GET").toUpperCase();
  if (pathname.startsWith("/api/")) {
    const route = apiRoute(pathname);
    span.setAttribute("http.route", route);
    span.updateName(`${method} ${route}`);
  }
  const timing = result instanceof Response ? result.headers.get("server-timing") : null;
  const backend = timing ? /(?:^|,)\s*api;dur=([\d.]+)/.exec(timing) : null;
  if (backend) {
    const backendMs = Number(backend[1]);
    const elapsedMs = Date.now() - hrTimeToMilliseconds((span as unknown as ReadableSpan).startTime);
    span.setAttributes({ "app.backend_ms": backendMs, "app.network_ms": Math.max(0, Math.round((elapsedMs - backendMs) * 10) / 10) });
  }
}

/** What a click was on: the button's or link's accessible text, kept short. */
function labelInteraction(_event: string, element: HTMLElement, span: { setAttribute(k: string, v: string): unknown }): boolean {
  // React listens for clicks twice on its root (capture and bubble phase) and the instrumentation makes
  // a span per listener, the second a child of the first. onClick handlers run in the bubble phase, so
  // that span is the one kept: the click is then one span, the parent of the fetch it causes.
  const current = (globalThis as { event?: Event }).event;
  if (current?.eventPhase === Event.CAPTURING_PHASE) return true;
  const target = element.closest<HTMLElement>("button, a, [role=button], input[type=submit]");
  // Clicks on nothing actionable (text, margins) would each make a one-span trace.
  if (!target) return true;
  const label = (target.getAttribute("aria-label") ?? target.textContent ?? "").trim().replace(/\s+/g, " ").slice(0, 60);
  span.setAttribute("app.ui.target", label);
  if (target.dataset.action) span.setAttribute("app.ui.action", target.dataset.action);
  return false;
}

export function startTracing(): TracerProvider {
  const session = sessionId();
  const exporter = new OTLPTraceExporter({ url: OTLP_PATH });
  const provider = new TracerProvider({
    resource: defaultResource().merge(
      resourceFromAttributes({
        "service.name": SERVICE_NAME,
        "service.version": __APP_VERSION__,
        "deployment.environment.name": location.hostname === "localhost" || location.hostname === "127.0.0.1" ? "local" : location.hostname,
      }),
    ),
    // X-Ray accepts these ids everywhere (time-ordered first 8 hex digits), like the services' ids.
    idGenerator: new AWSXRayIdGenerator(),
    spanProcessors: [new SessionSpanProcessor(session), new XrayNamingSpanProcessor(), new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1000, maxExportBatchSize: 64 })],
  });
  // What WebTracerProvider.register() did: a context manager for synchronous code, the propagator, the provider.
  context.setGlobalContextManager(new StackContextManager().enable());
  propagation.setGlobalPropagator(new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new SessionBaggagePropagator(session)] }));
  trace.setGlobalTracerProvider(provider);
  registerInstrumentations({
    tracerProvider: provider,
    instrumentations: [
      new DocumentLoadInstrumentation(),
      new UserInteractionInstrumentation({ eventNames: ["click"], shouldPreventSpanCreation: labelInteraction }),
      // Same origin: traceparent and baggage go on every /api request without propagateTraceHeaderCorsUrls.
      new FetchInstrumentation({ ignoreUrls: [/\/otlp\//], applyCustomAttributesOnSpan: describeFetch }),
    ],
  });
  // A hidden page may never come back (tab closed, app switched on a phone): send what is queued now.
  // The exporter's fetch uses keepalive, so the request survives the page.
  const flush = () => void provider.forceFlush();
  addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden") flush();
  });
  addEventListener("pagehide", flush);
  return provider;
}

/**
 * The browser's share after the answer: call it synchronously in the event handler (where the click's
 * span is the active context); call what it returns when the answer is in. That records a span
 * `render <what>`, a child of the click, from then until the next frame is painted.
 */
export function renderSpan(what: string): () => void {
  const parent = context.active();
  return () => {
    const span = trace.getTracer("frontend-web/ui").startSpan(`render ${what}`, {}, parent);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      span.end();
    };
    // After the next paint; a hidden page paints nothing, so the span is closed after a second anyway.
    requestAnimationFrame(() => setTimeout(end));
    setTimeout(end, 1000);
  };
}
