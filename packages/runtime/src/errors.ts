import { status } from "@grpc/grpc-js";

/** An error with the gRPC status a handler should answer with. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** For UNAVAILABLE: the dependency that is down (sent to the caller as UNAVAILABLE_DEPENDENCY_KEY). */
    readonly dependency?: string,
  ) {
    super(message);
    this.name = "RpcError";
  }
}

/**
 * Trailing metadata key naming the dependency behind an UNAVAILABLE (e.g. `redis`), so every hop
 * up to the HTTP edge can say what is down rather than only who answered.
 */
export const UNAVAILABLE_DEPENDENCY_KEY = "tracemesh-unavailable-dependency";

/** The dependency a downstream UNAVAILABLE named in its trailers, if any. */
export function unavailableDependency(err: unknown): string | undefined {
  if (!isServiceError(err) || err.code !== status.UNAVAILABLE) return undefined;
  const metadata = (err as { metadata?: { get(key: string): unknown[] } }).metadata;
  const value = metadata?.get(UNAVAILABLE_DEPENDENCY_KEY)[0];
  return typeof value === "string" && /^[a-z0-9-]{1,40}$/.test(value) ? value : undefined;
}

export const invalidArgument = (message: string) => new RpcError(status.INVALID_ARGUMENT, message);

/** The value of a checked input (a @tracemesh/domain rule's result), or INVALID_ARGUMENT with why it was refused. */
export function validArgument<T>(checked: { ok: true; value: T } | { ok: false; error: string }): T {
  if (!checked.ok) throw invalidArgument(checked.error);
  return checked.value;
}
export const notFound = (message: string) => new RpcError(status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new RpcError(status.ALREADY_EXISTS, message);
export const unauthenticated = (message: string) => new RpcError(status.UNAUTHENTICATED, message);
export const unavailable = (message: string, dependency?: string) => new RpcError(status.UNAVAILABLE, message, dependency);

/** True for errors a gRPC client got back from a server (they carry a numeric `code`). */
export function isServiceError(err: unknown): err is Error & { code: status; details: string } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "number" && "details" in err;
}

/** The text of anything thrown, for a log field or a span status: an Error's message, else its string form. */
export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
