// `setup xray` and the live side of `compare` against a LOCAL stand-in for the X-Ray API (AWS cannot be reached
// from tests). The real client, @aws-sdk/client-xray, talks to it through the endpoint override. The stand-in checks
// what X-Ray's REST-JSON protocol requires:
// - POST only, on the operation paths the service defines (/Groups for GetGroups, /CreateGroup, /UpdateGroup,
//   /GetSamplingRules, /CreateSamplingRule, /UpdateSamplingRule, /ServiceGraph, /TraceSummaries, /Traces);
// - a SigV4 Authorization header for service "xray" in the configured region, with X-Amz-Date; JSON bodies;
// - CreateGroup: GroupName of 1–32 characters, refused when the group exists; UpdateGroup names an existing group;
// - CreateSamplingRule: every required SamplingRule field (RuleName ≤ 32, ResourceARN, Priority 1–9999,
//   FixedRate 0–1, ReservoirSize ≥ 0, ServiceName, ServiceType, Host, HTTPMethod, URLPath, Version 1), refused
//   when the rule exists; UpdateSamplingRule names an existing rule and carries no Version;
// - errors as X-Ray sends them: HTTP 400 with x-amzn-ErrorType InvalidRequestException and {"message"}.
// Like the devkit's X-Ray stand-in, this one's GetServiceGraph is empty, so `compare` must fall back to GetTraceSummaries +
// BatchGetTraces (at most 5 ids per call, as the real API allows).
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import http from "node:http";
import { dirname, join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LoopbackServer } from "./loopback-server.js";
import { setupXray, xraySetupPlan } from "../src/index.js";

const REGION = "eu-west-1";
const AWS_ENV = { AWS_ACCESS_KEY_ID: "AKIDTESTTRACEMESH", AWS_SECRET_ACCESS_KEY: "secret-for-tests", AWS_REGION: REGION };
Object.assign(process.env, AWS_ENV, { AWS_SESSION_TOKEN: "", AWS_PROFILE: "" });
const mainJs = join(__dirname, "..", "src", "main.js");
// The trace formats' fixtures live with the trace model (packages/trace-model/test/fixtures).
const fixtures = join(dirname(require.resolve("@tracemesh/trace-model/package.json")), "test", "fixtures");

type Body = Record<string, unknown>;
const SIGV4 = new RegExp(
  `^AWS4-HMAC-SHA256 Credential=${AWS_ENV.AWS_ACCESS_KEY_ID}/\\d{8}/${REGION}/xray/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$`,
);

class Refusal extends Error {}

class FakeXray extends LoopbackServer {
  readonly calls: { path: string; body: Body }[] = [];
  readonly groups: Body[] = [];
  readonly rules: Body[] = [
    { RuleName: "Default", ResourceARN: "*", Priority: 10000, FixedRate: 0.05, ReservoirSize: 1, ServiceName: "*", ServiceType: "*", Host: "*", HTTPMethod: "*", URLPath: "*", Version: 1 },
  ];
  segmentsByTrace = new Map<string, string[]>();
  writes(): string[] {
    return this.calls.map((c) => c.path).filter((p) => /^\/(Create|Update)/.test(p));
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const send = (status: number, body: unknown, errorType?: string): void => {
      res.writeHead(status, { "content-type": "application/json", ...(errorType ? { "x-amzn-errortype": errorType } : {}) });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.method !== "POST") return send(404, { message: "not found" }, "UnknownOperationException");
      if (!SIGV4.test(String(req.headers.authorization)) || !req.headers["x-amz-date"]) {
        return send(403, { message: "missing or malformed SigV4 signature" }, "InvalidSignatureException");
      }
      if (!String(req.headers["content-type"]).startsWith("application/json")) throw new Refusal("JSON body expected");
      const body = (chunks.length ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : {}) as Body;
      const path = req.url ?? "";
      this.calls.push({ path, body });
      send(200, this.operation(path, body));
    } catch (err) {
      if (err instanceof Refusal) send(400, { message: err.message }, "InvalidRequestException");
      else send(500, { message: (err as Error).message }, "ThrottledException");
    }
  }

  private operation(path: string, body: Body): unknown {
    const page = <T>(items: T[], size: number): { items: T[]; NextToken?: string } => {
      const start = Number(body.NextToken ?? 0);
      const next = start + size < items.length ? String(start + size) : undefined;
      return { items: items.slice(start, start + size), ...(next ? { NextToken: next } : {}) };
    };
    switch (path) {
      case "/Groups": { // GetGroups
        const p = page(this.groups, 1); // one per page so pagination is exercised
        return { Groups: p.items, ...(p.NextToken ? { NextToken: p.NextToken } : {}) };
      }
      case "/CreateGroup": {
        const name = body.GroupName;
        if (typeof name !== "string" || name.length < 1 || name.length > 32) throw new Refusal("GroupName must be 1-32 characters");
        if (this.groups.some((g) => g.GroupName === name)) throw new Refusal(`Group ${name} already exists`);
        const group = { GroupName: name, GroupARN: `arn:aws:xray:${REGION}:123456789012:group/${name}/X`, FilterExpression: body.FilterExpression, InsightsConfiguration: { InsightsEnabled: false, NotificationsEnabled: false } };
        this.groups.push(group);
        return { Group: group };
      }
      case "/UpdateGroup": {
        const group = this.groups.find((g) => (body.GroupName !== undefined && g.GroupName === body.GroupName) || (body.GroupARN !== undefined && g.GroupARN === body.GroupARN));
        if (!group) throw new Refusal("Group not found");
        if (typeof body.FilterExpression === "string") group.FilterExpression = body.FilterExpression;
        return { Group: group };
      }
      case "/GetSamplingRules": {
        const p = page(this.rules, 2);
        return { SamplingRuleRecords: p.items.map((r) => ({ SamplingRule: r, CreatedAt: 1767261600, ModifiedAt: 1767261600 })), ...(p.NextToken ? { NextToken: p.NextToken } : {}) };
      }
      case "/CreateSamplingRule": {
        const r = body.SamplingRule as Body | undefined;
        if (!r) throw new Refusal("SamplingRule is required");
        for (const f of ["RuleName", "ResourceARN", "ServiceName", "ServiceType", "Host", "HTTPMethod", "URLPath"]) {
          if (typeof r[f] !== "string" || r[f] === "") throw new Refusal(`SamplingRule.${f} is required`);
        }
        if (String(r.RuleName).length > 32) throw new Refusal("RuleName is at most 32 characters");
        if (!Number.isInteger(r.Priority) || (r.Priority as number) < 1 || (r.Priority as number) > 9999) throw new Refusal("Priority must be 1-9999");
        if (typeof r.FixedRate !== "number" || r.FixedRate < 0 || r.FixedRate > 1) throw new Refusal("FixedRate must be 0-1");
        if (!Number.isInteger(r.ReservoirSize) || (r.ReservoirSize as number) < 0) throw new Refusal("ReservoirSize must be >= 0");
        if (r.Version !== 1) throw new Refusal("Version must be 1");
        if (this.rules.some((x) => x.RuleName === r.RuleName)) throw new Refusal(`Sampling rule ${String(r.RuleName)} already exists`);
        this.rules.push({ ...r, RuleARN: `arn:aws:xray:${REGION}:123456789012:sampling-rule/${String(r.RuleName)}` });
        return { SamplingRuleRecord: { SamplingRule: r } };
      }
      case "/UpdateSamplingRule": {
        const u = body.SamplingRuleUpdate as Body | undefined;
        const rule = this.rules.find((x) => x.RuleName === u?.RuleName);
        if (!u || !rule) throw new Refusal("Sampling rule not found");
        if ("Version" in u) throw new Refusal("Version cannot be updated");
        Object.assign(rule, u);
        return { SamplingRuleRecord: { SamplingRule: rule } };
      }
      case "/ServiceGraph":
        if (typeof body.StartTime !== "number" || typeof body.EndTime !== "number") throw new Refusal("StartTime and EndTime are required");
        return { Services: [], StartTime: body.StartTime, EndTime: body.EndTime };
      case "/TraceSummaries":
        if (typeof body.StartTime !== "number" || typeof body.EndTime !== "number") throw new Refusal("StartTime and EndTime are required");
        return { TraceSummaries: [...this.segmentsByTrace.keys()].map((Id) => ({ Id })), TracesProcessedCount: this.segmentsByTrace.size };
      case "/Traces": {
        const ids = body.TraceIds as string[] | undefined;
        if (!Array.isArray(ids) || ids.length < 1 || ids.length > 5) throw new Refusal("TraceIds: 1 to 5 ids");
        return {
          Traces: ids.filter((id) => this.segmentsByTrace.has(id)).map((id) => ({ Id: id, Segments: (this.segmentsByTrace.get(id) ?? []).map((doc) => ({ Id: (JSON.parse(doc) as Body).id, Document: doc })) })),
          UnprocessedTraceIds: ids.filter((id) => !this.segmentsByTrace.has(id)),
        };
      }
      default:
        throw new Refusal(`unknown operation ${path}`);
    }
  }
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainJs, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

describe("setup xray", { timeout: 60_000 }, () => {
  const fake = new FakeXray();
  before(() => fake.start());
  after(() => fake.stop());

  test("creates the group and one sampling rule per service; a second run changes nothing", { timeout: 20_000 }, async () => {
    // another group first, so the look-up has to page
    fake.groups.push({ GroupName: "someone-else", FilterExpression: 'service("x")' });
    const plan = xraySetupPlan("tracemesh", ["api", "activities", "users", "notifications"]);
    assert.equal(
      plan.group.FilterExpression,
      'service("api") { fault OR error } OR service("activities") { fault OR error } OR service("users") { fault OR error } OR service("notifications") { fault OR error }',
    );
    const options = { endpoint: fake.url, timeoutMs: 5_000 };
    const first = await setupXray(plan, options);
    assert.equal(first.group, "created");
    assert.deepEqual(first.samplingRules.map((r) => `${r.name}:${r.action}`), [
      "tracemesh-api:created",
      "tracemesh-activities:created",
      "tracemesh-users:created",
      "tracemesh-notifications:created",
    ]);
    const api = fake.rules.find((r) => r.RuleName === "tracemesh-api");
    assert.equal(api?.ReservoirSize, 5);
    assert.equal(api?.FixedRate, 0.1);
    assert.equal(api?.ServiceName, "api");

    const writes = fake.writes().length;
    const second = await setupXray(plan, options);
    assert.equal(second.group, "unchanged");
    assert.ok(second.samplingRules.every((r) => r.action === "unchanged"));
    assert.equal(fake.writes().length, writes, "the second run wrote nothing");
    assert.equal(fake.groups.filter((g) => g.GroupName === "tracemesh").length, 1);
    assert.equal(fake.rules.length, 5); // Default + 4
  });

  test("a rule or filter changed by hand is updated in place", { timeout: 20_000 }, async () => {
    const rule = fake.rules.find((r) => r.RuleName === "tracemesh-users");
    assert.ok(rule);
    rule.FixedRate = 1;
    const group = fake.groups.find((g) => g.GroupName === "tracemesh");
    assert.ok(group);
    group.FilterExpression = 'service("api")';
    const result = await setupXray(xraySetupPlan("tracemesh", ["api", "activities", "users", "notifications"]), { endpoint: fake.url, timeoutMs: 5_000 });
    assert.equal(result.group, "updated");
    assert.equal(result.samplingRules.find((r) => r.name === "tracemesh-users")?.action, "updated");
    assert.equal(rule.FixedRate, 0.1);
    assert.match(String(group.FilterExpression), /service\("notifications"\) \{ fault OR error \}$/);
    assert.ok(fake.calls.some((c) => c.path === "/UpdateSamplingRule"));
  });

  test("the command: the plan offline unless --apply; XRAY_ENDPOINT is honoured", { timeout: 30_000 }, async () => {
    const callsBefore = fake.calls.length;
    const dry = await runCli(["setup", "xray", "--dry-run", "--services", "api,users"], { XRAY_ENDPOINT: fake.url });
    assert.equal(dry.code, 0, dry.stderr);
    const plan = JSON.parse(dry.stdout) as { group: { GroupName: string }; samplingRules: { RuleName: string }[] };
    assert.equal(plan.group.GroupName, "tracemesh");
    assert.deepEqual(plan.samplingRules.map((r) => r.RuleName), ["tracemesh-api", "tracemesh-users"]);
    assert.equal(fake.calls.length, callsBefore);
    const plain = await runCli(["setup", "xray", "--services", "api,users"], { XRAY_ENDPOINT: fake.url });
    assert.deepEqual(JSON.parse(plain.stdout), plan, "without --apply: the same plan, offline");
    assert.equal(fake.calls.length, callsBefore);
    const run = await runCli(["setup", "xray", "--apply"], { XRAY_ENDPOINT: fake.url });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /group "tracemesh": unchanged/);
    const noRegion = await runCli(["setup", "xray", "--apply"], { XRAY_ENDPOINT: fake.url, AWS_REGION: "", AWS_DEFAULT_REGION: "" });
    assert.equal(noRegion.code, 1);
    assert.match(noRegion.stderr, /no AWS region/);
  });
});

describe("compare against live X-Ray (stand-in with an empty service graph)", { timeout: 60_000 }, () => {
  const fake = new FakeXray();
  before(async () => {
    await fake.start();
    const lines = readFileSync(join(fixtures, "xray-segments.jsonl"), "utf8").split("\n").filter(Boolean);
    for (const line of lines) {
      const traceId = String((JSON.parse(line) as Body).trace_id);
      fake.segmentsByTrace.set(traceId, [...(fake.segmentsByTrace.get(traceId) ?? []), line]);
    }
  });
  after(() => fake.stop());

  test("falls back to GetTraceSummaries + BatchGetTraces and gives the offline result", { timeout: 30_000 }, async () => {
    const r = await runCli(["compare", "--otlp", join(fixtures, "otlp.jsonl"), "--json", "--since", "1h"], { XRAY_ENDPOINT: fake.url });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /X-Ray graph via BatchGetTraces \(5 traces; GetServiceGraph was empty\)/);
    const parsed = JSON.parse(r.stdout) as { summary: Record<string, number> };
    assert.deepEqual(parsed.summary, { both: 4, renamed: 4, "only-xray": 0, "only-otlp": 0, differing: 3, explained: 0 });
    const paths = fake.calls.map((c) => c.path);
    assert.deepEqual([...new Set(paths)], ["/ServiceGraph", "/TraceSummaries", "/Traces"]);
    assert.ok(fake.calls.filter((c) => c.path === "/Traces").every((c) => (c.body.TraceIds as string[]).length <= 5));
  });
});
