import { SpanKind, type Context } from "@opentelemetry/api";
import type { ReadableSpan, Span, SpanProcessor } from "@opentelemetry/sdk-trace";

/** The mesh's gRPC services and the service.name of the process that serves each. */
export const GRPC_PEER_SERVICES: Readonly<Record<string, string>> = {
  "tracemesh.v1.UsersService": "users",
  "tracemesh.v1.ActivitiesService": "activities",
  "tracemesh.v1.NotificationsService": "notifications",
};

export interface ClientSpanFacts {
  /** The span name, e.g. `grpc.tracemesh.v1.UsersService/GetUser` (gRPC) or `hset` (ioredis). */
  name: string;
  attributes: Readonly<Record<string, unknown>>;
  /** The instrumentation scope that created the span, e.g. `@opentelemetry/instrumentation-ioredis`. */
  scope?: string;
}

/**
 * The callee's service.name for a client span, or undefined when unknown. X-Ray names a client
 * subsegment (and the service-map node) after `peer.service` first, Honeycomb uses the callee's
 * service.name: setting it makes both tools name the same nodes.
 *
 * Our gRPC instrumentation sets `rpc.service` as the span starts; upstream's instrumentation-grpc sets it only
 * after, so for its spans the span name (`grpc.<package.Service>/<Method>`) is what tells the service.
 */
export function peerServiceFor(span: ClientSpanFacts, httpPeers: Readonly<Record<string, string>> = {}): string | undefined {
  const attrs = span.attributes;
  const dbSystem = attrs["db.system.name"] ?? attrs["db.system"];
  if (dbSystem === "redis" || span.scope === "@opentelemetry/instrumentation-ioredis") return "redis";

  const rpcService =
    typeof attrs["rpc.service"] === "string" ? attrs["rpc.service"] : /^grpc\.([\w.]+)\/\w+$/.exec(span.name)?.[1];
  if (rpcService) return GRPC_PEER_SERVICES[rpcService];

  const host = attrs["server.address"] ?? attrs["net.peer.name"];
  if (typeof host === "string") {
    const port = attrs["server.port"] ?? attrs["net.peer.port"];
    return httpPeers[`${host}:${String(port)}`] ?? httpPeers[host];
  }
  return undefined;
}

/**
 * Parses `host[:port]=service,…` (env TRACEMESH_HTTP_PEERS) into a lookup, so HTTP client spans
 * (loadgen → api) also carry peer.service. Malformed entries are ignored.
 */
export function parseHttpPeers(value: string | undefined): Record<string, string> {
  const peers: Record<string, string> = {};
  for (const entry of (value ?? "").split(",")) {
    const [address, service] = entry.split("=").map((s) => s.trim());
    if (address && service) peers[address] = service;
  }
  return peers;
}

/** Sets `peer.service` on client spans as they start (ended spans are read-only). */
export class PeerServiceSpanProcessor implements SpanProcessor {
  constructor(private readonly httpPeers: Readonly<Record<string, string>> = {}) {}

  onStart(span: Span, _parentContext: Context): void {
    if (span.kind !== SpanKind.CLIENT || span.attributes["peer.service"] !== undefined) return;
    const peer = peerServiceFor(
      { name: span.name, attributes: span.attributes, scope: span.instrumentationScope.name },
      this.httpPeers,
    );
    if (peer) span.setAttribute("peer.service", peer);
  }

  onEnd(_span: ReadableSpan): void {}

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}
