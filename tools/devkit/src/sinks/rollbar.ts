import crypto from "node:crypto";
import type http from "node:http";
import { listenOnLoopback, readBody, sendJson } from "./http-util.js";
import { RetainedRecords, type Retention } from "./retention.js";

export interface RollbarItem {
  accessToken: string;
  /** The item's `data` object as sent (body.trace / body.message, custom, level, environment…). */
  data: Record<string, unknown>;
}

export interface RollbarStandIn {
  /** The item endpoint to set as ROLLBAR_ENDPOINT (…/api/1/item/). */
  endpoint: string;
  /** The API's base URL (…/api/1/), where a read token runs RQL jobs (`tracemesh trace` finds a trace's item). */
  apiUrl: string;
  port: number;
  items(): RollbarItem[];
  rejected(): number;
  stop(): Promise<void>;
}

/**
 * What Rollbar's item endpoint checks: POST /api/1/item/, an `X-Rollbar-Access-Token` header (401 when missing,
 * 403 when it differs from `accessToken` if one is given), a JSON body `{"data": {…}}` with `data.body` (422
 * otherwise). Reads the body.
 */
export async function acceptRollbarItem(req: http.IncomingMessage, accessToken?: string): Promise<RollbarItem | { status: number; message: string }> {
  const path = (req.url ?? "").split("?")[0];
  if (req.method !== "POST" || path !== "/api/1/item/") return { status: 404, message: `no route ${req.method} ${path}` };
  const token = String(req.headers["x-rollbar-access-token"] ?? "");
  if (!token) return { status: 401, message: "missing access token" };
  if (accessToken !== undefined && token !== accessToken) return { status: 403, message: "invalid access token" };
  let payload: { data?: Record<string, unknown> };
  try {
    payload = JSON.parse((await readBody(req)).toString("utf8")) as { data?: Record<string, unknown> };
  } catch {
    return { status: 400, message: "invalid JSON" };
  }
  if (!payload.data || typeof payload.data !== "object" || !payload.data.body) return { status: 422, message: 'payload must be {"data": {"body": …}}' };
  return { accessToken: token, data: payload.data };
}

/** Rollbar's answer to an accepted item. */
export function sendRollbarAccepted(res: http.ServerResponse, item: RollbarItem): void {
  sendJson(res, 200, { err: 0, result: { id: null, uuid: String(item.data.uuid ?? crypto.randomUUID()) } });
}

/** The columns an RQL `select *` over item_occurrence gives here (a subset of Rollbar's). */
export const RQL_COLUMNS = ["item.counter", "item.title", "item.level", "timestamp", "environment", "custom.service", "custom.trace_id", "custom.span_id", "custom.xray_trace_id", "body.trace.exception.class", "body.trace.exception.message"] as const;

const RQL_BY_TRACE = /^\s*select\s+\*\s+from\s+item_occurrence\s+where\s+custom\.trace_id\s*=\s*'([0-9a-f]{32})'\s*(?:limit\s+\d+\s*)?$/i;

function get(data: Record<string, unknown>, dotted: string): unknown {
  let value: unknown = data;
  for (const key of dotted.split(".")) value = value && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
  return value;
}

/** One occurrence as an RQL row (RQL_COLUMNS); the item counter is its place among the items received. */
function rqlRow(item: RollbarItem, counter: number): unknown[] {
  const d = item.data;
  // An error with a cause is sent as a trace_chain (the outermost first).
  const exception = (get(d, "body.trace.exception") ?? get(d, "body.trace_chain.0.exception")) as { class?: string; message?: string } | undefined;
  const title = exception ? `${exception.class ?? "Error"}: ${exception.message ?? ""}` : String(get(d, "body.message.body") ?? "");
  return [counter, title, d.level ?? "error", Math.floor(Number(d.timestamp ?? Date.now() / 1000)), d.environment ?? "", get(d, "custom.service"), get(d, "custom.trace_id"), get(d, "custom.span_id"), get(d, "custom.xray_trace_id"), exception?.class, exception?.message];
}

/**
 * Rollbar's RQL API, as far as `tracemesh trace` uses it — the one query `select * from item_occurrence where
 * custom.trace_id = '<id>'` (anything else: 422, said so): POST /api/1/rql/jobs creates a job, GET
 * /api/1/rql/job/<id>?expand=result answers it with the matching occurrences. The read token is checked like the
 * item endpoint's. `items` gives the items kept and how many older ones were dropped before them (their counters
 * start after those). Returns false when the request is not an RQL call.
 */
export async function answerRollbarRql(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  items: () => { kept: RollbarItem[]; dropped: number },
  readToken?: string,
): Promise<boolean> {
  const path = (req.url ?? "").split("?")[0] ?? "";
  const job = /^\/api\/1\/rql\/job\/([0-9a-f-]+)$/.exec(path);
  if (!(req.method === "POST" && path === "/api/1/rql/jobs") && !(req.method === "GET" && job)) return false;
  const token = String(req.headers["x-rollbar-access-token"] ?? "");
  if (!token) return sendJson(res, 401, { err: 1, message: "missing access token" }), true;
  if (readToken !== undefined && token !== readToken) return sendJson(res, 403, { err: 1, message: "invalid access token" }), true;
  if (req.method === "POST") {
    let query = "";
    try {
      query = String((JSON.parse((await readBody(req)).toString("utf8")) as { query_string?: unknown }).query_string ?? "");
    } catch {
      return sendJson(res, 400, { err: 1, message: "invalid JSON" }), true;
    }
    if (!RQL_BY_TRACE.test(query)) {
      return sendJson(res, 422, { err: 1, message: "this stand-in answers only: select * from item_occurrence where custom.trace_id = '<32 hex>'" }), true;
    }
    // The job id carries the query: no state to keep between the two calls.
    const id = Buffer.from(query).toString("hex");
    return sendJson(res, 200, { err: 0, result: { id, status: "new", query_string: query } }), true;
  }
  const query = Buffer.from(job![1]!, "hex").toString();
  const traceId = RQL_BY_TRACE.exec(query)?.[1];
  if (!traceId) return sendJson(res, 404, { err: 1, message: "no such job" }), true;
  const { kept, dropped } = items();
  const rows = kept.flatMap((item, i) => (get(item.data, "custom.trace_id") === traceId ? [rqlRow(item, dropped + i + 1)] : []));
  sendJson(res, 200, { err: 0, result: { id: job![1], status: "success", query_string: query, result: { columns: RQL_COLUMNS, rows, rowcount: rows.length } } });
  return true;
}

/**
 * A local stand-in for Rollbar's API (we cannot reach the real one): the item endpoint checked as acceptRollbarItem
 * says, answering like Rollbar (`{"err":0,"result":{"uuid":…}}`) and keeping the items, and the RQL jobs that
 * find a trace's occurrences (answerRollbarRql). `retention` bounds the items kept; all are kept without it.
 */
export async function startRollbarStandIn(opts: { accessToken?: string; readToken?: string; retention?: Retention } = {}): Promise<RollbarStandIn> {
  const items = new RetainedRecords<RollbarItem>(opts.retention);
  let rejected = 0;
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (await answerRollbarRql(req, res, () => ({ kept: items.values(), dropped: items.counts().dropped }), opts.readToken)) return;
    const checked = await acceptRollbarItem(req, opts.accessToken);
    if ("status" in checked) {
      rejected += 1;
      return sendJson(res, checked.status, { err: 1, message: checked.message });
    }
    items.push(checked);
    sendRollbarAccepted(res, checked);
  };
  const listener = await listenOnLoopback((req, res) => {
    handler(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendJson(res, 500, { err: 1, message: (err as Error).message });
    });
  });
  return {
    endpoint: `http://127.0.0.1:${listener.port}/api/1/item/`,
    apiUrl: `http://127.0.0.1:${listener.port}/api/1/`,
    port: listener.port,
    items: () => items.values(),
    rejected: () => rejected,
    stop: listener.close,
  };
}
