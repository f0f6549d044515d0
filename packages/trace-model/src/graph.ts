// A service graph as both X-Ray and the OTLP spans can describe it: nodes, directed edges caller → callee,
// call/error/fault/throttle counts and per-edge latency samples.

/** Who drew the graph: X-Ray's segments, the OTLP spans, or the Collector's servicegraph connector (metrics). */
export type GraphSource = "xray" | "otlp" | "servicegraph";

export interface GraphNode {
  /** The name the backend shows for the node (X-Ray segment name, or OTLP service.name / derived callee). */
  name: string;
  /** True when no service reported spans/segments under this name (X-Ray "inferred" remote node, e.g. redis). */
  inferred: boolean;
  /** The resource `service.name` behind the node when known (X-Ray keeps it in segment metadata). */
  serviceName?: string;
}

export interface GraphEdge {
  from: string;
  to: string;
  calls: number;
  /** 4xx-like failures (X-Ray `error`). */
  errors: number;
  /** 5xx-like failures or ERROR status (X-Ray `fault`). */
  faults: number;
  /** 429 (X-Ray `throttle`, also counted in errors). */
  throttles: number;
  /** Calls whose client or answering span has status ERROR, whatever the HTTP status: what the Collector's
   *  servicegraph connector counts as failed (OTLP and servicegraph graphs; X-Ray does not tell). */
  statusErrors?: number;
  /** Calls that are the X-Ray exporter's dependency subsegments of local-root spans (no client span behind them). */
  localRootDependencyCalls: number;
  p50Ms: number | null;
  p99Ms: number | null;
  /** The latency samples behind p50/p99 (left out of --json output). */
  latencySamplesMs: number[];
  /** Other names the callee goes by on this edge (peer.service, db.system.name, rpc.service, server.address, the
   *  X-Ray subsegment name, the downstream service.name), used to pair edges whose names differ. */
  calleeAliases: string[];
  /** Caller aliases (e.g. the resource service.name behind an X-Ray segment named after its span). */
  callerAliases: string[];
  /** Why this edge looks the way it does in this backend (naming rule applied, async hop…). */
  notes: string[];
}

export interface ServiceGraph {
  source: GraphSource;
  nodes: GraphNode[];
  edges: GraphEdge[];
  /** How many traces the graph was built from (null when the source does not tell, e.g. GetServiceGraph). */
  traceCount: number | null;
}

/** Nearest-rank percentile of an unsorted sample; null for an empty sample. */
export function percentile(samples: readonly number[], p: number): number | null {
  if (samples.length === 0) return null;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return round(sorted[rank - 1]);
}

export function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/** Accumulates calls into edges and nodes; turns them into a ServiceGraph at the end. */
export class GraphBuilder {
  private readonly nodes = new Map<string, GraphNode>();
  private readonly edges = new Map<
    string,
    Omit<GraphEdge, "p50Ms" | "p99Ms" | "latencySamplesMs" | "calleeAliases" | "callerAliases" | "notes"> & {
      latencies: number[];
      calleeAliases: Set<string>;
      callerAliases: Set<string>;
      notes: Set<string>;
    }
  >();
  private readonly traces = new Set<string>();

  constructor(private readonly source: GraphSource) {}

  node(name: string, inferred: boolean, serviceName?: string): void {
    const existing = this.nodes.get(name);
    if (!existing) {
      this.nodes.set(name, { name, inferred, ...(serviceName ? { serviceName } : {}) });
      return;
    }
    // A name seen once as a real service is a real service.
    if (!inferred) existing.inferred = false;
    if (serviceName && !existing.serviceName) existing.serviceName = serviceName;
  }

  trace(traceId: string): void {
    this.traces.add(traceId);
  }

  call(
    from: string,
    to: string,
    call: {
      latencyMs: number | null;
      error: boolean;
      fault: boolean;
      throttle: boolean;
      calleeAliases?: Iterable<string | undefined>;
      callerAliases?: Iterable<string | undefined>;
      notes?: Iterable<string>;
      localRootDependency?: boolean;
      /** The client or the answering span has status ERROR. */
      statusError?: boolean;
    },
  ): void {
    const key = `${from}\u0000${to}`;
    let edge = this.edges.get(key);
    if (!edge) {
      edge = {
        from,
        to,
        calls: 0,
        errors: 0,
        faults: 0,
        throttles: 0,
        localRootDependencyCalls: 0,
        statusErrors: 0,
        latencies: [],
        calleeAliases: new Set(),
        callerAliases: new Set(),
        notes: new Set(),
      };
      this.edges.set(key, edge);
    }
    edge.calls += 1;
    if (call.error) edge.errors += 1;
    if (call.fault) edge.faults += 1;
    if (call.throttle) edge.throttles += 1;
    if (call.localRootDependency) edge.localRootDependencyCalls += 1;
    if (call.statusError) edge.statusErrors = (edge.statusErrors ?? 0) + 1;
    if (call.latencyMs !== null && Number.isFinite(call.latencyMs)) edge.latencies.push(call.latencyMs);
    for (const alias of call.calleeAliases ?? []) if (alias && alias !== to) edge.calleeAliases.add(alias);
    for (const alias of call.callerAliases ?? []) if (alias && alias !== from) edge.callerAliases.add(alias);
    for (const note of call.notes ?? []) edge.notes.add(note);
  }

  build(traceCountKnown = true): ServiceGraph {
    const edges: GraphEdge[] = [...this.edges.values()]
      .map((e) => ({
        from: e.from,
        to: e.to,
        calls: e.calls,
        errors: e.errors,
        faults: e.faults,
        throttles: e.throttles,
        localRootDependencyCalls: e.localRootDependencyCalls,
        ...(this.source === "otlp" ? { statusErrors: e.statusErrors ?? 0 } : {}),
        p50Ms: percentile(e.latencies, 50),
        p99Ms: percentile(e.latencies, 99),
        latencySamplesMs: e.latencies.map(round),
        calleeAliases: [...e.calleeAliases].sort(),
        callerAliases: [...e.callerAliases].sort(),
        notes: [...e.notes],
      }))
      .sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
    const nodes = [...this.nodes.values()].sort((a, b) => a.name.localeCompare(b.name));
    return { source: this.source, nodes, edges, traceCount: traceCountKnown ? this.traces.size : null };
  }
}

/** The X-Ray exporter's rule (translator/cause.go): an HTTP status decides first; otherwise ERROR status = fault. */
export function classifyFailure(httpStatus: number | undefined, statusIsError: boolean): {
  error: boolean;
  fault: boolean;
  throttle: boolean;
} {
  if (httpStatus !== undefined && httpStatus >= 400 && httpStatus <= 499) {
    return { error: true, fault: false, throttle: httpStatus === 429 };
  }
  if (httpStatus !== undefined && httpStatus >= 500 && httpStatus <= 599) {
    return { error: false, fault: true, throttle: false };
  }
  return { error: false, fault: statusIsError, throttle: false };
}
