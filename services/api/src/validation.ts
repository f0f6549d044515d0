// Validation at the edge: bad input is answered with 400 here and never reaches a backend.
// The rules and their error texts are @tracemesh/domain's, the same the backends check, so both layers agree.
import { checkDisplayName, checkHandle, checkMessage, isUuidAnyCase, type Checked } from "@tracemesh/domain";
import { checkTtlName } from "@tracemesh/domain/ttl";
import type { Ttl } from "@tracemesh/proto";
import { badRequest } from "./errors.js";

// Cursors are opaque tokens minted by activities; anything else is rejected before the call.
const CURSOR_PATTERN = /^[A-Za-z0-9_\-.:=]{1,200}$/;

/** A domain rule's value, or 400 with its error. */
function valid<T>(checked: Checked<T>): T {
  if (!checked.ok) throw badRequest(checked.error);
  return checked.value;
}

export function handle(value: unknown): string {
  return valid(checkHandle(value));
}

export function uuid(value: string | undefined): string {
  // Any case is accepted here; the backends get the canonical lowercase id.
  if (!isUuidAnyCase(value)) throw badRequest("activity uuid must be a UUID");
  return value.toLowerCase();
}

/** 1..50 printable characters once trimmed; the trimmed name. */
export function displayName(value: unknown): string {
  return valid(checkDisplayName(value));
}

/** 1..280 characters as sent, not blank; the trimmed message. */
export function message(value: unknown): string {
  return valid(checkMessage(value));
}

/** One of the TTL names (absent: the default). */
export function ttl(value: unknown): Ttl {
  return valid(checkTtlName(value));
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
