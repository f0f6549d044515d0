// `tracemesh setup xray --transaction-search` against the local X-Ray stand-in (tools/devkit/src/sinks/xray.ts,
// whose Get/UpdateTraceSegmentDestination are in xray-destination.ts), which checks what X-Ray checks: POST on the operation's path, a SigV4 signature that
// verifies with the stand-in's keys, a JSON body, Destination XRay or CloudWatchLogs). AWS cannot be reached from
// here; the real @aws-sdk/client-xray signs and sends every call, through the CLI as a user runs it.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { STAND_IN_AWS_CREDENTIALS, signSigV4, startXrayStandIn, type XrayStandIn } from "@tracemesh/devkit";

const mainJs = join(__dirname, "..", "src", "main.js");
const REGION = "us-east-1";

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainJs, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("setup xray --transaction-search (X-Ray stand-in)", { timeout: 90_000 }, () => {
  let xray: XrayStandIn;
  let env: NodeJS.ProcessEnv;
  before(async () => {
    xray = await startXrayStandIn();
    env = {
      XRAY_ENDPOINT: xray.endpoint,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: STAND_IN_AWS_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: STAND_IN_AWS_CREDENTIALS.secretAccessKey,
      AWS_SESSION_TOKEN: "",
      AWS_PROFILE: "",
    };
  });
  after(async () => {
    await xray?.stop();
  });

  const operations = () => xray.traceSegmentDestination.calls().map((c) => c.operation);

  test("without --apply (or with --dry-run) it prints the calls offline and calls nothing", { timeout: 30_000 }, async () => {
    for (const args of [["setup", "xray", "--transaction-search"], ["setup", "xray", "--transaction-search", "--dry-run"]]) {
      const dry = await runCli(args, env);
      assert.equal(dry.code, 0, dry.stderr);
      const plan = JSON.parse(dry.stdout) as { check: string; update: { operation: string; body: { Destination: string } }; prerequisite: string };
      assert.deepEqual(plan.update, { operation: "UpdateTraceSegmentDestination", body: { Destination: "CloudWatchLogs" } });
      assert.equal(plan.check, "GetTraceSegmentDestination");
      assert.match(plan.prerequisite, /aws\/spans/);
    }
    assert.deepEqual(operations(), [], "a plan calls nothing");
    assert.equal(xray.traceSegmentDestination.state().destination, "XRay");
    const both = await runCli(["setup", "xray", "--transaction-search", "--apply", "--dry-run"], env);
    assert.equal(both.code, 2, "--apply with --dry-run is a usage error");
  });

  test("--apply switches the destination to CloudWatchLogs and checks it; a second run changes nothing", { timeout: 30_000 }, async () => {
    const calls = operations().length;
    const applied = await runCli(["setup", "xray", "--transaction-search", "--apply"], env);
    assert.equal(applied.code, 0, applied.stderr);
    assert.deepEqual(JSON.parse(applied.stdout), {
      before: { destination: "XRay", status: "ACTIVE" },
      action: "updated",
      after: { destination: "CloudWatchLogs", status: "ACTIVE" },
    });
    assert.match(applied.stderr, /UpdateTraceSegmentDestination: CloudWatchLogs \(PENDING\)/);
    assert.deepEqual(operations().slice(calls), ["GetTraceSegmentDestination", "UpdateTraceSegmentDestination", "GetTraceSegmentDestination"]);
    assert.deepEqual(xray.traceSegmentDestination.calls().find((c) => c.operation === "UpdateTraceSegmentDestination")?.body, { Destination: "CloudWatchLogs" });

    const again = await runCli(["setup", "xray", "--transaction-search", "--apply"], env);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((JSON.parse(again.stdout) as { action: string }).action, "unchanged");
    assert.equal(operations().filter((o) => o === "UpdateTraceSegmentDestination").length, 1, "no second update");
  });

  test("the stand-in refuses what X-Ray refuses: a bad signature, a wrong method, a bad Destination", { timeout: 30_000 }, async () => {
    const url = `${xray.endpoint}/UpdateTraceSegmentDestination`;
    const signed = (body: string, credentials = STAND_IN_AWS_CREDENTIALS) =>
      signSigV4({ method: "POST", url, headers: { "content-type": "application/json" }, body: Buffer.from(body), service: "xray", region: REGION, credentials });
    const send = (headers: Record<string, string>, body: string, method = "POST") =>
      fetch(url, { method, headers, body: method === "GET" ? undefined : body, signal: AbortSignal.timeout(5000) });
    const refusedBefore = xray.rejected().length;

    const forged = await send(signed('{"Destination":"XRay"}', { ...STAND_IN_AWS_CREDENTIALS, secretAccessKey: "not-the-key" }), '{"Destination":"XRay"}');
    assert.equal(forged.status, 403);
    assert.match(String(((await forged.json()) as { message?: string }).message), /signature/i);
    const unsigned = await send({ "content-type": "application/json" }, '{"Destination":"XRay"}');
    assert.equal(unsigned.status, 403);
    await unsigned.arrayBuffer();
    const get = await send({}, "", "GET");
    assert.equal(get.status, 404);
    assert.equal(get.headers.get("x-amzn-errortype"), "UnknownOperationException");
    await get.arrayBuffer();
    const bad = await send(signed('{"Destination":"S3"}'), '{"Destination":"S3"}');
    assert.equal(bad.status, 400);
    assert.equal(bad.headers.get("x-amzn-errortype"), "InvalidRequestException");
    assert.match(String(((await bad.json()) as { message?: string }).message), /XRay, CloudWatchLogs/);
    assert.equal(xray.rejected().length - refusedBefore, 4);
    assert.equal(xray.traceSegmentDestination.state().destination, "CloudWatchLogs", "no refused call changed it");

    // A well-signed one is answered, back to XRay (what turning Transaction Search off does).
    const back = await send(signed('{"Destination":"XRay"}'), '{"Destination":"XRay"}');
    assert.equal(back.status, 200);
    assert.deepEqual(await back.json(), { Destination: "XRay", Status: "PENDING" });
  });
});
