// A stand-in for Amazon CloudWatch Logs (we cannot reach AWS): the JSON 1.1 API Fluent Bit's cloudwatch_logs output
// and `tracemesh trace` / `tracemesh setup cloudwatch` call, checked the way CloudWatch checks it — HTTPS (the
// output always speaks TLS), POST / with `X-Amz-Target: Logs_20140328.<Operation>` and
// `Content-Type: application/x-amz-json-1.1`, a SigV4 signature for service `logs` recomputed with the known key
// (verifySigV4), and each operation's body (names, retention values, PutLogEvents' batch rules) — and answered
// as CloudWatch answers, errors as `{"__type", "message"}`. One store serves the local demo (in memory) and the
// CI cluster's `tracemesh stand-in` (each change also appended to a journal file, replayed at start, which the
// on-cluster verifier reads).
//
// Why not moto: moto checks no signature, its FilterLogEvents knows few patterns, and the cluster would need a
// Python image; this is ~400 lines of the project's own TypeScript, run the same way on both sides.
import crypto from "node:crypto";
import fs from "node:fs";
import type http from "node:http";
import https from "node:https";
import { readBody } from "./http-util.js";
import { RetainedRecords, type Retention } from "./retention.js";
import { awsAuthError, verifySigV4, type SigV4Credentials } from "./sigv4.js";
import { STAND_IN_AWS_CREDENTIALS, STAND_IN_AWS_REGION } from "./xray.js";

export const CLOUDWATCH_LOGS_TARGET_PREFIX = "Logs_20140328.";

/** One log event as stored (FilterLogEvents' and GetLogEvents' shape, plus where it is). */
export interface StoredLogEvent {
  logGroupName: string;
  logStreamName: string;
  timestamp: number;
  ingestionTime: number;
  message: string;
  eventId: string;
}

interface LogStream {
  creationTime: number;
  events: StoredLogEvent[];
  storedBytes: number;
}

interface LogGroup {
  creationTime: number;
  retentionInDays?: number;
  streams: Map<string, LogStream>;
}

export interface QueryDefinition {
  queryDefinitionId: string;
  name: string;
  queryString: string;
  logGroupNames: string[];
  lastModified: number;
}

/** A journal line: every change, in order (the cluster's record; replayed when the stand-in restarts). */
type JournalEntry =
  | { op: "group"; group: string; at: number }
  | { op: "retention"; group: string; days: number }
  | { op: "stream"; group: string; stream: string; at: number }
  | { op: "events"; group: string; stream: string; ingestionTime: number; events: Array<{ timestamp: number; message: string }> }
  | { op: "query"; definition: QueryDefinition };

/** The values PutRetentionPolicy accepts. */
export const RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653];
const GROUP_NAME = /^[.\-_/#A-Za-z0-9]{1,512}$/;
const STREAM_NAME = /^[^:*]{1,512}$/;
const MAX_BATCH_EVENTS = 10_000;
const MAX_BATCH_BYTES = 1_048_576;
const EVENT_OVERHEAD_BYTES = 26;
const MAX_EVENT_BYTES = 1_048_576 - EVENT_OVERHEAD_BYTES;
const DAY_MS = 24 * 3600_000;

/** An answer CloudWatch Logs would give: an HTTP status and a JSON body. */
export class CloudWatchLogsError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}
const invalid = (message: string) => new CloudWatchLogsError(400, "InvalidParameterException", message);
const notFound = (message: string) => new CloudWatchLogsError(400, "ResourceNotFoundException", message);

function str(body: Record<string, unknown>, key: string, required = true): string | undefined {
  const value = body[key];
  if (value === undefined && !required) return undefined;
  if (typeof value !== "string" || value.length === 0) throw invalid(`1 validation error detected: Value at '${key}' failed to satisfy constraint: Member must not be null`);
  return value;
}

function num(body: Record<string, unknown>, key: string): number | undefined {
  const value = body[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isFinite(value)) throw invalid(`Value at '${key}' must be a number`);
  return value;
}

/**
 * Whether `message` matches a CloudWatch Logs filter pattern: empty matches all; `{ $.a.b = "v" }` (JSON
 * patterns: `=`/`!=` on one or more `&&`-joined selectors, `*` as a value's trailing wildcard) matches JSON
 * messages; otherwise terms — every plain or "quoted" term must occur, `-term` must not, and when `?term`s are
 * given one of them must occur. Case-sensitive, as CloudWatch's are. Throws InvalidParameterException for
 * patterns outside this subset (so a caller learns it, instead of matching nothing).
 */
export function matchesFilterPattern(pattern: string | undefined, message: string): boolean {
  const text = (pattern ?? "").trim();
  if (text === "") return true;
  if (text.startsWith("{")) return matchesJsonPattern(text, message);
  const terms = [...text.matchAll(/([?-]?)(?:"((?:[^"\\]|\\.)*)"|(\S+))/g)].map((m) => ({ mark: m[1], term: (m[2] ?? m[3] ?? "").replace(/\\(.)/g, "$1") }));
  const any = terms.filter((t) => t.mark === "?");
  if (any.length > 0) return any.some((t) => message.includes(t.term));
  return terms.every((t) => (t.mark === "-" ? !message.includes(t.term) : message.includes(t.term)));
}

function matchesJsonPattern(pattern: string, message: string): boolean {
  const inner = /^\{\s*(.*?)\s*\}$/s.exec(pattern)?.[1];
  if (inner === undefined) throw invalid(`Invalid filter pattern: ${pattern}`);
  const clauses = inner.split("&&").map((c) => /^\(?\s*\$((?:\.[A-Za-z0-9_@-]+)+)\s*(=|!=)\s*(?:"((?:[^"\\]|\\.)*)"|([^\s)]+))\s*\)?$/.exec(c.trim()));
  if (clauses.some((c) => !c)) throw invalid(`Invalid filter pattern (supported: { $.field = "value" } joined by &&): ${pattern}`);
  let record: unknown;
  try {
    record = JSON.parse(message);
  } catch {
    return false;
  }
  return clauses.every((c) => {
    const [, selector, op, quoted, bare] = c!;
    let value: unknown = record;
    for (const key of selector!.slice(1).split(".")) value = value && typeof value === "object" ? (value as Record<string, unknown>)[key] : undefined;
    const wanted = quoted ?? bare!;
    const actual = value === undefined || value === null ? undefined : String(value);
    const equal = actual !== undefined && (wanted.endsWith("*") ? actual.startsWith(wanted.slice(0, -1)) : actual === wanted);
    return op === "=" ? equal : !equal;
  });
}

/** One PutLogEvents batch as stored: its stream, how many events and bytes it added there. */
interface StoredBatch {
  stream: LogStream;
  events: number;
  bytes: number;
}

/**
 * The data behind the API: log groups, streams, events and saved queries; optionally journaled to a file. With a
 * retention, the oldest batches' events are dropped from their streams while more events are kept than it allows.
 */
export class CloudWatchLogsStore {
  private readonly groups = new Map<string, LogGroup>();
  private readonly queries = new Map<string, QueryDefinition>();
  private eventCount = 0;
  private readonly batches: RetainedRecords<StoredBatch>;

  /** `journal`: a file every change is appended to, and replayed from when it exists. */
  constructor(
    private readonly journal?: string,
    retention: Retention = {},
  ) {
    this.batches = new RetainedRecords<StoredBatch>(retention, (b) => b.events);
    if (journal && fs.existsSync(journal)) {
      for (const line of fs.readFileSync(journal, "utf8").split("\n")) {
        if (!line) continue;
        try {
          this.apply(JSON.parse(line) as JournalEntry);
        } catch {
          // A line cut short by a crash mid-write: the change it held was never acknowledged.
        }
      }
    }
  }

  private record(entry: JournalEntry): void {
    this.apply(entry);
    if (this.journal) fs.appendFileSync(this.journal, JSON.stringify(entry) + "\n");
  }

  private apply(entry: JournalEntry): void {
    if (entry.op === "group") this.groups.set(entry.group, { creationTime: entry.at, streams: new Map() });
    else if (entry.op === "retention") this.groups.get(entry.group)!.retentionInDays = entry.days;
    else if (entry.op === "stream") this.groups.get(entry.group)!.streams.set(entry.stream, { creationTime: entry.at, events: [], storedBytes: 0 });
    else if (entry.op === "query") this.queries.set(entry.definition.queryDefinitionId, entry.definition);
    else {
      const stream = this.groups.get(entry.group)!.streams.get(entry.stream)!;
      const batch: StoredBatch = { stream, events: entry.events.length, bytes: 0 };
      for (const e of entry.events) {
        this.eventCount += 1;
        const eventId = `${e.timestamp}${String(this.eventCount).padStart(20, "0")}`;
        stream.events.push({ logGroupName: entry.group, logStreamName: entry.stream, timestamp: e.timestamp, ingestionTime: entry.ingestionTime, message: e.message, eventId });
        batch.bytes += Buffer.byteLength(e.message);
      }
      stream.storedBytes += batch.bytes;
      // A stream's events are in arrival order: an old batch's events are the first of its stream.
      for (const old of this.batches.push(batch)) {
        old.stream.events.splice(0, old.events);
        old.stream.storedBytes -= old.bytes;
      }
    }
  }

  private group(name: string): LogGroup {
    const group = this.groups.get(name);
    if (!group) throw notFound("The specified log group does not exist.");
    return group;
  }

  /** Every stored event of a group (all groups when omitted), in ingestion order per stream. */
  events(logGroupName?: string): StoredLogEvent[] {
    const groups = logGroupName ? [this.groups.get(logGroupName)].filter((g): g is LogGroup => g !== undefined) : [...this.groups.values()];
    return groups.flatMap((g) => [...g.streams.values()].flatMap((s) => s.events));
  }

  /** Events kept, and events dropped by the retention. */
  eventCounts(): { kept: number; dropped: number } {
    return this.batches.counts();
  }

  /** Group name → stream names. */
  layout(): Record<string, string[]> {
    return Object.fromEntries([...this.groups].map(([name, g]) => [name, [...g.streams.keys()]]));
  }

  queryDefinitions(): QueryDefinition[] {
    return [...this.queries.values()];
  }

  /** Runs one operation of the API on a parsed body; throws CloudWatchLogsError as CloudWatch answers. */
  call(operation: string, body: Record<string, unknown>, now = Date.now()): unknown {
    switch (operation) {
      case "CreateLogGroup": {
        const name = str(body, "logGroupName")!;
        if (!GROUP_NAME.test(name)) throw invalid(`Value '${name}' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+`);
        if (this.groups.has(name)) throw new CloudWatchLogsError(400, "ResourceAlreadyExistsException", "The specified log group already exists");
        this.record({ op: "group", group: name, at: now });
        return {};
      }
      case "PutRetentionPolicy": {
        const name = str(body, "logGroupName")!;
        const days = num(body, "retentionInDays");
        if (days === undefined || !RETENTION_DAYS.includes(days)) throw invalid(`Value '${String(days)}' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [${RETENTION_DAYS.join(", ")}]`);
        this.group(name);
        this.record({ op: "retention", group: name, days });
        return {};
      }
      case "DescribeLogGroups": {
        const prefix = str(body, "logGroupNamePrefix", false) ?? "";
        const logGroups = [...this.groups]
          .filter(([name]) => name.startsWith(prefix))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, g]) => ({
            logGroupName: name,
            creationTime: g.creationTime,
            ...(g.retentionInDays ? { retentionInDays: g.retentionInDays } : {}),
            arn: `arn:aws:logs:us-east-1:000000000000:log-group:${name}:*`,
            storedBytes: [...g.streams.values()].reduce((n, s) => n + s.storedBytes, 0),
          }));
        return { logGroups };
      }
      case "CreateLogStream": {
        const group = this.group(str(body, "logGroupName")!);
        const name = str(body, "logStreamName")!;
        if (!STREAM_NAME.test(name)) throw invalid(`Value '${name}' at 'logStreamName' failed to satisfy constraint: Member must satisfy regular expression pattern: [^:*]*`);
        if (group.streams.has(name)) throw new CloudWatchLogsError(400, "ResourceAlreadyExistsException", "The specified log stream already exists");
        this.record({ op: "stream", group: str(body, "logGroupName")!, stream: name, at: now });
        return {};
      }
      case "DescribeLogStreams": {
        const group = this.group(str(body, "logGroupName")!);
        const prefix = str(body, "logStreamNamePrefix", false) ?? "";
        const logStreams = [...group.streams]
          .filter(([name]) => name.startsWith(prefix))
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([name, s]) => ({
            logStreamName: name,
            creationTime: s.creationTime,
            ...(s.events.length ? { firstEventTimestamp: s.events[0]!.timestamp, lastEventTimestamp: s.events.at(-1)!.timestamp, lastIngestionTime: s.events.at(-1)!.ingestionTime } : {}),
            storedBytes: s.storedBytes,
          }));
        return { logStreams };
      }
      case "PutLogEvents":
        return this.putLogEvents(body, now);
      case "GetLogEvents": {
        const group = this.group(str(body, "logGroupName")!);
        const stream = group.streams.get(str(body, "logStreamName")!);
        if (!stream) throw notFound("The specified log stream does not exist.");
        const limit = Math.min(num(body, "limit") ?? 10_000, 10_000);
        const events = body.startFromHead === true ? stream.events.slice(0, limit) : stream.events.slice(-limit);
        return {
          events: events.map(({ timestamp, message, ingestionTime }) => ({ timestamp, message, ingestionTime })),
          nextForwardToken: `f/${stream.events.length}`,
          nextBackwardToken: `b/0`,
        };
      }
      case "FilterLogEvents":
        return this.filterLogEvents(body);
      case "PutQueryDefinition": {
        const name = str(body, "name")!;
        const queryString = str(body, "queryString")!;
        const logGroupNames = Array.isArray(body.logGroupNames) ? body.logGroupNames.map(String) : [];
        const id = str(body, "queryDefinitionId", false);
        if (id !== undefined && !this.queries.has(id)) throw notFound(`Query definition ${id} does not exist`);
        const definition: QueryDefinition = { queryDefinitionId: id ?? crypto.randomUUID(), name, queryString, logGroupNames, lastModified: now };
        this.record({ op: "query", definition });
        return { queryDefinitionId: definition.queryDefinitionId };
      }
      case "DescribeQueryDefinitions": {
        const prefix = str(body, "queryDefinitionNamePrefix", false) ?? "";
        return { queryDefinitions: this.queryDefinitions().filter((q) => q.name.startsWith(prefix)) };
      }
      default:
        throw new CloudWatchLogsError(400, "UnknownOperationException", `Operation ${operation} is not supported by the CloudWatch Logs stand-in`);
    }
  }

  /** PutLogEvents as the API reference states its rules (batch size and count, order, the 24-hour span, age). */
  private putLogEvents(body: Record<string, unknown>, now: number): unknown {
    const groupName = str(body, "logGroupName")!;
    const streamName = str(body, "logStreamName")!;
    const group = this.group(groupName);
    if (!group.streams.has(streamName)) throw notFound("The specified log stream does not exist.");
    const raw = body.logEvents;
    if (!Array.isArray(raw) || raw.length === 0) throw invalid("1 validation error detected: Value at 'logEvents' failed to satisfy constraint: Member must have length greater than or equal to 1");
    if (raw.length > MAX_BATCH_EVENTS) throw invalid(`Value at 'logEvents' failed to satisfy constraint: Member must have length less than or equal to ${MAX_BATCH_EVENTS}`);
    let bytes = 0;
    const events: Array<{ timestamp: number; message: string }> = [];
    for (const e of raw as unknown[]) {
      const event = e as { timestamp?: unknown; message?: unknown };
      if (typeof event?.timestamp !== "number" || !Number.isInteger(event.timestamp) || typeof event.message !== "string" || event.message.length === 0) {
        throw invalid("Each log event needs an integer timestamp (ms) and a non-empty message");
      }
      const size = Buffer.byteLength(event.message);
      if (size > MAX_EVENT_BYTES) throw invalid(`Log event too large: ${size} bytes`);
      bytes += size + EVENT_OVERHEAD_BYTES;
      events.push({ timestamp: event.timestamp, message: event.message });
    }
    if (bytes > MAX_BATCH_BYTES) throw invalid(`Upload too large: ${bytes} bytes exceeds limit of ${MAX_BATCH_BYTES}`);
    for (let i = 1; i < events.length; i++) {
      if (events[i]!.timestamp < events[i - 1]!.timestamp) throw invalid("Log events in a single PutLogEvents request must be in chronological order.");
    }
    if (events.at(-1)!.timestamp - events[0]!.timestamp > DAY_MS) throw invalid("The batch of log events in a single PutLogEvents request cannot span more than 24 hours.");
    // Too old (past 14 days or the retention) or more than 2 hours ahead: not stored, said so in the answer.
    const oldest = now - Math.min(14, group.retentionInDays ?? 14) * DAY_MS;
    let tooOld = -1;
    events.forEach((e, i) => {
      if (e.timestamp < oldest) tooOld = i;
    });
    const tooNew = events.findIndex((e) => e.timestamp > now + 2 * 3600_000);
    const kept = events.slice(tooOld + 1, tooNew === -1 ? undefined : tooNew);
    if (kept.length > 0) this.record({ op: "events", group: groupName, stream: streamName, ingestionTime: now, events: kept });
    const rejected = { ...(tooOld >= 0 ? { tooOldLogEventEndIndex: tooOld } : {}), ...(tooNew >= 0 ? { tooNewLogEventStartIndex: tooNew } : {}) };
    return { nextSequenceToken: String(this.eventCount).padStart(56, "0"), ...(Object.keys(rejected).length ? { rejectedLogEventsInfo: rejected } : {}) };
  }

  private filterLogEvents(body: Record<string, unknown>): unknown {
    const identifier = str(body, "logGroupName", false) ?? str(body, "logGroupIdentifier", false);
    if (!identifier) throw invalid("Either logGroupName or logGroupIdentifier must be given");
    const groupName = identifier.startsWith("arn:") ? identifier.replace(/^arn:[^:]*:logs:[^:]*:[^:]*:log-group:/, "").replace(/:\*$/, "") : identifier;
    const group = this.group(groupName);
    const names = Array.isArray(body.logStreamNames) ? body.logStreamNames.map(String) : undefined;
    const prefix = str(body, "logStreamNamePrefix", false);
    if (names && prefix) throw invalid("logStreamNames and logStreamNamePrefix cannot both be given");
    const start = num(body, "startTime") ?? 0;
    const end = num(body, "endTime") ?? Number.MAX_SAFE_INTEGER;
    const limit = Math.min(num(body, "limit") ?? 10_000, 10_000);
    const pattern = str(body, "filterPattern", false);
    const offset = body.nextToken === undefined ? 0 : Number(Buffer.from(String(body.nextToken), "base64url").toString());
    if (!Number.isInteger(offset) || offset < 0) throw invalid("The specified nextToken is invalid.");
    const streams = [...group.streams].filter(([name]) => (names ? names.includes(name) : prefix ? name.startsWith(prefix) : true));
    const matching = streams
      .flatMap(([, s]) => s.events)
      .filter((e) => e.timestamp >= start && e.timestamp <= end && matchesFilterPattern(pattern, e.message))
      .sort((a, b) => a.timestamp - b.timestamp || a.eventId.localeCompare(b.eventId));
    const page = matching.slice(offset, offset + limit);
    const next = offset + page.length < matching.length ? Buffer.from(String(offset + page.length)).toString("base64url") : undefined;
    return {
      events: page.map(({ logStreamName, timestamp, message, ingestionTime, eventId }) => ({ logStreamName, timestamp, message, ingestionTime, eventId })),
      searchedLogStreams: streams.map(([name]) => ({ logStreamName: name, searchedCompletely: true })),
      ...(next ? { nextToken: next } : {}),
    };
  }
}

export interface CloudWatchLogsRequestCheck {
  credentials?: SigV4Credentials;
  /** While it returns a reason, every request is answered 503 ServiceUnavailableException (an outage). */
  outage?: () => string | undefined;
}

/**
 * Answers one HTTP request as CloudWatch Logs: the route, the JSON 1.1 headers, the SigV4 signature for service
 * `logs`, then the operation on `store`. Returns the operation and status (for the caller's counts).
 */
export async function handleCloudWatchLogs(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  store: CloudWatchLogsStore,
  check: CloudWatchLogsRequestCheck = {},
): Promise<{ operation: string; status: number; message?: string }> {
  const target = String(req.headers["x-amz-target"] ?? "");
  const operation = target.startsWith(CLOUDWATCH_LOGS_TARGET_PREFIX) ? target.slice(CLOUDWATCH_LOGS_TARGET_PREFIX.length) : "";
  const fail = (err: CloudWatchLogsError) => {
    res.setHeader("x-amzn-ErrorType", err.type);
    res.setHeader("x-amzn-RequestId", crypto.randomUUID());
    const text = JSON.stringify({ __type: err.type, message: err.message });
    res.writeHead(err.status, { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(text) });
    res.end(text);
    return { operation: operation || target || "(none)", status: err.status, message: err.message };
  };
  try {
    const body = await readBody(req, 2 * MAX_BATCH_BYTES);
    if (req.method !== "POST" || (req.url ?? "/").split("?")[0] !== "/") throw new CloudWatchLogsError(404, "UnknownOperationException", `no route ${req.method} ${req.url}`);
    if (!operation) throw new CloudWatchLogsError(400, "UnknownOperationException", `X-Amz-Target must be ${CLOUDWATCH_LOGS_TARGET_PREFIX}<Operation>, got "${target}"`);
    if (!String(req.headers["content-type"] ?? "").startsWith("application/x-amz-json-1.1")) {
      throw new CloudWatchLogsError(400, "SerializationException", "Content-Type must be application/x-amz-json-1.1");
    }
    const signature = verifySigV4(req, body, "logs", check.credentials ?? STAND_IN_AWS_CREDENTIALS, { region: STAND_IN_AWS_REGION });
    if (signature.problem) {
      // CloudWatch Logs is a JSON 1.1 API: refusals as awsAuthError shapes them for that protocol (sigv4.ts).
      const refusal = awsAuthError({ code: signature.code ?? "InvalidSignatureException", problem: signature.problem }, "json");
      throw new CloudWatchLogsError(refusal.status, refusal.body.__type ?? "InvalidSignatureException", signature.problem);
    }
    const down = check.outage?.();
    if (down) throw new CloudWatchLogsError(503, "ServiceUnavailableException", down);
    let parsed: unknown;
    try {
      parsed = JSON.parse(body.toString("utf8") || "{}");
    } catch {
      throw new CloudWatchLogsError(400, "SerializationException", "the body is not JSON");
    }
    if (!parsed || typeof parsed !== "object" || Array.isArray(parsed)) throw new CloudWatchLogsError(400, "SerializationException", "the body must be a JSON object");
    const answer = store.call(operation, parsed as Record<string, unknown>);
    const text = JSON.stringify(answer);
    res.writeHead(200, { "content-type": "application/x-amz-json-1.1", "content-length": Buffer.byteLength(text), "x-amzn-RequestId": crypto.randomUUID() });
    res.end(text);
    return { operation, status: 200 };
  } catch (err) {
    if (err instanceof CloudWatchLogsError) return fail(err);
    return fail(new CloudWatchLogsError(500, "ServiceUnavailableException", (err as Error).message));
  }
}

/** A certificate authority and a server certificate it signed, PEM (made by makeStandInTls). */
export interface StandInTls {
  caCert: string;
  cert: string;
  key: string;
  /** Where ca.pem is written, for clients that take a file (Fluent Bit's tls.ca_file). */
  caFile: string;
}

export interface CloudWatchLogsStandIn {
  /** https://127.0.0.1:PORT */
  url: string;
  port: number;
  store: CloudWatchLogsStore;
  tls: StandInTls;
  /** Requests answered, by operation and status ("PutLogEvents 200"). */
  counts(): Record<string, number>;
  /** Requests refused (signature, shape, outage), with the reason. */
  refused(): Array<{ operation: string; status: number; message?: string }>;
  /** Answers 503 to every request until `until` (ms since epoch); 0 ends it. */
  refuseUntil(until: number): void;
  stop(): Promise<void>;
}

/**
 * The local CloudWatch Logs stand-in: HTTPS on a free loopback port with its own CA (tls), in memory. `retention`
 * bounds the events (and refusals) kept; everything is kept without it.
 */
export async function startCloudWatchLogsStandIn(opts: { tls: StandInTls; credentials?: SigV4Credentials; retention?: Retention }): Promise<CloudWatchLogsStandIn> {
  const store = new CloudWatchLogsStore(undefined, opts.retention);
  const counts: Record<string, number> = {};
  const refused = new RetainedRecords<{ operation: string; status: number; message?: string }>(opts.retention);
  let outageUntil = 0;
  const server = https.createServer({ cert: opts.tls.cert, key: opts.tls.key }, (req, res) => {
    void handleCloudWatchLogs(req, res, store, {
      credentials: opts.credentials,
      outage: () => (Date.now() < outageUntil ? "The service is unavailable (the stand-in's outage)." : undefined),
    }).then((answer) => {
      const key = `${answer.operation} ${answer.status}`;
      counts[key] = (counts[key] ?? 0) + 1;
      if (answer.status !== 200) refused.push(answer);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    store,
    tls: opts.tls,
    counts: () => ({ ...counts }),
    refused: () => refused.values(),
    refuseUntil: (until) => {
      outageUntil = until;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

