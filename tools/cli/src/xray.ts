// X-Ray through @aws-sdk/client-xray: the group and sampling rules and Transaction Search (`setup xray`), and the
// live graph (`compare`).
import {
  BatchGetTracesCommand,
  CreateGroupCommand,
  CreateSamplingRuleCommand,
  GetGroupsCommand,
  GetSamplingRulesCommand,
  GetServiceGraphCommand,
  GetTraceSegmentDestinationCommand,
  GetTraceSummariesCommand,
  UpdateGroupCommand,
  UpdateSamplingRuleCommand,
  UpdateTraceSegmentDestinationCommand,
  XRayClient,
  type BatchGetTracesCommandOutput,
  type GetGroupsCommandOutput,
  type GetSamplingRulesCommandOutput,
  type GetServiceGraphCommandOutput,
  type GetTraceSummariesCommandOutput,
  type SamplingRule,
  type Service,
} from "@aws-sdk/client-xray";
import { GraphBuilder, graphFromXraySegments, round, segmentDocumentsFrom, type ServiceGraph, type XraySegment } from "@tracemesh/trace-model";

export const MESH_SERVICES = ["api", "activities", "users", "notifications"] as const;

export interface XrayOptions {
  /** AWS region; the SDK also reads AWS_REGION. */
  region?: string;
  /** Endpoint override (e.g. a local X-Ray stand-in); XRAY_ENDPOINT in the CLI. */
  endpoint?: string;
  timeoutMs?: number;
  log?: (line: string) => void;
}

export function makeXrayClient(options: XrayOptions): XRayClient {
  const region = options.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  if (!region) throw new Error("no AWS region: set AWS_REGION or pass --region");
  return new XRayClient({
    region,
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    maxAttempts: 2,
    requestHandler: { requestTimeout: options.timeoutMs ?? 10_000, connectionTimeout: 5_000 },
  });
}

/** Every SDK call gets its own deadline as well as the handler's socket timeout. */
function callOptions(options: XrayOptions): { abortSignal: AbortSignal } {
  return { abortSignal: AbortSignal.timeout((options.timeoutMs ?? 10_000) * 2) };
}

/** X-Ray filter expression: traces where a mesh service had a fault (5xx) or an error (4xx). */
export function groupFilterExpression(services: readonly string[]): string {
  return services.map((s) => `service("${s}") { fault OR error }`).join(" OR ");
}

export function samplingRules(services: readonly string[]): SamplingRule[] {
  return services.map((service) => ({
    RuleName: `tracemesh-${service}`.slice(0, 32),
    ResourceARN: "*",
    Priority: 9000,
    FixedRate: 0.1,
    ReservoirSize: 5,
    ServiceName: service,
    ServiceType: "*",
    Host: "*",
    HTTPMethod: "*",
    URLPath: "*",
    Version: 1,
  }));
}

export interface XraySetupPlan {
  group: { GroupName: string; FilterExpression: string };
  samplingRules: SamplingRule[];
}

export function xraySetupPlan(groupName: string, services: readonly string[]): XraySetupPlan {
  return {
    group: { GroupName: groupName, FilterExpression: groupFilterExpression(services) },
    samplingRules: samplingRules(services),
  };
}

export interface SetupXrayResult {
  group: "created" | "updated" | "unchanged";
  samplingRules: { name: string; action: "created" | "updated" | "unchanged" }[];
}

const RULE_FIELDS = [
  "ResourceARN",
  "Priority",
  "FixedRate",
  "ReservoirSize",
  "ServiceName",
  "ServiceType",
  "Host",
  "HTTPMethod",
  "URLPath",
] as const;

export async function setupXray(plan: XraySetupPlan, options: XrayOptions): Promise<SetupXrayResult> {
  const client = makeXrayClient(options);
  const log = options.log ?? (() => undefined);
  try {
    let groupAction: SetupXrayResult["group"] = "unchanged";
    let existing: { FilterExpression?: string } | undefined;
    let token: string | undefined;
    do {
      const page: GetGroupsCommandOutput = await client.send(new GetGroupsCommand({ NextToken: token }), callOptions(options));
      existing = existing ?? page.Groups?.find((g) => g.GroupName === plan.group.GroupName);
      token = page.NextToken;
    } while (token && !existing);
    if (!existing) {
      await client.send(new CreateGroupCommand(plan.group), callOptions(options));
      groupAction = "created";
    } else if (existing.FilterExpression !== plan.group.FilterExpression) {
      await client.send(new UpdateGroupCommand(plan.group), callOptions(options));
      groupAction = "updated";
    }
    log(`group "${plan.group.GroupName}": ${groupAction}`);

    const rules: SamplingRule[] = [];
    token = undefined;
    do {
      const page: GetSamplingRulesCommandOutput = await client.send(
        new GetSamplingRulesCommand({ NextToken: token }),
        callOptions(options),
      );
      for (const r of page.SamplingRuleRecords ?? []) if (r.SamplingRule) rules.push(r.SamplingRule);
      token = page.NextToken;
    } while (token);

    const results: SetupXrayResult["samplingRules"] = [];
    for (const wanted of plan.samplingRules) {
      const current = rules.find((r) => r.RuleName === wanted.RuleName);
      let action: "created" | "updated" | "unchanged" = "unchanged";
      if (!current) {
        await client.send(new CreateSamplingRuleCommand({ SamplingRule: wanted }), callOptions(options));
        action = "created";
      } else if (RULE_FIELDS.some((f) => current[f] !== wanted[f])) {
        // Version cannot be updated, so it is left out.
        const { Version: _version, ...update } = wanted;
        await client.send(new UpdateSamplingRuleCommand({ SamplingRuleUpdate: update }), callOptions(options));
        action = "updated";
      }
      results.push({ name: wanted.RuleName ?? "", action });
      log(`sampling rule "${wanted.RuleName}": ${action}`);
    }
    return { group: groupAction, samplingRules: results };
  } finally {
    client.destroy();
  }
}

/**
 * Transaction Search, as AWS's "Enable transaction search" page does it through the API: X-Ray's trace segment
 * destination set to CloudWatchLogs (spans then land in the log group `aws/spans`, and X-Ray's OTLP endpoint
 * accepts spans). Account-wide and billed differently: like every `setup` target, `setup xray --transaction-search`
 * only prints its plan unless told to apply. The CloudWatch Logs resource policy that lets X-Ray write there is a prerequisite this does not
 * create (docs/xray-migration.md shows it).
 */
export const TRANSACTION_SEARCH_DESTINATION = "CloudWatchLogs";

export interface TransactionSearchPlan {
  check: "GetTraceSegmentDestination";
  update: { operation: "UpdateTraceSegmentDestination"; body: { Destination: typeof TRANSACTION_SEARCH_DESTINATION } };
  prerequisite: string;
}

export function transactionSearchPlan(): TransactionSearchPlan {
  return {
    check: "GetTraceSegmentDestination",
    update: { operation: "UpdateTraceSegmentDestination", body: { Destination: TRANSACTION_SEARCH_DESTINATION } },
    prerequisite:
      "a CloudWatch Logs resource policy allowing xray.amazonaws.com logs:PutLogEvents on aws/spans and /aws/application-signals/data (docs/xray-migration.md)",
  };
}

export interface TraceSegmentDestinationState {
  destination: string;
  status: string;
}

export interface TransactionSearchResult {
  before: TraceSegmentDestinationState;
  /** "unchanged": already on; "updated": UpdateTraceSegmentDestination called. */
  action: "unchanged" | "updated";
  /** GetTraceSegmentDestination after the update. */
  after?: TraceSegmentDestinationState;
}

/** Reads the destination and, unless it is CloudWatchLogs already, switches it there and reads it again. */
export async function setupTransactionSearch(options: XrayOptions): Promise<TransactionSearchResult> {
  const client = makeXrayClient(options);
  const log = options.log ?? (() => undefined);
  const read = async (): Promise<TraceSegmentDestinationState> => {
    const out = await client.send(new GetTraceSegmentDestinationCommand({}), callOptions(options));
    return { destination: out.Destination ?? "unknown", status: out.Status ?? "unknown" };
  };
  try {
    const before = await read();
    log(`trace segment destination: ${before.destination} (${before.status})`);
    if (before.destination === TRANSACTION_SEARCH_DESTINATION) {
      log("Transaction Search: already on");
      return { before, action: "unchanged" };
    }
    const updated = await client.send(new UpdateTraceSegmentDestinationCommand({ Destination: TRANSACTION_SEARCH_DESTINATION }), callOptions(options));
    log(`UpdateTraceSegmentDestination: ${updated.Destination ?? "?"} (${updated.Status ?? "?"})`);
    const after = await read();
    log(`trace segment destination now: ${after.destination} (${after.status}${after.status === "PENDING" ? ": AWS is still switching; run again to check" : ""})`);
    return { before, action: "updated", after };
  } finally {
    client.destroy();
  }
}

/** Percentile from X-Ray's response-time histogram (Value in seconds, Count). */
function histogramPercentile(histogram: { Value?: number; Count?: number }[], p: number): number | null {
  const total = histogram.reduce((n, h) => n + (h.Count ?? 0), 0);
  if (total === 0) return null;
  const sorted = [...histogram].sort((a, b) => (a.Value ?? 0) - (b.Value ?? 0));
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (const h of sorted) {
    seen += h.Count ?? 0;
    if (seen >= rank) return round((h.Value ?? 0) * 1000);
  }
  return null;
}

/** A ServiceGraph from GetServiceGraph's answer. Client nodes are left out; "remote"/database types are inferred. */
export function graphFromServiceGraph(services: readonly Service[]): ServiceGraph {
  const byRef = new Map(services.map((s) => [s.ReferenceId, s]));
  const builder = new GraphBuilder("xray");
  const isInferred = (s: Service): boolean => s.Type === "remote" || (s.Type ?? "").startsWith("Database::");
  for (const s of services) if (s.Type !== "client" && s.Name) builder.node(s.Name, isInferred(s));
  const graph = builder.build(false);
  for (const s of services) {
    if (s.Type === "client" || !s.Name) continue;
    for (const e of s.Edges ?? []) {
      const target = byRef.get(e.ReferenceId);
      if (!target?.Name) continue;
      const stats = e.SummaryStatistics ?? {};
      graph.edges.push({
        from: s.Name,
        to: target.Name,
        calls: stats.TotalCount ?? 0,
        errors: stats.ErrorStatistics?.TotalCount ?? 0,
        faults: stats.FaultStatistics?.TotalCount ?? 0,
        throttles: stats.ErrorStatistics?.ThrottleCount ?? 0,
        // GetServiceGraph aggregates: which calls came from dependency subsegments is not visible.
        localRootDependencyCalls: 0,
        p50Ms: histogramPercentile(e.ResponseTimeHistogram ?? [], 50),
        p99Ms: histogramPercentile(e.ResponseTimeHistogram ?? [], 99),
        latencySamplesMs: [],
        calleeAliases: (target.Names ?? []).filter((n) => n !== target.Name),
        callerAliases: (s.Names ?? []).filter((n) => n !== s.Name),
        notes: [],
      });
    }
  }
  graph.edges.sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
  return graph;
}

export interface LiveXrayOptions extends XrayOptions {
  start: Date;
  end: Date;
  /** Upper bound on traces fetched with BatchGetTraces. */
  maxTraces?: number;
}

/** GetServiceGraph over the window; when it is empty (a new account, or the local stand-in), rebuild from the window's segments. */
export async function fetchXrayGraph(options: LiveXrayOptions): Promise<{ graph: ServiceGraph; via: string }> {
  const client = makeXrayClient(options);
  try {
    const services: Service[] = [];
    let token: string | undefined;
    do {
      const page: GetServiceGraphCommandOutput = await client.send(
        new GetServiceGraphCommand({ StartTime: options.start, EndTime: options.end, NextToken: token }),
        callOptions(options),
      );
      services.push(...(page.Services ?? []));
      token = page.NextToken;
    } while (token);
    if (services.length > 0) return { graph: graphFromServiceGraph(services), via: "GetServiceGraph" };

    const ids: string[] = [];
    token = undefined;
    const maxTraces = options.maxTraces ?? 500;
    do {
      const page: GetTraceSummariesCommandOutput = await client.send(
        new GetTraceSummariesCommand({ StartTime: options.start, EndTime: options.end, NextToken: token }),
        callOptions(options),
      );
      for (const t of page.TraceSummaries ?? []) if (t.Id && !ids.includes(t.Id)) ids.push(t.Id);
      token = page.NextToken;
    } while (token && ids.length < maxTraces);
    const docs: XraySegment[] = [];
    for (let i = 0; i < Math.min(ids.length, maxTraces); i += 5) {
      let next: string | undefined;
      do {
        const page: BatchGetTracesCommandOutput = await client.send(
          new BatchGetTracesCommand({ TraceIds: ids.slice(i, i + 5), NextToken: next }),
          callOptions(options),
        );
        for (const t of page.Traces ?? []) {
          for (const s of t.Segments ?? []) if (s.Document) docs.push(...segmentDocumentsFrom(s.Document, `segment ${s.Id}`));
        }
        next = page.NextToken;
      } while (next);
    }
    return { graph: graphFromXraySegments(docs), via: `BatchGetTraces (${ids.length} traces; GetServiceGraph was empty)` };
  } finally {
    client.destroy();
  }
}
