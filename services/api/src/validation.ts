// Validation at the edge: bad input is answered with 400 here and never reaches a backend.
// The rules are @tracemesh/domain's, the same the backends check, so both layers agree.
import {
  DISPLAY_NAME_MAX,
  HANDLE_PATTERN,
  MESSAGE_MAX,
  characters,
  hasControlCharacters,
  isHandle,
  isUuidAnyCase,
} from "@tracemesh/domain";
import { Ttl } from "@tracemesh/proto";
import { badRequest } from "./errors.js";

// Cursors are opaque tokens minted by activities; anything else is rejected before the call.
const CURSOR_PATTERN = /^[A-Za-z0-9_\-.:=]{1,200}$/;

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
  if (!isHandle(value)) {
    throw badRequest(`${what} must match ${HANDLE_PATTERN.source}`);
  }
  return value;
}

export function uuid(value: string | undefined): string {
  // Any case is accepted here; the backends get the canonical lowercase id.
  if (!isUuidAnyCase(value)) throw badRequest("activity uuid must be a UUID");
  return value.toLowerCase();
}

export function displayName(value: unknown): string {
  if (typeof value !== "string") throw badRequest("display_name must be a string");
  const trimmed = value.trim();
  const length = characters(trimmed);
  if (length < 1 || length > DISPLAY_NAME_MAX || hasControlCharacters(trimmed)) {
    throw badRequest(`display_name must be 1..${DISPLAY_NAME_MAX} printable characters`);
  }
  return trimmed;
}

/** 1..280 characters (code points), not only whitespace. */
export function message(value: unknown): string {
  if (typeof value !== "string") throw badRequest("message must be a string");
  const length = characters(value);
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
export function limit(value: string | null, max: number): number | undefined {
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
