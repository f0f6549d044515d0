// Validation at the edge: bad input is answered with 400 here and never reaches a backend.
// The rules repeat the backends' own checks so both layers agree.
import { Ttl } from "@tracemesh/proto";
import { badRequest } from "./errors.js";

export const HANDLE_PATTERN = /^[a-z0-9_]{3,20}$/;
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
// Cursors are opaque tokens minted by activities; anything else is rejected before the call.
const CURSOR_PATTERN = /^[A-Za-z0-9_\-.:=]{1,200}$/;
export const MESSAGE_MAX = 280;
export const DISPLAY_NAME_MAX = 50;

/** The API's ttl names and the proto enum values they stand for. */
export const TTLS: Record<string, Ttl> = {
  "30-days": Ttl.TTL_30_DAYS,
  "7-days": Ttl.TTL_7_DAYS,
  "3-days": Ttl.TTL_3_DAYS,
  "1-day": Ttl.TTL_1_DAY,
  "12-hours": Ttl.TTL_12_HOURS,
  "3-hours": Ttl.TTL_3_HOURS,
  "1-hour": Ttl.TTL_1_HOUR,
};
export const DEFAULT_TTL = "7-days";

export function handle(value: unknown, what = "handle"): string {
  if (typeof value !== "string" || !HANDLE_PATTERN.test(value)) {
    throw badRequest(`${what} must match ${HANDLE_PATTERN.source}`);
  }
  return value;
}

export function uuid(value: string | undefined): string {
  if (value === undefined || !UUID_PATTERN.test(value)) throw badRequest("activity uuid must be a UUID");
  return value.toLowerCase();
}

export function displayName(value: unknown): string {
  if (typeof value !== "string") throw badRequest("display_name must be a string");
  const trimmed = value.trim();
  const length = [...trimmed].length;
  // eslint-disable-next-line no-control-regex
  if (length < 1 || length > DISPLAY_NAME_MAX || /[\u0000-\u001f\u007f]/.test(trimmed)) {
    throw badRequest(`display_name must be 1..${DISPLAY_NAME_MAX} printable characters`);
  }
  return trimmed;
}

/** 1..280 characters (code points), not only whitespace. */
export function message(value: unknown): string {
  if (typeof value !== "string") throw badRequest("message must be a string");
  const length = [...value].length;
  if (value.trim() === "" || length > MESSAGE_MAX) {
    throw badRequest(`message must be 1..${MESSAGE_MAX} characters and not blank (got ${length})`);
  }
  return value;
}

export function ttl(value: unknown): Ttl {
  const name = value === undefined ? DEFAULT_TTL : value;
  if (typeof name !== "string" || !(name in TTLS)) {
    throw badRequest(`ttl must be one of ${Object.keys(TTLS).join(", ")}`);
  }
  return TTLS[name]!;
}

/** An optional integer query parameter within [min, max]; undefined when absent. */
export function limit(value: string | null, max = 100): number | undefined {
  if (value === null) return undefined;
  if (!/^\d{1,4}$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw badRequest(`limit must be an integer from 1 to ${max}`);
  }
  return Number(value);
}

export function cursor(value: string | null): string {
  // An empty `cursor=` is not a cursor either (the OpenAPI pattern needs 1+ characters).
  if (value === null) return "";
  if (!CURSOR_PATTERN.test(value)) throw badRequest("cursor is not a cursor this API returned");
  return value;
}

/** The JSON body must be an object; returns it typed as a record of unknowns. */
export function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw badRequest("body must be a JSON object");
  }
  return body as Record<string, unknown>;
}
