// The domain rules of tracemesh, written once: what a handle, a message, a display name and an activity id
// are, the page limits, and the one duration grammar. The services check them (gRPC INVALID_ARGUMENT),
// the api checks them again at the edge (HTTP 400) so bad input never reaches a backend — with the same
// functions and the same error texts — and loadgen, the demo and the CLI read durations with the same
// grammar. The TTLs, which need the proto's enum, are in `@tracemesh/domain/ttl`.

/** A checked value in its stored form, or why it was refused (each layer turns that into its own error). */
export type Checked<T> = { ok: true; value: T } | { ok: false; error: string };

/** Handles: 3 to 20 lowercase letters, digits or underscores. */
export const HANDLE_MIN = 3;
export const HANDLE_MAX = 20;
export const HANDLE_PATTERN = new RegExp(`^[a-z0-9_]{${HANDLE_MIN},${HANDLE_MAX}}$`);

export function isHandle(value: unknown): value is string {
  return typeof value === "string" && HANDLE_PATTERN.test(value);
}

/** A handle, or why not; `field` names it in the error (e.g. `handle "Bad!"` in a list). */
export function checkHandle(raw: unknown, field = "handle"): Checked<string> {
  return isHandle(raw) ? { ok: true, value: raw } : { ok: false, error: `${field} must match ${HANDLE_PATTERN.source}` };
}

/** Handles @mentioned in a message, lower-cased, unique, in order of appearance. */
export function mentionedHandles(message: string): string[] {
  const mention = new RegExp(`(?:^|[^a-zA-Z0-9_@])@([a-zA-Z0-9_]{${HANDLE_MIN},${HANDLE_MAX}})\\b`, "g");
  const found = new Set<string>();
  for (const m of message.matchAll(mention)) found.add(m[1]!.toLowerCase());
  return [...found];
}

/** Text lengths count characters (Unicode code points), as users do, not UTF-16 units. */
export function characters(text: string): number {
  return [...text].length;
}

// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/;

export function hasControlCharacters(text: string): boolean {
  return CONTROL_CHARACTERS.test(text);
}

/** Activities and replies: 1 to 280 characters as sent, not blank. */
export const MESSAGE_MAX = 280;

/**
 * A message: 1 to 280 characters as sent, not only whitespace; stored trimmed. The limit counts what the client
 * sent, as the API's OpenAPI schema states it (maxLength 280, a non-blank pattern), so a client can check a
 * message before sending it and the api and activities refuse exactly the same ones.
 */
export function checkMessage(raw: unknown): Checked<string> {
  if (typeof raw !== "string") return { ok: false, error: "message must be a string" };
  const length = characters(raw);
  const message = raw.trim();
  if (message === "" || length > MESSAGE_MAX) {
    return { ok: false, error: `message must be 1..${MESSAGE_MAX} characters and not blank (got ${length})` };
  }
  return { ok: true, value: message };
}

/** Display names: 1 to 50 characters once trimmed, no control characters. */
export const DISPLAY_NAME_MAX = 50;

/** A display name as stored: trimmed, then 1 to 50 printable characters. */
export function checkDisplayName(raw: unknown): Checked<string> {
  if (typeof raw !== "string") return { ok: false, error: "display_name must be a string" };
  const name = raw.trim();
  const length = characters(name);
  if (length < 1 || length > DISPLAY_NAME_MAX || hasControlCharacters(name)) {
    return { ok: false, error: `display_name must be 1..${DISPLAY_NAME_MAX} printable characters` };
  }
  return { ok: true, value: name };
}

/**
 * Activity ids are UUIDs in their canonical lowercase form; activities accepts only that form. The api takes
 * any case at the edge and lowercases it (see isUuidAnyCase) before it calls a backend.
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function isUuid(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value);
}

/** A UUID in any letter case (the form users may paste); lowercase it to get the canonical id. */
export function isUuidAnyCase(value: unknown): value is string {
  return typeof value === "string" && UUID_PATTERN.test(value.toLowerCase());
}

/** Page sizes: a request's limit 0 means the default. */
export const FEED_LIMIT = { default: 20, max: 100 } as const;
export const NOTIFICATIONS_LIMIT = { default: 50, max: 100 } as const;
/** Most handles one BatchGetUsers call may name. */
export const BATCH_GET_USERS_MAX = 100;
/** Most replies GetActivity returns. */
export const REPLIES_MAX = 100;

/** What `parseDuration` accepts, for error messages. */
export const DURATION_GRAMMAR = "a duration like 30s, 500ms, 2m or 1h";

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/** `30s`, `500ms`, `2m`, `1h`, `1.5s`, or a bare number of seconds → milliseconds; undefined for anything else. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION.exec(text.trim());
  if (!m) return undefined;
  return Math.round(Number(m[1]) * UNIT_MS[(m[2] ?? "s") as keyof typeof UNIT_MS]);
}
