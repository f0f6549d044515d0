// The HTTP API's routes (listed in openapi.json) and the translation between JSON and the gRPC
// messages. Handlers validate first, so bad input is answered here and never reaches a backend. A route
// with `auth: true` is authenticated in one place (asCaller), which hands the caller to its handler.
import { trace } from "@opentelemetry/api";
import { FEED_LIMIT, NOTIFICATIONS_LIMIT } from "@tracemesh/domain";
import { NotificationKind, type Activity, type Notification, type User } from "@tracemesh/proto";
import type { Redis } from "@tracemesh/runtime";
import { DEPENDENCIES, type Backends } from "./clients.js";
import { HttpError, notFound, unauthorized } from "./errors.js";
import { Router, type Route } from "./router.js";
import type { ApiRouter, Handler, Reply, RequestContext } from "./server.js";
import * as valid from "./validation.js";

export interface HandlerDeps {
  backends: Backends;
  /** Only for /readyz: the api stores nothing in Redis. */
  redis: Redis;
  openapi: unknown;
  enableDebugRoutes: boolean;
}

const READINESS_TIMEOUT_MS = 500;

/** Every route of the API, in matching order; openapi.json documents exactly these. */
export const API_ROUTES = [
  { method: "GET", path: "/healthz", body: "none", auth: false },
  { method: "GET", path: "/readyz", body: "none", auth: false },
  { method: "GET", path: "/api/openapi.json", body: "none", auth: false },
  { method: "POST", path: "/api/users", body: "json", auth: false },
  { method: "GET", path: "/api/users/@:handle", body: "none", auth: false },
  { method: "GET", path: "/api/activities/home", body: "none", auth: false },
  { method: "GET", path: "/api/activities/@:handle", body: "none", auth: false },
  { method: "GET", path: "/api/activities/:uuid", body: "none", auth: false },
  { method: "POST", path: "/api/activities", body: "json", auth: true },
  { method: "POST", path: "/api/activities/:uuid/replies", body: "json", auth: true },
  { method: "POST", path: "/api/activities/:uuid/likes", body: "none", auth: true },
  { method: "GET", path: "/api/notifications", body: "none", auth: true },
  { method: "GET", path: "/api/debug/throw", body: "none", auth: false },
] as const satisfies readonly RouteInfo[];

type ApiRoute = (typeof API_ROUTES)[number];
/** "GET /healthz"…: one handler per route, and the compiler checks none is missing. */
type RouteKey<R = ApiRoute> = R extends { method: infer M extends string; path: infer P extends string } ? `${M} ${P}` : never;

/**
 * The handler of a route with `auth: true`: it checks the request (bad input → 400 before any backend
 * call) and returns what to do as the authenticated caller, which asCaller resolves next.
 */
type CallerHandler = (ctx: RequestContext) => (caller: User) => Promise<Reply>;
/** Each route's handler: a CallerHandler exactly when the route table says `auth: true`. */
type Handlers = { [R in ApiRoute as `${R["method"]} ${R["path"]}`]: R extends { auth: true } ? CallerHandler : Handler };

export function buildRouter(deps: HandlerDeps): ApiRouter {
  const { backends } = deps;

  /**
   * The one place `auth: true` is enforced: the bearer token must be well formed (401 without a backend
   * call), the handler checks its input (400, still without one), then users resolves the token (401 when
   * unknown or expired) and the handler runs as that user, whom the request's span names.
   */
  const asCaller =
    (handler: CallerHandler): Handler =>
    async (ctx) => {
      const token = bearerToken(ctx);
      const act = handler(ctx);
      const { user } = await backends.authenticate(token, ctx.deadline);
      if (!user) throw unauthorized("invalid token");
      trace.getActiveSpan()?.setAttributes({ "enduser.id": user.handle, "app.user.handle": user.handle });
      return act(user);
    };

  const handlers: Handlers = {
    "GET /healthz": async () => ({ status: 200, body: { status: "ok" } }),

    "GET /readyz": async () => {
      const [redis, ...grpc] = await Promise.all([
        redisAnswers(deps.redis, READINESS_TIMEOUT_MS),
        ...DEPENDENCIES.map((d) => backends.serving(d, READINESS_TIMEOUT_MS)),
      ]);
      const checks: Record<string, "ok" | "failing"> = { redis: redis ? "ok" : "failing" };
      DEPENDENCIES.forEach((d, i) => (checks[d] = grpc[i] ? "ok" : "failing"));
      const failing = Object.keys(checks).filter((k) => checks[k] !== "ok");
      if (failing.length === 0) return { status: 200, body: { status: "ready", checks } };
      return { status: 503, body: { error: { code: "unavailable", message: `not ready: ${failing.join(", ")}` }, checks } };
    },

    "GET /api/openapi.json": async () => ({ status: 200, body: deps.openapi }),

    "POST /api/users": async (ctx) => {
      const body = valid.objectBody(ctx.body);
      const handle = valid.handle(body.handle);
      const displayName = valid.displayName(body.display_name);
      const created = await backends.createUser(handle, displayName, ctx.deadline);
      return { status: 201, body: { user: userJson(created.user), token: created.token } };
    },

    "GET /api/users/@:handle": async (ctx) => {
      const handle = valid.handle(ctx.params.handle);
      const { user } = await backends.getUser(handle, ctx.deadline);
      return { status: 200, body: { user: userJson(user) } };
    },

    "GET /api/activities/home": async (ctx) => {
      const limit = valid.limit(ctx.query.get("limit"), FEED_LIMIT.max) ?? FEED_LIMIT.default;
      const cursor = valid.cursor(ctx.query.get("cursor"));
      const feed = await backends.homeFeed(limit, cursor, ctx.deadline);
      return {
        status: 200,
        body: {
          activities: feed.activities.map(activityJson),
          next_cursor: feed.nextCursor || null,
          ...(feed.displayNamesUnavailable ? { display_names_unavailable: true } : {}),
        },
      };
    },

    "GET /api/activities/@:handle": async (ctx) => {
      const handle = valid.handle(ctx.params.handle);
      const limit = valid.limit(ctx.query.get("limit"), FEED_LIMIT.max) ?? FEED_LIMIT.default;
      const cursor = valid.cursor(ctx.query.get("cursor"));
      const feed = await backends.userFeed(handle, limit, cursor, ctx.deadline);
      return {
        status: 200,
        body: {
          user: feed.user ? userJson(feed.user) : null,
          activities: feed.activities.map(activityJson),
          next_cursor: feed.nextCursor || null,
          ...(feed.displayNamesUnavailable ? { display_names_unavailable: true } : {}),
        },
      };
    },

    "GET /api/activities/:uuid": async (ctx) => {
      const uuid = valid.uuid(ctx.params.uuid);
      const { activity, displayNamesUnavailable } = await backends.getActivity(uuid, ctx.deadline);
      if (!activity) throw notFound(`activity ${uuid} not found`);
      const body = { ...activityJson(activity), replies: activity.replies.map(activityJson) };
      return { status: 200, body: displayNamesUnavailable ? { ...body, display_names_unavailable: true } : body };
    },

    // The author's display name goes along from Authenticate: a post reads users' data once.
    "POST /api/activities": (ctx) => {
      const body = valid.objectBody(ctx.body);
      const message = valid.message(body.message);
      const ttl = valid.ttl(body.ttl);
      return async (caller) => {
        const { activity } = await backends.createActivity({ handle: caller.handle, displayName: caller.displayName, message, ttl }, ctx.deadline);
        return { status: 201, body: activityJson(required(activity)) };
      };
    },

    "POST /api/activities/:uuid/replies": (ctx) => {
      const uuid = valid.uuid(ctx.params.uuid);
      const message = valid.message(valid.objectBody(ctx.body).message);
      return async (caller) => {
        const { reply } = await backends.reply({ handle: caller.handle, displayName: caller.displayName, activityUuid: uuid, message }, ctx.deadline);
        return { status: 201, body: activityJson(required(reply)) };
      };
    },

    "POST /api/activities/:uuid/likes": (ctx) => {
      const uuid = valid.uuid(ctx.params.uuid);
      return async (caller) => {
        const { activity, newlyLiked } = await backends.like(caller.handle, uuid, ctx.deadline);
        return { status: 200, body: { activity: activityJson(required(activity)), newly_liked: newlyLiked } };
      };
    },

    "GET /api/notifications": (ctx) => {
      const limit = valid.limit(ctx.query.get("limit"), NOTIFICATIONS_LIMIT.max) ?? NOTIFICATIONS_LIMIT.default;
      return async (caller) => {
        const { notifications } = await backends.listNotifications(caller.handle, limit, ctx.deadline);
        return { status: 200, body: { notifications: notifications.map(notificationJson) } };
      };
    },

    // The fault demo: an exception inside a handler → 500, an ERROR span, a Rollbar item.
    "GET /api/debug/throw": async () => {
      if (!deps.enableDebugRoutes) throw notFound("no route for GET /api/debug/throw");
      throw new Error("thrown on purpose by GET /api/debug/throw");
    },
  };

  const router: ApiRouter = new Router<Handler>();
  for (const route of API_ROUTES) {
    const handler = handlers[`${route.method} ${route.path}` as RouteKey];
    // Handlers' type ties a CallerHandler to `auth: true`; this is where the flag takes effect.
    router.add({ ...route, handler: route.auth ? asCaller(handler as CallerHandler) : (handler as Handler) });
  }
  return router;
}

/** The token of `Authorization: Bearer <token>`; 401 when absent or malformed. */
function bearerToken(ctx: RequestContext): string {
  const header = ctx.headers.authorization;
  if (!header) throw unauthorized("missing Authorization: Bearer <token>");
  const match = /^Bearer +([A-Za-z0-9._~+/=-]{1,512})$/i.exec(header.trim());
  if (!match) throw unauthorized("Authorization must be Bearer <token>");
  return match[1]!;
}

function required<T>(value: T | undefined): T {
  if (value === undefined) throw new HttpError(500, "internal", "backend answered without a result");
  return value;
}

async function redisAnswers(redis: Redis, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
  const ping = redis.ping().then((r) => r === "PONG", () => false);
  try {
    return await Promise.race([ping, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const iso = (d: Date | undefined) => (d ? d.toISOString() : null);

export interface UserJson {
  handle: string;
  display_name: string;
  created_at: string | null;
}

export function userJson(user: User | undefined): UserJson {
  if (!user) throw new HttpError(500, "internal", "backend answered without a user");
  return { handle: user.handle, display_name: user.displayName, created_at: iso(user.createdAt) };
}

export interface ActivityJson {
  uuid: string;
  handle: string;
  /** null when the users service did not answer (the feed then says display_names_unavailable). */
  display_name: string | null;
  message: string;
  created_at: string | null;
  expires_at: string | null;
  likes_count: number;
  replies_count: number;
  reposts_count: number;
  reply_to_activity_uuid?: string;
  replies?: ActivityJson[];
}

export function activityJson(a: Activity): ActivityJson {
  return {
    uuid: a.uuid,
    handle: a.handle,
    display_name: a.displayName || null,
    message: a.message,
    created_at: iso(a.createdAt),
    expires_at: iso(a.expiresAt),
    likes_count: a.likesCount,
    replies_count: a.repliesCount,
    reposts_count: a.repostsCount,
    ...(a.replyToActivityUuid ? { reply_to_activity_uuid: a.replyToActivityUuid } : {}),
  };
}

const KIND_NAMES: Partial<Record<NotificationKind, string>> = {
  [NotificationKind.NOTIFICATION_KIND_REPLY]: "reply",
  [NotificationKind.NOTIFICATION_KIND_LIKE]: "like",
  [NotificationKind.NOTIFICATION_KIND_MENTION]: "mention",
};

function notificationJson(n: Notification) {
  return {
    id: n.id,
    kind: KIND_NAMES[n.kind] ?? "unspecified",
    actor_handle: n.actorHandle,
    activity_uuid: n.activityUuid,
    excerpt: n.excerpt,
    created_at: iso(n.createdAt),
  };
}

export type RouteInfo = Omit<Route<Handler>, "handler">;

/** The API's routes (for the OpenAPI consistency test and docs). */
export function apiRoutes(): RouteInfo[] {
  return API_ROUTES.map((route) => ({ ...route }));
}
