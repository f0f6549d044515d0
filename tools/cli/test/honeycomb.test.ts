// `setup honeycomb` and `marker` against a LOCAL stand-in for Honeycomb's API (the SaaS cannot be reached from
// tests). The stand-in checks what the real API requires, per its public reference:
// - every request carries X-Honeycomb-Team with the key (else 401); bodies are JSON with Content-Type
//   application/json (else 415);
// - POST /1/queries/{dataset}: only query-spec fields; calculation ops from the documented list, a column for every
//   op but COUNT/CONCURRENCY; filter ops from the list, no value for exists/does-not-exist; each order term must
//   appear in the breakdowns or calculations; GET /1/queries/{dataset}/{id} returns it (the API has no list);
// - /1/query_annotations/{dataset}: GET lists, POST and PUT …/{id} need name and the id of an existing query;
// - /1/boards: GET lists, POST and PUT /1/boards/{id} need a name and type "flexible" (legacy boards are refused
//   since 2025), panels of type "query" whose query_panel names existing queries and annotations;
// - /1/markers/{dataset}: POST and PUT …/{id} accept only start_time/end_time (integer Unix seconds), message,
//   type, url; GET lists.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import http from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { LoopbackServer } from "./loopback-server.js";
import { savedQueries, setupHoneycomb, specMatches } from "../src/index.js";

const KEY = "test-config-key-0123";
const mainJs = join(__dirname, "..", "src", "main.js");

type Body = Record<string, unknown>;
interface Recorded {
  method: string;
  path: string;
  body: Body | null;
}

const CALC_OPS = new Set(["COUNT", "CONCURRENCY", "SUM", "AVG", "COUNT_DISTINCT", "MAX", "MIN", "P001", "P01", "P05", "P10", "P25", "P50", "P75", "P90", "P95", "P99", "P999", "HEATMAP", "RATE_AVG", "RATE_SUM", "RATE_MAX"]);
const FILTER_OPS = new Set(["=", "!=", ">", ">=", "<", "<=", "starts-with", "does-not-start-with", "exists", "does-not-exist", "contains", "does-not-contain", "in", "not-in"]);
const SPEC_FIELDS = new Set(["calculations", "filters", "filter_combination", "breakdowns", "orders", "havings", "limit", "time_range", "start_time", "end_time", "granularity"]);
const MARKER_FIELDS = new Set(["start_time", "end_time", "message", "type", "url"]);

class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function checkSpec(spec: Body): void {
  for (const k of Object.keys(spec)) if (!SPEC_FIELDS.has(k)) throw new Refusal(422, `unknown query field ${k}`);
  const calcs = (spec.calculations ?? []) as Body[];
  for (const c of calcs) {
    if (!CALC_OPS.has(String(c.op))) throw new Refusal(422, `invalid calculation op ${String(c.op)}`);
    if (c.op !== "COUNT" && c.op !== "CONCURRENCY" && typeof c.column !== "string") throw new Refusal(422, `${String(c.op)} needs a column`);
  }
  for (const f of (spec.filters ?? []) as Body[]) {
    if (typeof f.column !== "string" || !FILTER_OPS.has(String(f.op))) throw new Refusal(422, `invalid filter ${JSON.stringify(f)}`);
    if ((f.op === "exists" || f.op === "does-not-exist") && "value" in f) throw new Refusal(422, `${String(f.op)} takes no value`);
  }
  const breakdowns = (spec.breakdowns ?? []) as string[];
  for (const o of (spec.orders ?? []) as Body[]) {
    const inCalcs = calcs.some((c) => c.op === o.op && (c.column ?? null) === (o.column ?? null));
    const inBreakdowns = o.op === undefined && breakdowns.includes(String(o.column));
    if (!inCalcs && !inBreakdowns) throw new Refusal(422, `order ${JSON.stringify(o)} is not in calculations or breakdowns`);
  }
}

class FakeHoneycomb extends LoopbackServer {
  readonly requests: Recorded[] = [];
  readonly queries = new Map<string, Body>();
  readonly annotations: Body[] = [];
  readonly boards: Body[] = [];
  readonly markers: Body[] = [];
  private nextId = 1;
  id(): string {
    return (this.nextId++).toString(16).padStart(6, "0");
  }
  writes(): Recorded[] {
    return this.requests.filter((r) => r.method !== "GET");
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString("utf8");
    const send = (status: number, body: unknown): void => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    try {
      if (req.headers["x-honeycomb-team"] !== KEY) throw new Refusal(401, "unknown API key - check your credentials");
      let body: Body | null = null;
      if (req.method === "POST" || req.method === "PUT") {
        if (!String(req.headers["content-type"]).startsWith("application/json")) throw new Refusal(415, "JSON only");
        try {
          body = JSON.parse(text) as Body;
        } catch {
          throw new Refusal(400, "request body is not JSON");
        }
      }
      const path = new URL(req.url ?? "/", "http://x").pathname;
      this.requests.push({ method: req.method ?? "", path, body });
      send(...this.route(req.method ?? "", path.split("/").slice(1), body));
    } catch (err) {
      const r = err instanceof Refusal ? err : new Refusal(500, (err as Error).message);
      send(r.status, { error: r.message });
    }
  }

  private route(method: string, parts: string[], body: Body | null): [number, unknown] {
    const [version, kind, a, b] = parts;
    if (version !== "1") throw new Refusal(404, "not found");
    if (kind === "queries" && a && method === "POST" && !b) {
      checkSpec(body ?? {});
      const q = { ...body, id: this.id() };
      this.queries.set(String(q.id), q);
      return [200, q];
    }
    if (kind === "queries" && a && b && method === "GET") {
      const q = this.queries.get(b);
      if (!q) throw new Refusal(404, "query not found");
      return [200, q];
    }
    if (kind === "query_annotations" && a) {
      if (method === "GET" && !b) return [200, this.annotations];
      if (method === "POST" || method === "PUT") {
        if (typeof body?.name !== "string" || !body.name) throw new Refusal(422, "name is required");
        if (!this.queries.has(String(body.query_id))) throw new Refusal(422, "query_id must name an existing query");
        if (method === "POST" && !b) {
          const created = { id: this.id(), name: body.name, description: body.description ?? "", query_id: body.query_id, source: "query" };
          this.annotations.push(created);
          return [201, created];
        }
        const existing = this.annotations.find((x) => x.id === b);
        if (!existing) throw new Refusal(404, "annotation not found");
        Object.assign(existing, { name: body.name, description: body.description ?? "", query_id: body.query_id });
        return [200, existing];
      }
    }
    if (kind === "boards") {
      if (method === "GET" && !a) return [200, this.boards];
      if (method === "POST" || method === "PUT") {
        if (typeof body?.name !== "string" || !body.name) throw new Refusal(422, "name is required");
        if (body.type !== "flexible") throw new Refusal(422, "classic boards are no longer supported");
        for (const p of (body.panels ?? []) as Body[]) {
          const qp = p.query_panel as Body | undefined;
          if (p.type !== "query" || !qp || !this.queries.has(String(qp.query_id))) throw new Refusal(422, "panel must reference an existing query");
          if (qp.query_annotation_id && !this.annotations.some((x) => x.id === qp.query_annotation_id)) throw new Refusal(422, "unknown query annotation");
        }
        if (method === "POST" && !a) {
          const created = { ...body, id: this.id() };
          this.boards.push(created);
          return [201, created];
        }
        const existing = this.boards.find((x) => x.id === a);
        if (!existing) throw new Refusal(404, "board not found");
        Object.assign(existing, body, { id: a });
        return [200, existing];
      }
    }
    if (kind === "markers" && a) {
      if (method === "GET" && !b) return [200, this.markers];
      if (method === "POST" || method === "PUT") {
        for (const [k, v] of Object.entries(body ?? {})) {
          if (!MARKER_FIELDS.has(k)) throw new Refusal(422, `unknown marker field ${k}`);
          if ((k === "start_time" || k === "end_time") && !Number.isInteger(v)) throw new Refusal(422, `${k} must be integer unix seconds`);
        }
        if (method === "POST" && !b) {
          const created = { ...body, id: this.id(), start_time: body?.start_time ?? Math.floor(Date.now() / 1000) };
          this.markers.push(created);
          return [201, created];
        }
        const existing = this.markers.find((m) => m.id === b);
        if (!existing) throw new Refusal(404, "marker not found");
        Object.assign(existing, body);
        return [200, existing];
      }
    }
    throw new Refusal(404, "not found");
  }
}

function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [mainJs, ...args], { env: { ...process.env, ...env }, timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

describe("setup honeycomb", { timeout: 60_000 }, () => {
  const fake = new FakeHoneycomb();
  before(() => fake.start());
  after(() => fake.stop());

  test("creates the queries, names them and builds the board; a second run changes nothing", { timeout: 20_000 }, async () => {
    const options = { apiKey: KEY, apiUrl: fake.url, timeoutMs: 5_000 };
    const first = await setupHoneycomb(options);
    assert.equal(first.dataset, "__all__");
    assert.deepEqual(first.queries.map((q) => q.action), ["created", "created", "created", "created", "created", "created", "created"]);
    assert.equal(first.board.action, "created");
    assert.equal(fake.queries.size, 7);
    assert.equal(fake.annotations.length, 7);
    assert.equal(fake.boards.length, 1);
    assert.ok(fake.requests.some((r) => r.method === "POST" && r.path === "/1/queries/__all__"));
    assert.ok(fake.requests.some((r) => r.method === "POST" && r.path === "/1/query_annotations/__all__"));
    const board = fake.boards[0];
    assert.equal((board.panels as unknown[]).length, 7);
    const latency = fake.annotations.find((a) => a.name === "tracemesh: latency by user");
    const latencySpec = fake.queries.get(String(latency?.query_id));
    assert.deepEqual(latencySpec?.breakdowns, ["app.user.handle"]);
    assert.deepEqual((latencySpec?.calculations as Body[]).map((c) => c.op), ["P99", "HEATMAP"]);
    // The seed's "network latency between frontend and backend", from the browser's fetch spans.
    const network = fake.annotations.find((a) => a.name === "tracemesh: network latency by route");
    const networkSpec = fake.queries.get(String(network?.query_id));
    assert.deepEqual(networkSpec?.breakdowns, ["http.route", "http.request.method"]);
    assert.deepEqual(networkSpec?.filters, [{ column: "service.name", op: "=", value: "frontend-web" }, { column: "app.network_ms", op: "exists" }]);

    const writesBefore = fake.writes().length;
    const second = await setupHoneycomb(options);
    assert.deepEqual(second.queries.map((q) => q.action), ["unchanged", "unchanged", "unchanged", "unchanged", "unchanged", "unchanged", "unchanged"]);
    assert.equal(second.board.action, "unchanged");
    assert.equal(fake.writes().length, writesBefore, "the second run wrote nothing");
    assert.equal(fake.annotations.length, 7);
    assert.equal(fake.boards.length, 1);
  });

  test("a query changed by hand is put back and the board follows", { timeout: 20_000 }, async () => {
    const annotation = fake.annotations.find((a) => a.name === "tracemesh: slowest Redis commands");
    assert.ok(annotation);
    const edited = { id: fake.id(), calculations: [{ op: "AVG", column: "duration_ms" }] };
    fake.queries.set(edited.id, edited);
    annotation.query_id = edited.id;
    const result = await setupHoneycomb({ apiKey: KEY, apiUrl: fake.url, timeoutMs: 5_000 });
    const redis = result.queries.find((q) => q.name === "tracemesh: slowest Redis commands");
    assert.equal(redis?.action, "updated");
    assert.equal(result.board.action, "updated");
    assert.equal(fake.annotations.length, 7);
    assert.equal(fake.boards.length, 1);
    assert.ok(specMatches(savedQueries()[3].spec, fake.queries.get(String(annotation.query_id)) ?? {}));
  });

  test("the command: the plan (default, or --dry-run) needs no key and no network; a wrong key fails with exit 1", { timeout: 30_000 }, async () => {
    const before = fake.requests.length;
    const dry = await runCli(["setup", "honeycomb", "--dry-run"], { HONEYCOMB_API_KEY: "", HONEYCOMB_API_URL: fake.url });
    assert.equal(dry.code, 0, dry.stderr);
    const printed = JSON.parse(dry.stdout) as { queries: { name: string }[] };
    assert.equal(printed.queries.length, 7);
    assert.equal(fake.requests.length, before);
    const plain = await runCli(["setup", "honeycomb"], { HONEYCOMB_API_KEY: "", HONEYCOMB_API_URL: fake.url });
    assert.deepEqual(JSON.parse(plain.stdout), printed, "without --apply: the same plan, offline");
    assert.equal(fake.requests.length, before);
    const noKey = await runCli(["setup", "honeycomb", "--apply"], { HONEYCOMB_API_KEY: "" });
    assert.equal(noKey.code, 2);
    assert.match(noKey.stderr, /HONEYCOMB_API_KEY is not set/);
    const wrong = await runCli(["setup", "honeycomb", "--apply"], { HONEYCOMB_API_KEY: "wrong", HONEYCOMB_API_URL: fake.url });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /HTTP 401/);
    const ok = await runCli(["setup", "honeycomb", "--apply"], { HONEYCOMB_API_KEY: KEY, HONEYCOMB_API_URL: fake.url });
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal(fake.annotations.length, 7);
  });
});

describe("marker", { timeout: 60_000 }, () => {
  const fake = new FakeHoneycomb();
  before(() => fake.start());
  after(() => fake.stop());
  const env = (): NodeJS.ProcessEnv => ({ HONEYCOMB_API_KEY: KEY, HONEYCOMB_API_URL: fake.url });

  test("--start opens a load-test marker and --end closes it into a range", { timeout: 30_000 }, async () => {
    const start = await runCli(["marker", "--start", "--message", "load test: 20 users", "--url", "http://localhost/run/1"], env());
    assert.equal(start.code, 0, start.stderr);
    assert.equal(fake.markers.length, 1);
    const post = fake.requests.find((r) => r.method === "POST");
    assert.equal(post?.path, "/1/markers/__all__");
    assert.deepEqual(Object.keys(post?.body ?? {}).sort(), ["message", "start_time", "type", "url"]);
    assert.equal(post?.body?.type, "load-test");
    const end = await runCli(["marker", "--end"], env());
    assert.equal(end.code, 0, end.stderr);
    assert.equal(fake.markers.length, 1, "the open marker was updated, not duplicated");
    const marker = fake.markers[0];
    assert.ok(Number.isInteger(marker.end_time) && (marker.end_time as number) >= (marker.start_time as number));
    assert.equal(marker.message, "load test: 20 users");
    assert.ok(fake.requests.some((r) => r.method === "PUT" && r.path === `/1/markers/__all__/${String(marker.id)}`));
  });

  test("a plain message marker to a named dataset; bad usage exits 2", { timeout: 30_000 }, async () => {
    const r = await runCli(["marker", "--message", "deploy 0.1.0", "--type", "deploy", "--dataset", "api"], env());
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fake.requests.some((x) => x.method === "POST" && x.path === "/1/markers/api" && x.body?.type === "deploy"));
    const bad = await runCli(["marker", "--start", "--end"], env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--start or --end, not both/);
  });
});
