import type { Sampler, SamplingResult } from "@opentelemetry/sdk-trace";

/** A sampler that counts how often the SDK asks it: a call that skips the SDK never does. */
export class CountingSampler implements Sampler {
  calls = 0;
  constructor(private readonly inner: Sampler) {}
  shouldSample(...args: Parameters<Sampler["shouldSample"]>): SamplingResult {
    this.calls += 1;
    return this.inner.shouldSample(...args);
  }
  toString(): string {
    return `Counting(${this.inner.toString()})`;
  }
}
