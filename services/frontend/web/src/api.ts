// The api, as services/api/openapi.json describes it, through the frontend server's /api proxy.
// Errors carry the API's own `{error: {code, message}}`, which the screens show as they are.
import { currentAccount } from "./session";

export interface User {
  handle: string;
  display_name: string;
  created_at: string | null;
}

export interface Activity {
  uuid: string;
  handle: string;
  display_name: string | null;
  message: string;
  created_at: string | null;
  expires_at: string | null;
  likes_count: number;
  replies_count: number;
  reposts_count: number;
  reply_to_activity_uuid?: string;
  replies?: Activity[];
}

export interface Feed {
  activities: Activity[];
  next_cursor: string | null;
  display_names_unavailable?: boolean;
  user?: User | null;
}

export interface Notification {
  id: string;
  kind: "reply" | "like" | "mention" | "unspecified";
  actor_handle: string;
  activity_uuid: string;
  excerpt: string;
  created_at: string | null;
}

/** The API's TTL names (packages/domain/src/ttl.ts, listed in openapi.json), shortest first, with their labels. */
export const TTLS = [
  ["1-hour", "1 hour"],
  ["3-hours", "3 hours"],
  ["12-hours", "12 hours"],
  ["1-day", "1 day"],
  ["3-days", "3 days"],
  ["7-days", "7 days"],
  ["30-days", "30 days"],
] as const;
export type Ttl = (typeof TTLS)[number][0];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

const PAGE = 20;

/**
 * One API call. fetch() is called synchronously, before any await: the fetch span's parent is then
 * the span of the click that caused it (the browser has no async context across awaits).
 */
function call<T>(method: "GET" | "POST", path: string, body?: unknown, auth = false): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (body !== undefined) headers["content-type"] = "application/json";
  if (auth) {
    const account = currentAccount();
    if (!account) return Promise.reject(new ApiError(401, "unauthenticated", "sign up first"));
    headers.authorization = `Bearer ${account.token}`;
  }
  const pending = fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return pending.then(
    (res) => parse<T>(res),
    (err: unknown) => {
      throw new ApiError(0, "network", `the server could not be reached (${err instanceof Error ? err.message : String(err)})`);
    },
  );
}

async function parse<T>(res: Response): Promise<T> {
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  if (!res.ok) {
    const error = (json as { error?: { code?: string; message?: string } } | undefined)?.error;
    throw new ApiError(res.status, error?.code ?? `http_${res.status}`, error?.message ?? `${res.status} ${res.statusText || "error"}`);
  }
  return json as T;
}

const page = (cursor: string | null) => `limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;

export const api = {
  signUp: (handle: string, displayName: string) =>
    call<{ user: User; token: string }>("POST", "/api/users", { handle, display_name: displayName }),
  user: (handle: string) => call<{ user: User }>("GET", `/api/users/@${encodeURIComponent(handle)}`),
  homeFeed: (cursor: string | null) => call<Feed>("GET", `/api/activities/home?${page(cursor)}`),
  userFeed: (handle: string, cursor: string | null) => call<Feed>("GET", `/api/activities/@${encodeURIComponent(handle)}?${page(cursor)}`),
  activity: (uuid: string) => call<Activity>("GET", `/api/activities/${encodeURIComponent(uuid)}`),
  post: (message: string, ttl: Ttl) => call<Activity>("POST", "/api/activities", { message, ttl }, true),
  reply: (uuid: string, message: string) => call<Activity>("POST", `/api/activities/${encodeURIComponent(uuid)}/replies`, { message }, true),
  like: (uuid: string) => call<{ activity: Activity; newly_liked: boolean }>("POST", `/api/activities/${encodeURIComponent(uuid)}/likes`, undefined, true),
  notifications: () => call<{ notifications: Notification[] }>("GET", "/api/notifications?limit=50", undefined, true),
};

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

/** Whether an activity's TTL has run out (the API stops returning it; the page hides it already). */
export function expired(a: Activity, now: number): boolean {
  return a.expires_at !== null && Date.parse(a.expires_at) <= now;
}
