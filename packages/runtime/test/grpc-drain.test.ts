// The gRPC drain waits for the handlers, not only for the calls' streams: a call its client abandoned (a deadline
// passed, or the caller cancelled) ends at the HTTP/2 level while the handler still runs, and what the service
// closes after the drain (its Redis connection) would fail that handler. Found by reliability-sigterm.test.ts under a
// loaded machine: HomeFeed answering UNAVAILABLE after activities' drain had "finished". The order of events is
// asserted, not durations. The caller gives up by cancelling once the handler runs: a short deadline raced the
// server's dispatch on a busy machine, and a call abandoned before its handler started left the test waiting.
import assert from "node:assert/strict";
import { test } from "node:test";
import { credentials, status, type ClientUnaryCall } from "@grpc/grpc-js";
import { createLogger, startGrpcServer, unary } from "../src/index.js";
import { stringService, type StringClient } from "./string-service.js";

const logger = createLogger("runtime-test", "silent");
const { definition: SLOW, Client: SlowClient } = stringService("Slow");
type SlowClient = StringClient;

test("shutdown resolves only after a handler whose caller already gave up has finished", { timeout: 30_000 }, async () => {
  const events: string[] = [];
  let release: () => void = () => {};
  let started: () => void = () => {};
  const handlerStarted = new Promise<void>((resolve) => (started = resolve));
  const server = await startGrpcServer({
    host: "127.0.0.1",
    port: 0,
    services: [
      {
        name: "tracemesh.test.Slow",
        definition: SLOW,
        implementation: {
          run: unary<string, string>(logger, async () => {
            started();
            // Runs until the test lets it go: long after its caller's deadline.
            await new Promise<void>((resolve) => (release = resolve));
            events.push("handler finished");
            return "done";
          }),
        },
      },
    ],
  });
  const client = new SlowClient(`127.0.0.1:${server.port}`, credentials.createInsecure()) as unknown as SlowClient;
  let bound: NodeJS.Timeout | undefined;
  try {
    let call: ClientUnaryCall | undefined;
    const answer = new Promise<status>((resolve) => (call = client.run("x", { deadline: new Date(Date.now() + 20_000) }, (err) => resolve(err?.code ?? status.OK))));
    await Promise.race([handlerStarted, new Promise((_, reject) => (bound = setTimeout(() => reject(new Error("the handler did not start within 20 s")), 20_000)))]);
    call!.cancel();
    assert.equal(await answer, status.CANCELLED, "the caller gave up");
    const drained = server.shutdown(20_000).then(() => events.push("shutdown resolved"));
    // The caller's stream is gone: before the fix tryShutdown completed here, with the handler still running.
    await new Promise((resolve) => setTimeout(resolve, 300));
    events.push("handler released");
    release();
    await drained;
    assert.deepEqual(events, ["handler released", "handler finished", "shutdown resolved"]);
  } finally {
    clearTimeout(bound);
    client.close();
    release();
    server.server.forceShutdown();
  }
});
