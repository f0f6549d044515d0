import { status } from "@grpc/grpc-js";
import { HttpError, isServiceError, unavailableDependency } from "@tracemesh/runtime";

// HttpError (answered as `{error: {code, message}}`) is the one in runtime, shared with moderation.
export { HttpError };

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
 * The 503 for a call to `dependency` that did not answer (UNAVAILABLE, DEADLINE_EXCEEDED), naming it;
 * undefined for any other error. Without a name the message says "a dependency".
 */
export function unavailableError(err: unknown, dependency?: string): HttpError | undefined {
  if (!isServiceError(err)) return undefined;
  const mapped = GRPC_TO_HTTP[err.code];
  if (!mapped || mapped[0] !== 503) return undefined;
  const code = mapped[1];
  // When the backend answered that something behind it is down (e.g. redis), name that.
  const behind = unavailableDependency(err);
  if (behind) return new HttpError(503, code, `${behind} unavailable (reported by ${dependency ?? "a backend"})`, behind);
  // A fixed text: the details of a transport failure are not for the client.
  return new HttpError(503, code, dependency ? `${dependency} did not answer (${code})` : `a dependency did not answer (${err.details || code})`, dependency);
}

/** The HttpError to answer with for anything a handler threw, or undefined for a bug (→ 500). */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  if (!isServiceError(err)) return undefined;
  const unavailable = unavailableError(err);
  if (unavailable) return unavailable;
  const mapped = GRPC_TO_HTTP[err.code];
  if (!mapped) return undefined;
  // 4xx details come from our own services' validation and are safe to show.
  return new HttpError(mapped[0], mapped[1], err.details || mapped[1]);
}
