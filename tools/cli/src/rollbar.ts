// Rollbar from the CLI: the items a trace produced. Every item the services send carries the trace's ids as custom
// data (@tracemesh/telemetry's reportError), so an RQL query over item occurrences finds them: POST
// /api/1/rql/jobs, then the job's result (polled, bounded). A read token (ROLLBAR_READ_TOKEN) is needed; the
// post_server_item token the services hold cannot read.

export const DEFAULT_ROLLBAR_API_URL = "https://api.rollbar.com/api/1/";

export interface RollbarOptions {
  readToken: string;
  /** …/api/1/ (ROLLBAR_API_URL; a stand-in's). */
  apiUrl?: string;
  timeoutMs?: number;
}

/** One occurrence of an item in the trace, as RQL returns it. */
export interface RollbarOccurrence {
  counter: number;
  title: string;
  level: string;
  timestamp: number;
  service?: string;
  spanId?: string;
  /** The item's page in Rollbar's UI (relative to the project). */
  itemPath: string;
}

interface RqlJob {
  err: number;
  message?: string;
  result?: { id: string; status: string; result?: { columns: string[]; rows: unknown[][] } };
}

async function rql(opts: RollbarOptions, path: string, init: RequestInit): Promise<RqlJob> {
  const base = opts.apiUrl ?? DEFAULT_ROLLBAR_API_URL;
  const res = await fetch(new URL(path, base.endsWith("/") ? base : `${base}/`), {
    ...init,
    headers: { "content-type": "application/json", "x-rollbar-access-token": opts.readToken },
    signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000),
  });
  const body = (await res.json().catch(() => ({ err: 1, message: `HTTP ${res.status}` }))) as RqlJob;
  if (!res.ok || body.err !== 0) throw new Error(`Rollbar ${path}: HTTP ${res.status} ${body.message ?? ""}`.trim());
  return body;
}

/** The occurrences whose custom.trace_id is `traceId` (an RQL job, polled until done; bounded). */
export async function rollbarOccurrences(opts: RollbarOptions, traceId: string): Promise<RollbarOccurrence[]> {
  if (!/^[0-9a-f]{32}$/.test(traceId)) throw new Error(`not a trace id: ${traceId}`);
  const job = await rql(opts, "rql/jobs", { method: "POST", body: JSON.stringify({ query_string: `select * from item_occurrence where custom.trace_id = '${traceId}'` }) });
  const id = job.result?.id;
  if (!id) throw new Error("Rollbar RQL: no job id");
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000) * 3;
  for (;;) {
    const done = await rql(opts, `rql/job/${id}?expand=result`, { method: "GET" });
    const status = done.result?.status;
    if (status === "success" && done.result?.result) {
      const { columns, rows } = done.result.result;
      const at = (row: unknown[], column: string) => row[columns.indexOf(column)];
      return rows.map((row) => ({
        counter: Number(at(row, "item.counter")),
        title: String(at(row, "item.title") ?? ""),
        level: String(at(row, "item.level") ?? "error"),
        timestamp: Number(at(row, "timestamp") ?? 0),
        service: at(row, "custom.service") === undefined ? undefined : String(at(row, "custom.service")),
        spanId: at(row, "custom.span_id") === undefined ? undefined : String(at(row, "custom.span_id")),
        itemPath: `items/${Number(at(row, "item.counter"))}/`,
      }));
    }
    if (status === "failed" || status === "cancelled" || status === "timed_out") throw new Error(`Rollbar RQL job ${status}`);
    if (Date.now() > deadline) throw new Error("Rollbar RQL: no result in time");
    await new Promise((r) => setTimeout(r, 500));
  }
}
