// Experiments only (bench's profile command, never the benchmarks): preloaded before the telemetry
// register module, BENCH_SKIP_INSTRUMENTATIONS=ioredis,grpc… turns those instrumentations into
// no-ops, to measure what each one costs without editing the telemetry package.
import path from "node:path";

const skip = (process.env.BENCH_SKIP_INSTRUMENTATIONS ?? "").split(",").map((s) => s.trim()).filter(Boolean);
const PACKAGES: Record<string, [string, string]> = {
  ioredis: ["@opentelemetry/instrumentation-ioredis", "IORedisInstrumentation"],
  grpc: ["@opentelemetry/instrumentation-grpc", "GrpcInstrumentation"],
  http: ["@opentelemetry/instrumentation-http", "HttpInstrumentation"],
  pino: ["@opentelemetry/instrumentation-pino", "PinoInstrumentation"],
};
if (skip.length) {
  // Resolve the copies the telemetry package loads.
  const telemetryDir = path.dirname(require.resolve("@tracemesh/telemetry/package.json", { paths: [process.cwd()] }));
  for (const name of skip) {
    const entry = PACKAGES[name];
    if (!entry) throw new Error(`BENCH_SKIP_INSTRUMENTATIONS: unknown "${name}" (known: ${Object.keys(PACKAGES).join(", ")})`);
    const mod = require(require.resolve(entry[0], { paths: [telemetryDir] })) as Record<string, { prototype: { init(): unknown[] } }>;
    mod[entry[1]]!.prototype.init = () => [];
  }
}
