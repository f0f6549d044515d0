import { status } from "@grpc/grpc-js";
import { isServiceError } from "@tracemesh/runtime";

/** An error the API answers with as `{error: {code, message}}`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** For 503s: the dependency that is down (`users`, `redis`…), sent as `error.dependency`. */
    readonly dependency?: string,
  ) {
    super(message);
    this.name = "HttpError";
  }
}

export const badRequest = (message: string) => new HttpError(400, "invalid_argument", message);
export const unauthorized = (message: string) => new HttpError(401, "unauthenticated", message);
export const notFound = (message: string) => new HttpError(404, "not_found", message);

/** gRPC status → HTTP status and error code, as documented in openapi.json. */
const GRPC_TO_HTTP: Partial<Record<status, [number, string]>> = {
  [status.INVALID_ARGUMENT]: [400, "invalid_argument"],
  [status.UNAUTHENTICATED]: [401, "unauthenticated"],
  [status.NOT_FOUND]: [404, "not_found"],
  [status.ALREADY_EXISTS]: [409, "already_exists"],
  [status.UNAVAILABLE]: [503, "unavailable"],
  [status.DEADLINE_EXCEEDED]: [503, "deadline_exceeded"],
};

/**
 * The HttpError to answer with for anything a handler threw, or undefined for a bug (→ 500).
 * `dependency` names the service called, for 503 messages.
 */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (isServiceError(err)) {
    const mapped = GRPC_TO_HTTP[err.code];
    if (!mapped) return undefined;
    const [httpStatus, code] = mapped;
    // 4xx details come from our own services' validation and are safe to show; 503s get a fixed text.
    const message = httpStatus === 503 ? `a dependency did not answer (${err.details || code})` : err.details || code;
    return new HttpError(httpStatus, code, message);
  }
  return undefined;
}
