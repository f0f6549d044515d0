// The trivial endpoint for the load generator efficiency benchmark: 200 "ok" to every request.
// Runs as its own process; prints {"port":N} once listening on 127.0.0.1.
import http from "node:http";

const body = Buffer.from("ok");
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "text/plain", "content-length": body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.stdout.write(JSON.stringify({ port: typeof address === "object" && address ? address.port : 0 }) + "\n");
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
