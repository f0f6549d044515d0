// The Collector's load for benchmark 8 (collector-cost.ts): `node collector-load-worker.js <OTLP endpoint>
// <traces/s> <seconds>` sends traces shaped like the mesh's posts (18 spans across api, users, activities and
// notifications, with the attributes our instrumentations set) over OTLP/HTTP protobuf, as the services do:
// one SDK tracer provider, resource and batch processor per service. Prints {"spans":N} when all were sent.
import { context, SpanKind, trace, type Attributes, type Context, type Span, type Tracer } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

const SERVICES = ["api", "users", "activities", "notifications"] as const;
type Service = (typeof SERVICES)[number];

function providerFor(service: Service, endpoint: string): TracerProvider {
  return new TracerProvider({
    resource: resourceFromAttributes({
      "service.name": service,
      "service.namespace": "bench",
      "service.version": "0.1.0",
      "deployment.environment.name": "local",
      "telemetry.sdk.language": "nodejs",
      "telemetry.sdk.name": "opentelemetry",
      "telemetry.sdk.version": "3.1.1",
      "host.name": "bench",
      "process.pid": process.pid,
      "process.runtime.name": "nodejs",
      "process.runtime.version": process.versions.node,
    }),
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }) })],
  });
}

const grpc = (service: string, method: string, peer: string): Attributes => ({
  "rpc.system": "grpc",
  "rpc.service": `tracemesh.v1.${service}`,
  "rpc.method": method,
  "rpc.grpc.status_code": 0,
  "server.address": "127.0.0.1",
  "server.port": 50051,
  "peer.service": peer,
});
const redis = (statement: string): Attributes => ({
  "db.system.name": "redis",
  "db.query.text": statement,
  "server.address": "127.0.0.1",
  "server.port": 6379,
  "peer.service": "redis",
});

/** One post's trace: api → users (auth) and activities (store, moderate, publish) → notifications (consume). */
function postTrace(t: Record<Service, Tracer>): number {
  let spans = 0;
  const child = (tracer: Tracer, name: string, kind: SpanKind, attributes: Attributes, parent: Context, body?: (ctx: Context) => void): void => {
    const span: Span = tracer.startSpan(name, { kind, attributes }, parent);
    spans++;
    body?.(trace.setSpan(parent, span));
    span.end();
  };
  const root = context.active();
  child(t.api, "POST /api/activities", SpanKind.SERVER, {
    "http.request.method": "POST",
    "http.route": "/api/activities",
    "url.path": "/api/activities",
    "url.scheme": "http",
    "http.response.status_code": 201,
    "server.address": "127.0.0.1",
    "server.port": 8080,
    "network.protocol.version": "1.1",
    "user_agent.original": "tracemesh-loadgen/0.1.0",
    "client.address": "127.0.0.1",
  }, root, (api) => {
    child(t.api, "grpc.tracemesh.v1.UsersService/Authenticate", SpanKind.CLIENT, grpc("UsersService", "Authenticate", "users"), api, (c) =>
      child(t.users, "grpc.tracemesh.v1.UsersService/Authenticate", SpanKind.SERVER, grpc("UsersService", "Authenticate", "users"), c, (s) =>
        child(t.users, "hgetall", SpanKind.CLIENT, redis("hgetall session:*"), s),
      ),
    );
    child(t.api, "grpc.tracemesh.v1.ActivitiesService/Post", SpanKind.CLIENT, grpc("ActivitiesService", "Post", "activities"), api, (c) =>
      child(t.activities, "grpc.tracemesh.v1.ActivitiesService/Post", SpanKind.SERVER, grpc("ActivitiesService", "Post", "activities"), c, (s) => {
        child(t.activities, "POST", SpanKind.CLIENT, { "http.request.method": "POST", "url.full": "http://127.0.0.1:9000/moderate", "http.response.status_code": 200, "server.address": "127.0.0.1", "server.port": 9000, "peer.service": "moderation" }, s);
        child(t.activities, "store activity", SpanKind.INTERNAL, { "app.activity.ttl": "1-hour" }, s, (i) => {
          child(t.activities, "pipeline hset zadd", SpanKind.CLIENT, redis("hset activity:* [2 other arguments]"), i);
          child(t.activities, "zadd", SpanKind.CLIENT, redis("zadd timeline:* ? ?"), i);
        });
        child(t.activities, "activities publish", SpanKind.PRODUCER, { "messaging.system": "redis", "messaging.destination.name": "activities", "messaging.operation.type": "send", "peer.service": "redis" }, s, (p) =>
          child(t.notifications, "activities process", SpanKind.CONSUMER, { "messaging.system": "redis", "messaging.destination.name": "activities", "messaging.operation.type": "process", "aws.span.kind": "LOCAL_ROOT", "aws.local.service": "notifications", "aws.remote.service": "redis" }, p, (n) => {
            child(t.notifications, "grpc.tracemesh.v1.UsersService/GetUser", SpanKind.CLIENT, grpc("UsersService", "GetUser", "users"), n, (c2) =>
              child(t.users, "grpc.tracemesh.v1.UsersService/GetUser", SpanKind.SERVER, grpc("UsersService", "GetUser", "users"), c2, (s2) => {
                child(t.users, "hgetall", SpanKind.CLIENT, redis("hgetall user:*"), s2);
                child(t.users, "get", SpanKind.CLIENT, redis("get handle:*"), s2);
              }),
            );
            child(t.notifications, "hset", SpanKind.CLIENT, redis("hset notification:* [4 other arguments]"), n);
            child(t.notifications, "xack", SpanKind.CLIENT, redis("xack activities notifications ?"), n);
          }),
        );
      }),
    );
  });
  return spans;
}

async function main(): Promise<void> {
  const [endpoint = "", rateText = "100", secondsText = "5"] = process.argv.slice(2);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const providers = Object.fromEntries(SERVICES.map((s) => [s, providerFor(s, endpoint)])) as Record<Service, TracerProvider>;
  const tracers = Object.fromEntries(SERVICES.map((s) => [s, providers[s].getTracer("bench")])) as Record<Service, Tracer>;
  const rate = Number(rateText);
  const total = Math.round(rate * Number(secondsText));
  const started = Date.now();
  let spans = 0;
  // Open loop: trace i is due at started + i / rate; sent in 10 ms ticks.
  for (let i = 0; i < total; ) {
    const due = Math.min(total, Math.floor(((Date.now() - started) / 1000) * rate) + 1);
    for (; i < due; i++) spans += postTrace(tracers);
    await new Promise((r) => setTimeout(r, 10));
  }
  await Promise.all(SERVICES.map((s) => providers[s].forceFlush()));
  process.stdout.write(JSON.stringify({ spans }) + "\n");
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: Error) => {
      process.stderr.write(`collector load failed: ${err.stack ?? err.message}\n`);
      process.exit(1);
    },
  );
}
