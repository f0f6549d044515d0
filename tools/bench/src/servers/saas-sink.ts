// Where the Collector's Honeycomb and X-Ray exporters send during the benchmarks: a cheap stand-in
// for both SaaS APIs (we cannot reach them, and they would not run on this machine anyway). It checks
// what the real APIs check before accepting (Honeycomb: POST /v1/traces with an x-honeycomb-team key
// and an OTLP content type; X-Ray: POST /TraceSegments signed with SigV4 for the xray service, a
// TraceSegmentDocuments list; its OTLP endpoint: POST /v1/traces signed the same way), answers like them, and only counts — the devkit stand-ins keep every
// span for assertions, which at benchmark rates would cost this machine GBs and a core.
// Runs as its own process; prints {"port":N}; GET /counts returns what it accepted and refused.
import http from "node:http";

const counts = { honeycombRequests: 0, honeycombBytes: 0, xrayRequests: 0, xraySegments: 0, xrayOtlpRequests: 0, refused: 0 };
const SIGV4_XRAY = /^AWS4-HMAC-SHA256 Credential=[^/]+\/\d{8}\/[a-z0-9-]+\/xray\/aws4_request,/;

function reply(res: http.ServerResponse, status: number, contentType: string, body: string): void {
  res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && path === "/counts") return reply(res, 200, "application/json", JSON.stringify(counts));
    if (req.method === "POST" && path === "/v1/traces") {
      const type = String(req.headers["content-type"] ?? "");
      // X-Ray's OTLP endpoint (the otlp_http/xray exporter): the same path, signed with SigV4 for xray.
      if (SIGV4_XRAY.test(String(req.headers.authorization ?? "")) && type.startsWith("application/x-protobuf")) {
        counts.xrayOtlpRequests++;
        return reply(res, 200, "application/x-protobuf", "");
      }
      if (!req.headers["x-honeycomb-team"]) {
        counts.refused++;
        return reply(res, 401, "application/json", '{"error":"unknown API key - check your credentials"}');
      }
      if (!type.startsWith("application/x-protobuf") && !type.startsWith("application/json")) {
        counts.refused++;
        return reply(res, 415, "application/json", '{"error":"unsupported content type"}');
      }
      counts.honeycombRequests++;
      counts.honeycombBytes += body.length;
      // An empty ExportTraceServiceResponse.
      return type.startsWith("application/json") ? reply(res, 200, "application/json", "{}") : reply(res, 200, "application/x-protobuf", "");
    }
    if (req.method === "POST" && path === "/TraceSegments") {
      if (!SIGV4_XRAY.test(String(req.headers.authorization ?? ""))) {
        counts.refused++;
        res.setHeader("x-amzn-ErrorType", "MissingAuthenticationTokenException");
        return reply(res, 403, "application/json", '{"message":"Missing Authentication Token"}');
      }
      let documents: unknown;
      try {
        documents = (JSON.parse(body.toString("utf8")) as { TraceSegmentDocuments?: unknown }).TraceSegmentDocuments;
      } catch {
        documents = undefined;
      }
      if (!Array.isArray(documents)) {
        counts.refused++;
        res.setHeader("x-amzn-ErrorType", "InvalidRequestException");
        return reply(res, 400, "application/json", '{"message":"TraceSegmentDocuments is required"}');
      }
      counts.xrayRequests++;
      counts.xraySegments += documents.length;
      return reply(res, 200, "application/json", '{"UnprocessedTraceSegments":[]}');
    }
    counts.refused++;
    reply(res, 404, "application/json", '{"error":"not found"}');
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }) + "\n");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
