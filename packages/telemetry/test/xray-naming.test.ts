// The X-Ray naming processor reads service.name without touching a resource whose detectors are still settling:
// reading `resource.attributes` then logs an error, which every short-lived process (seed, loadgen) printed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { diag, DiagLogLevel, type DiagLogger } from "@opentelemetry/api";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { TracerProvider } from "@opentelemetry/sdk-trace";
import { XrayNamingSpanProcessor } from "../src/index.js";

test("a root span started before the resource's async attributes settle is named, and nothing is logged", async () => {
  const logged: string[] = [];
  const record = (...args: unknown[]) => void logged.push(args.map(String).join(" "));
  const logger: DiagLogger = { error: record, warn: record, info: () => {}, debug: () => {}, verbose: () => {} };
  diag.setLogger(logger, { logLevel: DiagLogLevel.WARN, suppressOverrideMessage: true });
  try {
    let settle: (id: string) => void = () => {};
    // Like hostDetector's host.id (read from a file): a promise when the first spans start.
    const hostId = new Promise<string>((resolve) => (settle = resolve));
    const resource = resourceFromAttributes({ "service.name": "seed" }).merge(resourceFromAttributes({ "host.id": hostId }));
    assert.equal(resource.asyncAttributesPending, true);
    const provider = new TracerProvider({ resource, spanProcessors: [new XrayNamingSpanProcessor()] });
    const span = provider.getTracer("t").startSpan("seed users") as unknown as { attributes: Record<string, unknown>; end(): void };
    assert.equal(span.attributes["aws.local.service"], "seed");
    span.end();
    settle("machine-1");
    await provider.shutdown();
    assert.deepEqual(logged, []);
  } finally {
    diag.disable();
  }
});
