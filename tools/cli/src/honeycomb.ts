// Honeycomb's configuration API: saved queries (Queries + Query Annotations), a board, and markers.
// Paths and bodies follow the public API reference: POST /1/queries/{dataset} (a query spec; the API can only
// create and get queries), /1/query_annotations/{dataset}[/{id}] (list, create, update: names a query),
// /1/boards[/{id}] (flexible boards with query panels), /1/markers/{dataset}[/{id}]. Header X-Honeycomb-Team.

export const DEFAULT_HONEYCOMB_API_URL = "https://api.honeycomb.io";
/** Environment-wide dataset slug: the mesh sends one dataset per service.name, the queries span all of them. */
export const ALL_DATASETS = "__all__";

export interface Calculation {
  op: string;
  column?: string;
}
export interface Filter {
  column: string;
  op: string;
  value?: string | number | boolean;
}
export interface Order {
  op?: string;
  column?: string;
  order?: "ascending" | "descending";
}
export interface QuerySpec {
  calculations?: Calculation[];
  filters?: Filter[];
  filter_combination?: "AND" | "OR";
  breakdowns?: string[];
  orders?: Order[];
  limit?: number;
  time_range?: number;
}

export interface SavedQuery {
  name: string;
  description: string;
  spec: QuerySpec;
}

const duration = "duration_ms";

/** The saved queries of the seed's homework, for the mesh's attribute names. */
export function savedQueries(): SavedQuery[] {
  return [
    {
      name: "tracemesh: latency by user",
      description: "P99 and heatmap of span duration per acting user (app.user.handle).",
      spec: {
        calculations: [
          { op: "P99", column: duration },
          { op: "HEATMAP", column: duration },
        ],
        filters: [{ column: "app.user.handle", op: "exists" }],
        breakdowns: ["app.user.handle"],
        orders: [{ op: "P99", column: duration, order: "descending" }],
        limit: 100,
        time_range: 7200,
      },
    },
    {
      name: "tracemesh: recent traces",
      description: "Root spans of the last 10 minutes, one row per trace; open a row to see its waterfall.",
      spec: {
        calculations: [{ op: "MAX", column: duration }],
        filters: [{ column: "trace.parent_id", op: "does-not-exist" }],
        breakdowns: ["trace.trace_id", "service.name", "name"],
        orders: [{ op: "MAX", column: duration, order: "descending" }],
        limit: 100,
        time_range: 600,
      },
    },
    {
      name: "tracemesh: error rate by service and route",
      description: "Span count per service and route, split by the error flag (error=true rows over all rows is the rate).",
      spec: {
        calculations: [{ op: "COUNT" }],
        breakdowns: ["service.name", "http.route", "error"],
        orders: [{ op: "COUNT", order: "descending" }],
        limit: 100,
        time_range: 7200,
      },
    },
    {
      name: "tracemesh: slowest Redis commands",
      description: "Redis command spans (db.system.name = redis) by command and service, slowest P99 first.",
      spec: {
        calculations: [{ op: "P99", column: duration }, { op: "COUNT" }],
        filters: [{ column: "db.system.name", op: "=", value: "redis" }],
        breakdowns: ["name", "service.name"],
        orders: [{ op: "P99", column: duration, order: "descending" }],
        limit: 50,
        time_range: 7200,
      },
    },
    {
      name: "tracemesh: notification lag",
      description:
        "How long the notifications consumer takes per stream entry (CONSUMER spans of tracemesh:events), P50/P99 and heatmap.",
      spec: {
        calculations: [
          { op: "P50", column: duration },
          { op: "P99", column: duration },
          { op: "HEATMAP", column: duration },
        ],
        filters: [
          { column: "service.name", op: "=", value: "notifications" },
          { column: "span.kind", op: "=", value: "consumer" },
        ],
        time_range: 7200,
      },
    },
    {
      name: "tracemesh: faults",
      description:
        "Spans a failure scenario touched (app.fault.name, switched with `tracemesh fault on`), by scenario, service and span, " +
        "with errors, P99 and heatmap; docs/faults.md says what each one looks like.",
      spec: {
        calculations: [{ op: "COUNT" }, { op: "P99", column: duration }, { op: "HEATMAP", column: duration }],
        filters: [{ column: "app.fault.name", op: "exists" }],
        breakdowns: ["app.fault.name", "service.name", "name", "error"],
        orders: [{ op: "COUNT", order: "descending" }],
        limit: 100,
        time_range: 7200,
      },
    },
    {
      name: "tracemesh: network latency by route",
      description:
        "The browser's fetch spans (frontend-web) per api route: app.network_ms is the fetch's time minus the api time the " +
        "frontend server reports in Server-Timing (app.backend_ms), i.e. the network between browser and backend.",
      spec: {
        calculations: [
          { op: "P50", column: "app.network_ms" },
          { op: "P95", column: "app.network_ms" },
          { op: "HEATMAP", column: "app.network_ms" },
          { op: "P95", column: "app.backend_ms" },
        ],
        filters: [
          { column: "service.name", op: "=", value: "frontend-web" },
          { column: "app.network_ms", op: "exists" },
        ],
        breakdowns: ["http.route", "http.request.method"],
        orders: [{ op: "P95", column: "app.network_ms", order: "descending" }],
        limit: 50,
        time_range: 7200,
      },
    },
  ];
}

export const BOARD_NAME = "tracemesh";

export interface HoneycombOptions {
  apiKey: string;
  apiUrl?: string;
  dataset?: string;
  timeoutMs?: number;
  /** Reports each action taken, e.g. to stderr. */
  log?: (line: string) => void;
}

export class HoneycombError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export async function honeycombRequest<T>(
  options: HoneycombOptions,
  method: "GET" | "POST" | "PUT",
  path: string,
  body?: unknown,
): Promise<T> {
  const base = (options.apiUrl ?? DEFAULT_HONEYCOMB_API_URL).replace(/\/+$/, "");
  let response: Response;
  try {
    response = await fetch(base + path, {
      method,
      headers: {
        "X-Honeycomb-Team": options.apiKey,
        ...(body === undefined ? {} : { "Content-Type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
  } catch (err) {
    const e = err as Error;
    throw new HoneycombError(`${method} ${path}: ${e.name === "TimeoutError" ? "timed out" : e.message}`);
  }
  const text = await response.text();
  if (!response.ok) {
    throw new HoneycombError(`${method} ${path}: HTTP ${response.status} ${text.slice(0, 300)}`, response.status);
  }
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new HoneycombError(`${method} ${path}: response is not JSON`);
  }
}

interface QueryAnnotation {
  id: string;
  name: string;
  description?: string;
  query_id: string;
}
interface QueryResponse extends QuerySpec {
  id: string;
}
interface BoardPanel {
  type: "query";
  query_panel: { query_id: string; query_annotation_id: string; query_style: "graph" | "table" | "combo" };
}
interface Board {
  id?: string;
  name: string;
  description?: string;
  type: "flexible";
  panels?: BoardPanel[];
}

/** Compares what we asked for with what the API returned; fields we did not set are ignored (the API fills defaults). */
export function specMatches(wanted: QuerySpec, actual: QuerySpec): boolean {
  const canonical = (v: unknown): string => JSON.stringify(v ?? null);
  const keys = Object.keys(wanted) as (keyof QuerySpec)[];
  return keys.every((k) => {
    if (k === "filters") {
      const sort = (fs: Filter[] | undefined): string[] => (fs ?? []).map((f) => canonical({ ...f })).sort();
      return canonical(sort(wanted.filters)) === canonical(sort(actual.filters));
    }
    if (k === "orders") {
      const norm = (os: Order[] | undefined): string[] =>
        (os ?? []).map((o) => canonical({ op: o.op, column: o.column, order: o.order ?? "ascending" }));
      return canonical(norm(wanted.orders)) === canonical(norm(actual.orders));
    }
    return canonical(wanted[k]) === canonical(actual[k]);
  });
}

export interface SetupHoneycombResult {
  dataset: string;
  queries: { name: string; queryId: string; annotationId: string; action: "created" | "updated" | "unchanged" }[];
  board: { id: string; action: "created" | "updated" | "unchanged" };
}

/** Creates or updates the saved queries and the board. Running it again changes nothing. */
export async function setupHoneycomb(options: HoneycombOptions): Promise<SetupHoneycombResult> {
  const dataset = options.dataset ?? ALL_DATASETS;
  const ds = encodeURIComponent(dataset);
  const log = options.log ?? (() => undefined);
  const annotations = await honeycombRequest<QueryAnnotation[]>(options, "GET", `/1/query_annotations/${ds}`);
  const result: SetupHoneycombResult = { dataset, queries: [], board: { id: "", action: "unchanged" } };

  for (const saved of savedQueries()) {
    const existing = (annotations ?? []).find((a) => a.name === saved.name);
    if (existing) {
      const current = await honeycombRequest<QueryResponse>(options, "GET", `/1/queries/${ds}/${existing.query_id}`);
      if (specMatches(saved.spec, current) && (existing.description ?? "") === saved.description) {
        result.queries.push({ name: saved.name, queryId: existing.query_id, annotationId: existing.id, action: "unchanged" });
        log(`query "${saved.name}": unchanged`);
        continue;
      }
      const query = specMatches(saved.spec, current)
        ? current
        : await honeycombRequest<QueryResponse>(options, "POST", `/1/queries/${ds}`, saved.spec);
      await honeycombRequest<QueryAnnotation>(options, "PUT", `/1/query_annotations/${ds}/${existing.id}`, {
        name: saved.name,
        description: saved.description,
        query_id: query.id,
      });
      result.queries.push({ name: saved.name, queryId: query.id, annotationId: existing.id, action: "updated" });
      log(`query "${saved.name}": updated`);
      continue;
    }
    const query = await honeycombRequest<QueryResponse>(options, "POST", `/1/queries/${ds}`, saved.spec);
    const annotation = await honeycombRequest<QueryAnnotation>(options, "POST", `/1/query_annotations/${ds}`, {
      name: saved.name,
      description: saved.description,
      query_id: query.id,
    });
    result.queries.push({ name: saved.name, queryId: query.id, annotationId: annotation.id, action: "created" });
    log(`query "${saved.name}": created`);
  }

  const panels: BoardPanel[] = result.queries.map((q) => ({
    type: "query",
    query_panel: { query_id: q.queryId, query_annotation_id: q.annotationId, query_style: "graph" },
  }));
  const wanted: Board = {
    name: BOARD_NAME,
    description: "tracemesh: latency by user, recent traces, errors, Redis and notification lag (made by `tracemesh setup honeycomb`).",
    type: "flexible",
    panels,
  };
  const boards = (await honeycombRequest<Board[]>(options, "GET", "/1/boards")) ?? [];
  const board = boards.find((b) => b.name === BOARD_NAME);
  const panelIds = (ps: BoardPanel[] | undefined): string =>
    JSON.stringify((ps ?? []).map((p) => [p.query_panel?.query_id, p.query_panel?.query_annotation_id]));
  if (!board) {
    const created = await honeycombRequest<Board>(options, "POST", "/1/boards", wanted);
    result.board = { id: created.id ?? "", action: "created" };
  } else if (panelIds(board.panels) !== panelIds(panels) || board.description !== wanted.description) {
    await honeycombRequest<Board>(options, "PUT", `/1/boards/${board.id}`, { ...wanted, id: board.id });
    result.board = { id: board.id ?? "", action: "updated" };
  } else {
    result.board = { id: board.id ?? "", action: "unchanged" };
  }
  log(`board "${BOARD_NAME}": ${result.board.action}`);
  return result;
}

export interface MarkerInput {
  message?: string;
  type?: string;
  url?: string;
  /** Unix seconds. */
  start_time?: number;
  end_time?: number;
}
export interface Marker extends MarkerInput {
  id: string;
}

export async function createMarker(options: HoneycombOptions, marker: MarkerInput): Promise<Marker> {
  const ds = encodeURIComponent(options.dataset ?? ALL_DATASETS);
  return honeycombRequest<Marker>(options, "POST", `/1/markers/${ds}`, marker);
}

/** Closes the newest open marker of a type (sets end_time); creates a point marker when none is open. */
export async function endMarker(options: HoneycombOptions, type: string, endTime: number, message?: string): Promise<Marker> {
  const ds = encodeURIComponent(options.dataset ?? ALL_DATASETS);
  const markers = (await honeycombRequest<Marker[]>(options, "GET", `/1/markers/${ds}`)) ?? [];
  const open = markers
    .filter((m) => m.type === type && !m.end_time && typeof m.start_time === "number")
    .sort((a, b) => (b.start_time ?? 0) - (a.start_time ?? 0))[0];
  if (!open) return createMarker(options, { type, message: message ?? `${type} end`, start_time: endTime });
  const body: MarkerInput = { message: message ?? open.message, type, start_time: open.start_time, end_time: endTime };
  if (open.url) body.url = open.url;
  return honeycombRequest<Marker>(options, "PUT", `/1/markers/${ds}/${open.id}`, body);
}

export type { JsonValue };
