// The HTTP/JSON edge shared by the services that speak HTTP (api, moderation): errors answered as
// {"error": {"code", "message"}} with their status, and the JSON body rules (415, 413, 400).
import type { IncomingMessage, ServerResponse } from "node:http";

/** An error answered as `{"error": {"code", "message"}}` with its HTTP status. */
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

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}

export function sendHttpError(res: ServerResponse, err: HttpError): void {
  const dependency = err.dependency ? { dependency: err.dependency } : {};
  sendJson(res, err.status, { error: { code: err.code, message: err.message, ...dependency } });
}

/**
 * Reads a JSON body: 415 unless Content-Type is application/json, 413 past limitBytes (checked on
 * Content-Length first, then while reading), 400 when it does not parse.
 */
export async function readJsonBody(req: IncomingMessage, res: ServerResponse, limitBytes: number): Promise<unknown> {
  const tooLarge = () => new HttpError(413, "payload_too_large", `body must be at most ${limitBytes} bytes`);
  const type = req.headers["content-type"] ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    // The body is left unread; closing the connection afterwards avoids reading it at all.
    res.setHeader("connection", "close");
    throw new HttpError(415, "unsupported_media_type", "Content-Type must be application/json");
  }
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > limitBytes) {
    res.setHeader("connection", "close");
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limitBytes) {
        res.setHeader("connection", "close");
        throw tooLarge();
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    // The client aborted mid-body; nobody will read the answer, but it must not count as a bug.
    throw new HttpError(400, "invalid_argument", "request body could not be read");
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") throw new HttpError(400, "invalid_argument", "body must be a JSON object");
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new HttpError(400, "invalid_argument", `malformed JSON: ${(err as Error).message}`);
  }
}
