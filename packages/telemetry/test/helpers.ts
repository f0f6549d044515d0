// Shared by the in-process instrumentation tests and the traced-app fixture.
import { ROOT_CONTEXT, trace, type Context, type TraceFlags } from "@opentelemetry/api";
import type { Sampler, SamplingResult } from "@opentelemetry/sdk-trace";

/** A sampler that counts how often the SDK asks it: a call that skips the SDK never does. */
export class CountingSampler implements Sampler {
  calls = 0;
  /** The trace id of every call, in order. */
  traceIds: string[] = [];
  constructor(private readonly inner: Sampler) {}
  shouldSample(...args: Parameters<Sampler["shouldSample"]>): SamplingResult {
    this.calls += 1;
    this.traceIds.push(args[1]);
    return this.inner.shouldSample(...args);
  }
  reset(): void {
    this.calls = 0;
    this.traceIds = [];
  }
  toString(): string {
    return `Counting(${this.inner.toString()})`;
  }
}

/** The ids of the caller's span in the tests. */
export const PARENT_IDS = { traceId: "5f0e6c2a9b1d4e7f8a0b1c2d3e4f5a6b", spanId: "1a2b3c4d5e6f7a8b" };

/** A context whose span is the caller's (remote), sampled or not. */
export function parentWith(traceFlags: TraceFlags): Context {
  return trace.setSpanContext(ROOT_CONTEXT, { ...PARENT_IDS, traceFlags, isRemote: true });
}

const json = {
  serialize: (value: object) => Buffer.from(JSON.stringify(value)),
  deserialize: (bytes: Buffer) => JSON.parse(bytes.toString("utf8")) as Record<string, unknown>,
};

/** A unary gRPC method whose messages are JSON objects (no .proto needed), as grpc-js's ServiceDefinition takes it. */
export function jsonUnaryMethod(path: string) {
  return {
    path,
    requestStream: false,
    responseStream: false,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
  } as const;
}
