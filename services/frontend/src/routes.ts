// The api's routes by name, shared by the frontend server (its span and log names) and the browser
// (the `http.route` of fetch spans, which the Honeycomb query "network latency by route" groups by).
// Kept equal to services/api/openapi.json by test/routes.test.ts.

export const API_ROUTES = [
  "/api/openapi.json",
  "/api/users",
  "/api/users/@:handle",
  "/api/activities",
  "/api/activities/home",
  "/api/activities/@:handle",
  "/api/activities/:uuid",
  "/api/activities/:uuid/replies",
  "/api/activities/:uuid/likes",
  "/api/notifications",
  "/api/debug/throw",
] as const;

const COMPILED = API_ROUTES.map((route) => ({
  route,
  regex: new RegExp(`^${route.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/:[a-z_]+/g, "[^/]+")}$`),
  params: (route.match(/:[a-z_]+/g) ?? []).length,
}));

/** `/api/activities/3f…` → `/api/activities/:uuid`; the route with the fewest parameters wins (as in api). */
export function apiRoute(pathname: string): string {
  let best: (typeof COMPILED)[number] | undefined;
  for (const c of COMPILED) if (c.regex.test(pathname) && (!best || c.params < best.params)) best = c;
  return best?.route ?? "/api/*";
}
