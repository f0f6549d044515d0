// A tiny router: routes are (method, path pattern) pairs; `:name` in a pattern captures one path
// segment (or the rest of one, as in `/@:handle`). When several routes match, the one with the
// fewest parameters wins, so `/api/activities/home` beats `/api/activities/:uuid`.

export type Method = "GET" | "POST";

export interface Route<H> {
  method: Method;
  /** e.g. `/api/activities/:uuid/replies`; also the span's http.route and the log's `route`. */
  path: string;
  /** Whether the route takes a JSON body (enforces Content-Type, size limit and JSON syntax). */
  body: "json" | "none";
  /** Whether the route needs `Authorization: Bearer <token>` (documented in the OpenAPI doc). */
  auth: boolean;
  handler: H;
}

interface CompiledRoute<H> {
  route: Route<H>;
  regex: RegExp;
  paramCount: number;
}

export type Match<H> =
  | { kind: "found"; route: Route<H>; params: Record<string, string> }
  | { kind: "method_not_allowed"; allowed: Method[] }
  | { kind: "not_found" };

export class Router<H> {
  private readonly compiled: Array<CompiledRoute<H>> = [];

  add(route: Route<H>): this {
    const escaped = route.path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const pattern = escaped.replace(/:([a-z_]+)/g, (_, name: string) => `(?<${name}>[^/]+)`);
    this.compiled.push({
      route,
      regex: new RegExp(`^${pattern}$`),
      paramCount: (route.path.match(/:[a-z_]+/g) ?? []).length,
    });
    return this;
  }

  /** Every route, in the order added (the OpenAPI test compares the document against this). */
  routes(): Array<Route<H>> {
    return this.compiled.map((c) => c.route);
  }

  /** Throws URIError when a captured segment is not valid percent-encoding. */
  match(method: string, pathname: string): Match<H> {
    let best: { c: CompiledRoute<H>; groups: Record<string, string> } | undefined;
    const allowed = new Set<Method>();
    for (const c of this.compiled) {
      const m = c.regex.exec(pathname);
      if (!m) continue;
      allowed.add(c.route.method);
      if (c.route.method !== method && !(method === "HEAD" && c.route.method === "GET")) continue;
      if (!best || c.paramCount < best.c.paramCount) best = { c, groups: { ...(m.groups ?? {}) } };
    }
    if (best) {
      const params: Record<string, string> = {};
      for (const [name, value] of Object.entries(best.groups)) params[name] = decodeURIComponent(value);
      return { kind: "found", route: best.c.route, params };
    }
    return allowed.size > 0 ? { kind: "method_not_allowed", allowed: [...allowed] } : { kind: "not_found" };
  }
}
