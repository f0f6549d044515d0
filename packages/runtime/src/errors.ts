import { status } from "@grpc/grpc-js";

/** An error with the gRPC status a handler should answer with. */
export class RpcError extends Error {
  constructor(readonly code: status, message: string) {
    super(message);
    this.name = "RpcError";
  }
}

export const invalidArgument = (message: string) => new RpcError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new RpcError(status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new RpcError(status.ALREADY_EXISTS, message);
export const unauthenticated = (message: string) => new RpcError(status.UNAUTHENTICATED, message);
export const unavailable = (message: string) => new RpcError(status.UNAVAILABLE, message);

/** True for errors a gRPC client got back from a server (they carry a numeric `code`). */
export function isServiceError(err: unknown): err is Error & { code: status; details: string } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === "number" && "details" in err;
}
