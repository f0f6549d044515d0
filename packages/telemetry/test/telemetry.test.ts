// tools: redis
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import net from "node:net";
import path from "node:path";
import {
  startProcess,
  startRedis,
  startRollbarStandIn,
  waitFor,
  type LocalRedis,
  type ManagedProcess,
  type RollbarStandIn,
} from "@tracemesh/devkit";
import { decodeOtlpTraces, type Span } from "@tracemesh/trace-model";
import {
  BaggageAttributesSpanProcessor,
  parseHttpPeers,
  peerServiceFor,
  serviceIdentity,
  serviceResourceAttributes,
  traceIdFromXray,
  xrayNamingAttributes,
  xrayTraceId,
} from "../src/index.js";
import { batchOptionsFromEnv, samplerFromEnv } from "../src/telemetry.js";
import { context, propagation, SpanKind } from "@opentelemetry/api";
import { TracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace";

const PACKAGE_DIR = path.resolve(__dirname, "../..");
const FIXTURE = path.join(__dirname, "fixtures", "traced-app.js");

describe("X-Ray trace ids", { timeout: 5000 }, () => {
  test("converts a W3C trace id to the X-Ray form and back", () => {
    const id = "6b05d746dbc542b7fb21e379eb25bd97";
    assert.equal(xrayTraceId(id), "1-6b05d746-dbc542b7fb21e379eb25bd97");
    assert.equal(traceIdFromXray("1-6b05d746-dbc542b7fb21e379eb25bd97"), id);
  });
  test("refuses ids of the wrong shape", () => {
    assert.throws(() => xrayTraceId("6b05d746"), /not a trace id/);
    assert.throws(() => xrayTraceId("6B05D746DBC542B7FB21E379EB25BD97"), /not a trace id/);
    assert.throws(() => traceIdFromXray("6b05d746dbc542b7fb21e379eb25bd97"), /not an X-Ray trace id/);
  });
});

describe("peer.service", { timeout: 5000 }, () => {
  test("names the gRPC callee by the service.name that serves it", () => {
    assert.equal(peerServiceFor({ name: "grpc.tracemesh.v1.UsersService/GetUser", attributes: {} }), "users");
    assert.equal(peerServiceFor({ name: "grpc.tracemesh.v1.ActivitiesService/HomeFeed", attributes: {} }), "activities");
    assert.equal(
      peerServiceFor({ name: "grpc.tracemesh.v1.NotificationsService/ListNotifications", attributes: {} }),
      "notifications",
    );
    assert.equal(peerServiceFor({ name: "x", attributes: { "rpc.service": "tracemesh.v1.UsersService" } }), "users");
    assert.equal(peerServiceFor({ name: "grpc.grpc.health.v1.Health/Check", attributes: {} }), undefined);
  });
  test("names Redis commands `redis`", () => {
    assert.equal(peerServiceFor({ name: "xadd", attributes: { "db.system.name": "redis" } }), "redis");
    assert.equal(peerServiceFor({ name: "get", attributes: {}, scope: "@opentelemetry/instrumentation-ioredis" }), "redis");
  });
  test("names HTTP callees from TRACEMESH_HTTP_PEERS", () => {
    const peers = parseHttpPeers("127.0.0.1:8080=api, api.tracemesh=api,broken");
    assert.deepEqual(peers, { "127.0.0.1:8080": "api", "api.tracemesh": "api" });
    assert.equal(peerServiceFor({ name: "GET", attributes: { "server.address": "127.0.0.1", "server.port": 8080 } }, peers), "api");
    assert.equal(peerServiceFor({ name: "GET", attributes: { "server.address": "api.tracemesh", "server.port": 80 } }, peers), "api");
    assert.equal(peerServiceFor({ name: "GET", attributes: { "server.address": "example.test", "server.port": 80 } }, peers), undefined);
  });
});

describe("X-Ray segment naming (aws.* attributes on local roots)", { timeout: 5000 }, () => {
  test("a root INTERNAL span (loadgen's flow) is named after its service", () => {
    assert.deepEqual(xrayNamingAttributes({ kind: SpanKind.INTERNAL, localRoot: true, serviceName: "loadgen", attributes: {} }), {
      "aws.span.kind": "LOCAL_ROOT",
      "aws.local.service": "loadgen",
    });
  });
  test("a CONSUMER with a remote parent: service segment + dependency subsegment named after what it reads", () => {
    const attrs = xrayNamingAttributes({
      kind: SpanKind.CONSUMER,
      localRoot: true,
      serviceName: "notifications",
      attributes: { "messaging.system": "redis" },
    });
    assert.deepEqual(attrs, { "aws.span.kind": "LOCAL_ROOT", "aws.local.service": "notifications", "aws.remote.service": "redis" });
  });
  test("a root CLIENT span keeps its peer as the remote service", () => {
    const attrs = xrayNamingAttributes({ kind: SpanKind.CLIENT, localRoot: true, serviceName: "loadgen", attributes: { "peer.service": "api" } });
    assert.equal(attrs["aws.remote.service"], "api");
  });
  test("SERVER spans and spans with a local parent are left alone", () => {
    assert.deepEqual(xrayNamingAttributes({ kind: SpanKind.SERVER, localRoot: true, serviceName: "api", attributes: {} }), {});
    assert.deepEqual(xrayNamingAttributes({ kind: SpanKind.CLIENT, localRoot: false, serviceName: "api", attributes: {} }), {});
  });
});

describe("baggage → span attributes", { timeout: 5000 }, () => {
  test("session.id from the parent context's baggage lands on the span; other keys and overlong values do not", () => {
    const exporter = new InMemorySpanExporter();
    const provider = new TracerProvider({ spanProcessors: [new BaggageAttributesSpanProcessor(), new SimpleSpanProcessor({ exporter })] });
    const tracer = provider.getTracer("test");
    const withBaggage = (entries: Record<string, string>) =>
      propagation.setBaggage(context.active(), propagation.createBaggage(Object.fromEntries(Object.entries(entries).map(([k, v]) => [k, { value: v }]))));
    tracer.startSpan("from the browser", {}, withBaggage({ "session.id": "0123abcd", synthetic: "true" })).end();
    tracer.startSpan("overlong", {}, withBaggage({ "session.id": "x".repeat(129) })).end();
    tracer.startSpan("set by the caller", { attributes: { "session.id": "own" } }, withBaggage({ "session.id": "0123abcd" })).end();
    tracer.startSpan("no baggage").end();
    const attrs = Object.fromEntries(exporter.getFinishedSpans().map((s) => [s.name, s.attributes]));
    assert.deepEqual(attrs["from the browser"], { "session.id": "0123abcd" });
    assert.deepEqual(attrs["overlong"], {});
    assert.deepEqual(attrs["set by the caller"], { "session.id": "own" });
    assert.deepEqual(attrs["no baggage"], {});
  });
});

describe("sampler from the environment (as NodeSDK reads it)", { timeout: 5000 }, () => {
  test("OTEL_TRACES_SAMPLER and its ratio; unset or unknown: parent-based, always on", () => {
    const described = (env: NodeJS.ProcessEnv) => samplerFromEnv(env).toString();
    assert.match(described({}), /^ParentBased\{root=AlwaysOnSampler/);
    assert.match(described({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.1" }), /^ParentBased\{root=TraceIdRatioBased\{0\.1\}/);
    assert.match(described({ OTEL_TRACES_SAMPLER: "traceidratio", OTEL_TRACES_SAMPLER_ARG: "0.25" }), /^TraceIdRatioBased\{0\.25\}/);
    assert.equal(described({ OTEL_TRACES_SAMPLER: "always_off" }), "AlwaysOffSampler");
    assert.match(described({ OTEL_TRACES_SAMPLER: "parentbased_traceidratio", OTEL_TRACES_SAMPLER_ARG: "7" }), /TraceIdRatioBased\{1\}/, "out of range: 1");
    assert.match(described({ OTEL_TRACES_SAMPLER: "no_such_sampler" }), /^ParentBased\{root=AlwaysOnSampler/);
  });
});

describe("batch span processor from the environment (OTEL_BSP_*)", { timeout: 5000 }, () => {
  test("the four variables as the specification names them; unset, empty or not a positive number: the SDK's default", () => {
    assert.deepEqual(
      batchOptionsFromEnv({ OTEL_BSP_SCHEDULE_DELAY: "200", OTEL_BSP_EXPORT_TIMEOUT: "10000", OTEL_BSP_MAX_QUEUE_SIZE: "4096", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: " 64 " }),
      { scheduledDelayMillis: 200, exportTimeoutMillis: 10000, maxQueueSize: 4096, maxExportBatchSize: 64 },
    );
    const none = { scheduledDelayMillis: undefined, exportTimeoutMillis: undefined, maxQueueSize: undefined, maxExportBatchSize: undefined };
    assert.deepEqual(batchOptionsFromEnv({}), none);
    assert.deepEqual(batchOptionsFromEnv({ OTEL_BSP_SCHEDULE_DELAY: "", OTEL_BSP_EXPORT_TIMEOUT: "soon", OTEL_BSP_MAX_QUEUE_SIZE: "0", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "-5" }), none);
  });
});

describe("resource", { timeout: 5000 }, () => {
  test("service name: OTEL_SERVICE_NAME, else TRACEMESH_SERVICE, else the package in cwd", () => {
    assert.equal(serviceIdentity({ OTEL_SERVICE_NAME: "x", TRACEMESH_SERVICE: "@tracemesh/api" }, PACKAGE_DIR).name, "x");
    assert.equal(serviceIdentity({ TRACEMESH_SERVICE: "@tracemesh/api" }, PACKAGE_DIR).name, "api");
    assert.deepEqual(serviceIdentity({}, PACKAGE_DIR), { name: "telemetry", version: "0.1.0" });
  });
  test("environment and Kubernetes names from the environment", () => {
    const attrs = serviceResourceAttributes({ DEPLOYMENT_ENVIRONMENT: "kind", POD_NAME: "api-1", POD_NAMESPACE: "tracemesh", NODE_NAME: "n1" }, PACKAGE_DIR);
    assert.equal(attrs["deployment.environment.name"], "kind");
    assert.equal(attrs["k8s.pod.name"], "api-1");
    assert.equal(attrs["k8s.namespace.name"], "tracemesh");
    assert.equal(attrs["k8s.node.name"], "n1");
    const local = serviceResourceAttributes({}, PACKAGE_DIR);
    assert.equal(local["deployment.environment.name"], "local");
    assert.equal(local["k8s.pod.name"], undefined);
  });
});

/** An OTLP/HTTP receiver on loopback that keeps decoded spans (JSON or protobuf). */
async function startReceiver(): Promise<{ url: string; spans: Span[]; batches: Span[][]; requests: number; stop(): Promise<void> }> {
  const state = { spans: [] as Span[], batches: [] as Span[][], requests: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      state.requests += 1;
      const batch = decodeOtlpTraces(Buffer.concat(chunks), String(req.headers["content-type"]), String(req.headers["content-encoding"] ?? ""));
      state.batches.push(batch);
      state.spans.push(...batch);
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    get spans() {
      return state.spans;
    },
    get batches() {
      return state.batches;
    },
    get requests() {
      return state.requests;
    },
    stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))),
  };
}

function runFixture(env: NodeJS.ProcessEnv): ManagedProcess {
  return startProcess("traced-app", process.execPath, ["--require", "@tracemesh/telemetry/register", FIXTURE], {
    cwd: PACKAGE_DIR,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
  });
}

async function summary(app: ManagedProcess): Promise<Record<string, unknown>> {
  const status = await Promise.race([
    app.exited,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`fixture did not exit\n${app.output()}`)), 15_000).unref()),
  ]);
  assert.equal(status.code, 0, app.output());
  const done = app.jsonLines().find((l) => l.msg === "done");
  assert.ok(done, `no summary line\n${app.output()}`);
  return done;
}

describe("register (node --require @tracemesh/telemetry/register)", { timeout: 60_000 }, () => {
  let redis: LocalRedis;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let rollbar: RollbarStandIn;
  const apps: ManagedProcess[] = [];

  before(async () => {
    redis = await startRedis();
    receiver = await startReceiver();
    rollbar = await startRollbarStandIn({ accessToken: "test-token" });
  });
  after(async () => {
    await Promise.all(apps.map((a) => a.stop()));
    await receiver?.stop();
    await rollbar?.stop();
    await redis?.stop();
  });

  test("exports one connected trace: HTTP route, gRPC client/server, Redis, peer.service, X-Ray ids, log correlation, Rollbar", async () => {
    const app = runFixture({
      REDIS_URL: redis.url,
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
      OTEL_RESOURCE_ATTRIBUTES: "team.name=mesh,service.version=9.9.9",
      TRACEMESH_SERVICE: "@tracemesh/api",
      POD_NAME: "api-7d9f",
      TRACEMESH_HTTP_PEERS: "127.0.0.1=api",
      ROLLBAR_ACCESS_TOKEN: "test-token",
      ROLLBAR_ENDPOINT: rollbar.endpoint,
    });
    apps.push(app);
    const done = await summary(app);
    assert.equal(done.status, 200, app.output());
    assert.equal(done.telemetry, true);
    assert.equal(done.flushed, true);

    const spans = receiver.spans;
    const server = spans.find((s) => s.kind === "SERVER" && s.scope === "@opentelemetry/instrumentation-http");
    assert.ok(server, `no HTTP server span in ${JSON.stringify(spans.map((s) => s.name))}`);
    assert.equal(server.name, "GET /api/users/:handle");
    assert.equal(server.attributes["http.route"], "/api/users/:handle");

    const traceSpans = spans.filter((s) => s.traceId === server.traceId);
    const byName = (name: string, kind: Span["kind"]) => traceSpans.find((s) => s.name === name && s.kind === kind);
    const grpcClient = byName("grpc.tracemesh.v1.UsersService/GetUser", "CLIENT");
    const grpcServer = byName("grpc.tracemesh.v1.UsersService/GetUser", "SERVER");
    const redisSet = byName("set", "CLIENT");
    const fetchClient = traceSpans.find((s) => s.scope === "@opentelemetry/instrumentation-undici");
    assert.ok(grpcClient && grpcServer && redisSet && fetchClient, `trace: ${JSON.stringify(traceSpans.map((s) => [s.name, s.kind]))}`);
    assert.equal(fetchClient.parentSpanId, "", "fetch() is the root of the trace");
    assert.equal(server.parentSpanId, fetchClient.spanId);
    assert.equal(grpcClient.parentSpanId, server.spanId);
    assert.equal(grpcServer.parentSpanId, grpcClient.spanId);
    assert.equal(grpcClient.attributes["peer.service"], "users");
    assert.equal(grpcClient.attributes["rpc.service"], "tracemesh.v1.UsersService");
    assert.equal(redisSet.attributes["peer.service"], "redis");

    // pipeline: one client span for the round trip, the per-command spans suppressed.
    const pipeline = byName("pipeline get exists", "CLIENT");
    assert.ok(pipeline, `no pipeline span in ${JSON.stringify(traceSpans.map((s) => s.name))}`);
    assert.equal(pipeline.parentSpanId, redisSet.parentSpanId, "a child of the active span, like any command");
    assert.equal(pipeline.attributes["db.operation.batch.size"], 2);
    assert.equal(pipeline.attributes["peer.service"], "redis");
    assert.equal(traceSpans.filter((s) => s.name === "get" || s.name === "exists").length, 0, "pipelined commands have no spans of their own");
    const pipelineLog = app.jsonLines().find((l) => l.msg === "pipeline");
    assert.deepEqual([pipelineLog?.last, pipelineLog?.exists], ['{"handle":"ada"}', 1], "replies in command order");
    assert.equal(fetchClient.attributes["peer.service"], "api");
    assert.equal(grpcServer.attributes["peer.service"], undefined, "only client spans name a peer");

    // Only the chosen instrumentations: no net, dns or fs spans.
    const scopes = new Set(spans.map((s) => s.scope));
    for (const scope of scopes) {
      assert.match(scope, /^(@opentelemetry\/instrumentation-(http|ioredis|undici)|@tracemesh\/(runtime|instrumentation-grpc))$/, `unexpected scope ${scope}`);
    }

    // AWS X-Ray id generator: the first 8 hex digits are the start time in epoch seconds.
    const epoch = parseInt(server.traceId.slice(0, 8), 16);
    assert.ok(Math.abs(epoch - Date.now() / 1000) < 120, `trace id ${server.traceId} does not start with the time`);

    assert.equal(server.resource["service.name"], "api");
    assert.equal(server.resource["service.version"], "9.9.9", "OTEL_RESOURCE_ATTRIBUTES wins over the package version");
    assert.equal(server.resource["team.name"], "mesh");
    assert.equal(server.resource["deployment.environment.name"], "local");
    assert.equal(server.resource["k8s.pod.name"], "api-7d9f");
    assert.equal(server.resource["host.name"] !== undefined, true);
    assert.equal(server.resource["cloud.provider"], undefined, "no cloud detectors");

    // Propagation: W3C and the X-Ray header on the wire; log lines carry both id forms.
    const incoming = app.jsonLines().find((l) => l.msg === "incoming");
    assert.ok(incoming);
    assert.match(String(incoming.traceparent), new RegExp(`^00-${server.traceId}-`));
    assert.match(String(incoming.xray), new RegExp(`^Root=${xrayTraceId(server.traceId)};Parent=[0-9a-f]{16};Sampled=1$`));
    const getUserLog = app.jsonLines().find((l) => l.msg === "GetUser");
    assert.ok(getUserLog);
    assert.equal(getUserLog.trace_id, server.traceId);
    assert.equal(getUserLog.span_id, grpcServer.spanId);
    assert.equal(getUserLog.trace_flags, "01");
    assert.equal(getUserLog.xray_trace_id, xrayTraceId(server.traceId));

    // Rollbar (local stand-in, checks the token header and item shape): the ids as custom data, secrets scrubbed.
    const items = rollbar.items();
    assert.equal(items.length, 1, JSON.stringify(items));
    const custom = items[0]!.data.custom as Record<string, unknown>;
    assert.equal(custom.trace_id, server.traceId);
    assert.equal(custom.xray_trace_id, xrayTraceId(server.traceId));
    assert.match(String(custom.span_id), /^[0-9a-f]{16}$/);
    assert.equal(custom.route, "/api/users/:handle");
    assert.equal(custom.service, "traced-app");
    assert.notEqual(custom.password, "hunter2", "password scrubbed");
    assert.equal(JSON.stringify(items[0]!.data).includes("hunter2"), false);
    // The upload itself is not traced (it would show as a `POST` node in every failing trace).
    const rollbarPort = new URL(rollbar.endpoint).port;
    const uploads = spans.filter((s) => s.kind === "CLIENT" && String(s.attributes["server.port"] ?? s.attributes["net.peer.port"]) === rollbarPort);
    assert.deepEqual(uploads.map((s) => s.name), [], "no client span for the Rollbar upload");
  });

  /** The fixture's Redis and this test's OTLP receiver (JSON). */
  const exportingToReceiver = () => ({ REDIS_URL: redis.url, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" });

  test("OTEL_NODE_ENABLED_INSTRUMENTATIONS=http leaves only HTTP spans", async () => {
    const app = runFixture({ ...exportingToReceiver(), OTEL_SERVICE_NAME: "only-http", OTEL_NODE_ENABLED_INSTRUMENTATIONS: "http" });
    apps.push(app);
    const done = await summary(app);
    assert.equal(done.status, 200, app.output());
    const spans = receiver.spans.filter((s) => s.resource["service.name"] === "only-http");
    const scopes = new Set(spans.map((s) => s.scope));
    // The fixture's own pipeline() span is tracemesh's manual instrumentation, not an auto-instrumentation.
    assert.deepEqual([...scopes].filter((s) => s !== "@tracemesh/runtime"), ["@opentelemetry/instrumentation-http"], JSON.stringify([...scopes]));
    const server = spans.find((s) => s.kind === "SERVER");
    assert.equal(server?.name, "GET /api/users/:handle", "today's HTTP settings still apply (route naming)");
    assert.equal(server?.parentSpanId, "", "fetch() (undici) is not traced: the server span is the root");
    // pino is not instrumented either: no trace ids in the log lines.
    assert.equal(app.jsonLines().find((l) => l.msg === "GetUser")?.trace_id, undefined);
  });

  test("OTEL_NODE_DISABLED_INSTRUMENTATIONS=ioredis removes Redis spans from the default set", async () => {
    const app = runFixture({ ...exportingToReceiver(), OTEL_SERVICE_NAME: "no-redis", OTEL_NODE_DISABLED_INSTRUMENTATIONS: "ioredis" });
    apps.push(app);
    await summary(app);
    const scopes = new Set(receiver.spans.filter((s) => s.resource["service.name"] === "no-redis").map((s) => s.scope));
    assert.ok(scopes.has("@tracemesh/instrumentation-grpc") && scopes.has("@opentelemetry/instrumentation-undici"), JSON.stringify([...scopes]));
    assert.equal(scopes.has("@opentelemetry/instrumentation-ioredis"), false);
    assert.ok(app.jsonLines().find((l) => l.msg === "GetUser")?.trace_id, "pino still instrumented");
  });

  test("OTEL_TRACES_SAMPLER=parentbased_always_off: nothing exported, yet the gRPC hop carries the trace id and the decision", async () => {
    const app = runFixture({ ...exportingToReceiver(), OTEL_SERVICE_NAME: "unsampled", OTEL_TRACES_SAMPLER: "parentbased_always_off" });
    apps.push(app);
    const done = await summary(app);
    assert.equal(done.status, 200, app.output());
    assert.deepEqual(receiver.spans.filter((s) => s.resource["service.name"] === "unsampled").map((s) => s.name), []);
    const incoming = app.jsonLines().find((l) => l.msg === "incoming");
    const traceId = /^00-([0-9a-f]{32})-[0-9a-f]{16}-00$/.exec(String(incoming?.traceparent))?.[1];
    assert.ok(traceId, `the request's traceparent: ${String(incoming?.traceparent)}`);
    assert.equal(incoming?.trace_id, traceId, "the HTTP handler's log line is in the request's trace");
    const getUser = app.jsonLines().find((l) => l.msg === "GetUser");
    assert.match(String(getUser?.traceparent), new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`), "the gRPC metadata says: same trace, not sampled");
    assert.equal(getUser?.trace_id, traceId, "the handler's log line is correlated though nothing was recorded");
  });

  test("OTEL_BSP_MAX_EXPORT_BATCH_SIZE=1 and a schedule delay of an hour: every span is its own export request", async () => {
    // With the variables ignored (sdk-trace 3.x alone) the whole trace goes in one request, at shutdown.
    const app = runFixture({ ...exportingToReceiver(), OTEL_SERVICE_NAME: "bsp-one", OTEL_BSP_MAX_EXPORT_BATCH_SIZE: "1", OTEL_BSP_SCHEDULE_DELAY: "3600000" });
    apps.push(app);
    await summary(app);
    const batches = receiver.batches.filter((b) => b.some((s) => s.resource["service.name"] === "bsp-one"));
    assert.ok(batches.length >= 4, `${batches.length} requests`);
    assert.deepEqual(batches.filter((b) => b.length !== 1).map((b) => b.length), [], "one span per request");
  });

  test("OTEL_SDK_DISABLED=true starts nothing and exports nothing", async () => {
    const before = receiver.requests;
    const app = runFixture({
      REDIS_URL: redis.url,
      OTEL_SDK_DISABLED: "true",
      OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url,
      OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
    });
    apps.push(app);
    const done = await summary(app);
    assert.equal(done.status, 200);
    assert.equal(done.telemetry, false);
    const getUserLog = app.jsonLines().find((l) => l.msg === "GetUser");
    assert.equal(getUserLog?.trace_id, undefined, "no log correlation without the SDK");
    assert.equal(receiver.requests, before);
  });

  test("without ROLLBAR_ACCESS_TOKEN error reporting is disabled with one info line", async () => {
    const app = runFixture({ REDIS_URL: redis.url, OTEL_SDK_DISABLED: "true" });
    apps.push(app);
    await summary(app);
    const lines = app.jsonLines().filter((l) => String(l.msg).startsWith("error reporting"));
    assert.deepEqual(lines.map((l) => l.msg), ["error reporting disabled (ROLLBAR_ACCESS_TOKEN not set)"]);
  });

  test("shutdownTelemetry gives up at its bound when the Collector does not answer", async () => {
    // Accepts connections and never answers: the exporter would wait for its own 10 s timeout.
    const sockets: net.Socket[] = [];
    const blackHole = net.createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => blackHole.listen(0, "127.0.0.1", resolve));
    try {
      const app = runFixture({
        REDIS_URL: redis.url,
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${(blackHole.address() as net.AddressInfo).port}`,
        SHUTDOWN_BOUND_MS: "500",
      });
      apps.push(app);
      const done = await summary(app);
      assert.equal(done.flushed, false);
      assert.ok(Number(done.shutdownMs) < 1500, `shutdown took ${String(done.shutdownMs)} ms`);
      await waitFor("the exporter to have tried", () => sockets.length > 0, { timeoutMs: 1000 });
    } finally {
      for (const s of sockets) s.destroy();
      blackHole.close();
    }
  });
});
