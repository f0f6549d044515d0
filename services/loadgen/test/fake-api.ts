// A small node:http server implementing the API routes loadgen drives, with in-memory data. It is the
// system under load, faked only to unit-test the load generator (the real mesh is tested end to end
// elsewhere). It checks what the real API checks that loadgen depends on: JSON bodies, handle format,
// bearer tokens, message length, ttl values, known uuids. It also records every request's headers.
import http from "node:http";
import crypto from "node:crypto";
import type { AddressInfo } from "node:net";

export interface SeenRequest {
  method: string;
  path: string;
  baggage: string[];
  traceparent: string[];
}

export interface FakeApi {
  url: string;
  seen: SeenRequest[];
  /** Requests per route template, as the server saw them. */
  routeCounts(): Map<string, number>;
  /** Makes every request that arrives in the next `ms` wait until that window ends. */
  stallFor(ms: number): void;
  close(): Promise<void>;
}

interface Activity {
  uuid: string;
  handle: string;
  display_name: string;
  message: string;
  created_at: string;
  likes: Set<string>;
  replies: Activity[];
}

const TTLS = new Set(["30-days", "7-days", "3-days", "1-day", "12-hours", "3-hours", "1-hour"]);

export async function startFakeApi(opts: { failNotificationsEvery?: number } = {}): Promise<FakeApi> {
  const users = new Map<string, { handle: string; display_name: string }>();
  const tokens = new Map<string, string>();
  const activities = new Map<string, Activity>();
  const timeline: Activity[] = [];
  const notifications = new Map<string, Array<{ kind: string; activity_uuid: string }>>();
  const seen: SeenRequest[] = [];
  let stallUntil = 0;
  let notificationCalls = 0;

  const send = (res: http.ServerResponse, status: number, body?: unknown) => {
    const text = body === undefined ? "" : JSON.stringify(body);
    res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
    res.end(text);
  };
  const fail = (res: http.ServerResponse, status: number, code: string, message: string) => send(res, status, { error: { code, message } });
  const view = (a: Activity) => ({
    uuid: a.uuid,
    handle: a.handle,
    display_name: a.display_name,
    message: a.message,
    created_at: a.created_at,
    likes_count: a.likes.size,
    replies_count: a.replies.length,
  });
  const notify = (handle: string, kind: string, uuid: string) => {
    if (!notifications.has(handle)) notifications.set(handle, []);
    notifications.get(handle)!.push({ kind, activity_uuid: uuid });
  };

  const handle = (req: http.IncomingMessage, body: string, res: http.ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://x");
    const p = url.pathname;
    const auth = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "");
    const caller = auth ? tokens.get(auth[1]!) : undefined;
    const json = (): Record<string, unknown> | undefined => {
      if (!(req.headers["content-type"] ?? "").startsWith("application/json")) return undefined;
      try {
        const v = JSON.parse(body) as unknown;
        return v && typeof v === "object" ? (v as Record<string, unknown>) : undefined;
      } catch {
        return undefined;
      }
    };
    let m: RegExpExecArray | null;
    if (req.method === "GET" && (p === "/healthz" || p === "/readyz")) return send(res, 200, { status: "ok" });
    if (req.method === "POST" && p === "/api/users") {
      const b = json();
      if (!b) return fail(res, 400, "invalid_json", "body must be JSON");
      const h = b.handle;
      if (typeof h !== "string" || !/^[a-z0-9_]{3,20}$/.test(h)) return fail(res, 400, "invalid_handle", "bad handle");
      if (users.has(h)) return fail(res, 409, "handle_taken", "taken");
      const user = { handle: h, display_name: String(b.display_name ?? h) };
      users.set(h, user);
      const token = crypto.randomBytes(16).toString("hex");
      tokens.set(token, h);
      return send(res, 201, { user, token });
    }
    if (req.method === "GET" && (m = /^\/api\/users\/@([a-z0-9_]+)$/.exec(p))) {
      const u = users.get(m[1]!);
      return u ? send(res, 200, u) : fail(res, 404, "not_found", "no such user");
    }
    if (req.method === "GET" && p === "/api/activities/home") {
      const limit = Number(url.searchParams.get("limit") ?? 20);
      if (!Number.isInteger(limit) || limit < 1 || limit > 100) return fail(res, 400, "invalid_limit", "limit 1..100");
      return send(res, 200, { activities: timeline.slice(-limit).reverse().map(view), next_cursor: null });
    }
    if (req.method === "GET" && (m = /^\/api\/activities\/@([a-z0-9_]+)$/.exec(p))) {
      const u = users.get(m[1]!);
      if (!u) return fail(res, 404, "not_found", "no such user");
      return send(res, 200, { user: u, activities: timeline.filter((a) => a.handle === u.handle).slice(-20).map(view), next_cursor: null });
    }
    if (req.method === "GET" && (m = /^\/api\/activities\/([0-9a-f-]{36})$/.exec(p))) {
      const a = activities.get(m[1]!);
      return a ? send(res, 200, { ...view(a), replies: a.replies.map(view) }) : fail(res, 404, "not_found", "no such activity");
    }
    if (req.method === "GET" && p === "/api/notifications") {
      if (!caller) return fail(res, 401, "unauthenticated", "token needed");
      notificationCalls++;
      if (opts.failNotificationsEvery && notificationCalls % opts.failNotificationsEvery === 0) return fail(res, 503, "unavailable", "injected");
      return send(res, 200, { notifications: notifications.get(caller) ?? [] });
    }
    if (req.method === "POST" && p.startsWith("/api/activities")) {
      if (!caller) return fail(res, 401, "unauthenticated", "token needed");
      const author = users.get(caller)!;
      if (p === "/api/activities") {
        const b = json();
        if (!b) return fail(res, 400, "invalid_json", "body must be JSON");
        if (typeof b.message !== "string" || b.message.length < 1 || b.message.length > 280) return fail(res, 400, "invalid_message", "1..280");
        if (typeof b.ttl !== "string" || !TTLS.has(b.ttl)) return fail(res, 400, "invalid_ttl", "bad ttl");
        const a: Activity = { uuid: crypto.randomUUID(), handle: author.handle, display_name: author.display_name, message: b.message, created_at: new Date().toISOString(), likes: new Set(), replies: [] };
        activities.set(a.uuid, a);
        timeline.push(a);
        for (const mention of b.message.matchAll(/@([a-z0-9_]{3,20})/g)) if (users.has(mention[1]!)) notify(mention[1]!, "mention", a.uuid);
        return send(res, 201, view(a));
      }
      if ((m = /^\/api\/activities\/([0-9a-f-]{36})\/replies$/.exec(p))) {
        const parent = activities.get(m[1]!);
        if (!parent) return fail(res, 404, "not_found", "no such activity");
        const b = json();
        if (!b || typeof b.message !== "string" || b.message.length < 1 || b.message.length > 280) return fail(res, 400, "invalid_message", "1..280");
        const r: Activity = { uuid: crypto.randomUUID(), handle: author.handle, display_name: author.display_name, message: b.message, created_at: new Date().toISOString(), likes: new Set(), replies: [] };
        parent.replies.push(r);
        activities.set(r.uuid, r);
        notify(parent.handle, "reply", parent.uuid);
        return send(res, 201, view(r));
      }
      if ((m = /^\/api\/activities\/([0-9a-f-]{36})\/likes$/.exec(p))) {
        const a = activities.get(m[1]!);
        if (!a) return fail(res, 404, "not_found", "no such activity");
        a.likes.add(author.handle);
        notify(a.handle, "like", a.uuid);
        return send(res, 200, view(a));
      }
    }
    return fail(res, 404, "not_found", `no route ${req.method} ${p}`);
  };

  const server = http.createServer((req, res) => {
    const header = (name: string) => {
      const v = req.headersDistinct[name];
      return v ? [...v] : [];
    };
    seen.push({ method: req.method ?? "", path: req.url ?? "", baggage: header("baggage"), traceparent: header("traceparent") });
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      const wait = stallUntil - Date.now();
      if (wait > 0) setTimeout(() => handle(req, body, res), wait);
      else handle(req, body, res);
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  const template = (method: string, path: string) =>
    `${method} ${path
      .replace(/\?.*$/, "")
      .replace(/\/@[a-z0-9_]+/, "/@:handle")
      .replace(/[0-9a-f-]{36}/, ":uuid")}`;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    routeCounts() {
      const counts = new Map<string, number>();
      for (const s of seen) counts.set(template(s.method, s.path), (counts.get(template(s.method, s.path)) ?? 0) + 1);
      return counts;
    },
    stallFor(ms: number) {
      stallUntil = Date.now() + ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
