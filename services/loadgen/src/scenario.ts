// The user flows and their weighted mix. A flow is what one virtual user does in one arrival: one or more
// requests, with think time between them. Each request is counted on its route template.
import { performance } from "node:perf_hooks";
import type { ApiClient, Headers } from "./client.js";
import type { Recorder, RouteStats } from "./stats.js";
import { UsageError } from "./errors.js";

export const FLOW_NAMES = ["browse_home", "view_profile", "post", "reply", "like", "read_notifications", "ping"] as const;
export type FlowName = (typeof FLOW_NAMES)[number];

/** Requests a flow normally makes: turns the target request rate into a flow arrival rate. */
export const REQUESTS_PER_FLOW: Record<FlowName, number> = {
  browse_home: 2, // home feed, then one activity from it
  view_profile: 2, // profile, then the user's activities
  post: 1,
  reply: 1,
  like: 1,
  read_notifications: 1,
  ping: 1, // GET <ping_path>: a trivial endpoint, for measuring the generator itself
};

/** Flows that act as a signed-up user. */
const NEEDS_USERS = new Set<FlowName>(["browse_home", "view_profile", "post", "reply", "like", "read_notifications"]);

export interface Scenario {
  flows: Array<{ name: FlowName; weight: number }>;
  /** Pause between the requests of one flow, uniform in [min, max] ms. */
  thinkTimeMs: { min: number; max: number };
  users: number;
  pingPath: string;
}

export const DEFAULT_SCENARIO: Scenario = {
  flows: [
    { name: "browse_home", weight: 35 },
    { name: "view_profile", weight: 15 },
    { name: "post", weight: 15 },
    { name: "reply", weight: 10 },
    { name: "like", weight: 15 },
    { name: "read_notifications", weight: 10 },
  ],
  thinkTimeMs: { min: 0, max: 100 },
  users: 20,
  pingPath: "/healthz",
};


/**
 * Parses `{"flows": {"browse_home": 35, …}, "think_time_ms": 50 | {"min": 0, "max": 100}, "users": 20,
 * "ping_path": "/healthz"}`; every key is optional except that at least one flow needs a positive weight.
 */
export function parseScenario(text: string, source: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${source}: scenario is not valid JSON (${(err as Error).message})`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new UsageError(`${source}: scenario must be a JSON object`);
  const obj = raw as Record<string, unknown>;
  const known = ["flows", "think_time_ms", "users", "ping_path"];
  for (const key of Object.keys(obj)) {
    if (!known.includes(key)) throw new UsageError(`${source}: unknown scenario key "${key}" (known: ${known.join(", ")})`);
  }
  const scenario: Scenario = { ...DEFAULT_SCENARIO };
  if (obj.flows !== undefined) {
    if (!obj.flows || typeof obj.flows !== "object" || Array.isArray(obj.flows)) {
      throw new UsageError(`${source}: "flows" must be an object of flow name → weight`);
    }
    const flows: Scenario["flows"] = [];
    for (const [name, weight] of Object.entries(obj.flows as Record<string, unknown>)) {
      if (!(FLOW_NAMES as readonly string[]).includes(name)) {
        throw new UsageError(`${source}: unknown flow "${name}" (known: ${FLOW_NAMES.join(", ")})`);
      }
      if (typeof weight !== "number" || !Number.isFinite(weight) || weight < 0) {
        throw new UsageError(`${source}: weight of flow "${name}" must be a number >= 0, got ${JSON.stringify(weight)}`);
      }
      if (weight > 0) flows.push({ name: name as FlowName, weight });
    }
    if (flows.length === 0) throw new UsageError(`${source}: at least one flow needs a weight > 0`);
    scenario.flows = flows;
  }
  if (obj.think_time_ms !== undefined) {
    const t = obj.think_time_ms;
    const bad = () => new UsageError(`${source}: "think_time_ms" must be a number or {"min","max"} between 0 and 60000, got ${JSON.stringify(t)}`);
    const ok = (n: unknown): n is number => typeof n === "number" && Number.isFinite(n) && n >= 0 && n <= 60_000;
    if (ok(t)) scenario.thinkTimeMs = { min: t, max: t };
    else if (t && typeof t === "object" && ok((t as { min?: unknown }).min) && ok((t as { max?: unknown }).max)) {
      const { min, max } = t as { min: number; max: number };
      if (min > max) throw bad();
      scenario.thinkTimeMs = { min, max };
    } else throw bad();
  }
  if (obj.users !== undefined) {
    if (typeof obj.users !== "number" || !Number.isInteger(obj.users) || obj.users < 1 || obj.users > 10_000) {
      throw new UsageError(`${source}: "users" must be an integer between 1 and 10000, got ${JSON.stringify(obj.users)}`);
    }
    scenario.users = obj.users;
  }
  if (obj.ping_path !== undefined) {
    if (typeof obj.ping_path !== "string" || !obj.ping_path.startsWith("/")) {
      throw new UsageError(`${source}: "ping_path" must be a path starting with /, got ${JSON.stringify(obj.ping_path)}`);
    }
    scenario.pingPath = obj.ping_path;
  }
  return scenario;
}

export function scenarioNeedsUsers(s: Scenario): boolean {
  return s.flows.some((f) => NEEDS_USERS.has(f.name));
}

/** Mean requests per flow of the mix, weighted. */
export function meanRequestsPerFlow(s: Scenario): number {
  const total = s.flows.reduce((sum, f) => sum + f.weight, 0);
  return s.flows.reduce((sum, f) => sum + (f.weight / total) * REQUESTS_PER_FLOW[f.name], 0);
}

export interface PoolUser {
  handle: string;
  /** Prebuilt once: bearer token + JSON content type + the static marking headers. */
  authHeaders: Headers;
}

// Route templates: what the summary and the thresholds are keyed by.
export const ROUTES = {
  home: "GET /api/activities/home",
  activity: "GET /api/activities/:uuid",
  profile: "GET /api/users/@:handle",
  userFeed: "GET /api/activities/@:handle",
  post: "POST /api/activities",
  reply: "POST /api/activities/:uuid/replies",
  like: "POST /api/activities/:uuid/likes",
  notifications: "GET /api/notifications",
} as const;

interface ActivityLike {
  uuid?: unknown;
}

/** Everything flows share: the client, the user pool, recently seen activities, the route counters. */
export class FlowRunner {
  private readonly recent: string[] = [];
  private recentNext = 0;
  private readonly r: Record<keyof typeof ROUTES, RouteStats>;
  private readonly ping: RouteStats;
  private readonly cumulativeWeights: number[];
  private readonly totalWeight: number;
  private postSeq = 0;

  constructor(
    private readonly client: ApiClient,
    private readonly scenario: Scenario,
    private readonly users: PoolUser[],
    recorder: Recorder,
  ) {
    this.r = Object.fromEntries(Object.entries(ROUTES).map(([k, route]) => [k, recorder.route(route)])) as Record<keyof typeof ROUTES, RouteStats>;
    this.ping = recorder.route(`GET ${scenario.pingPath}`);
    let sum = 0;
    this.cumulativeWeights = scenario.flows.map((f) => (sum += f.weight));
    this.totalWeight = sum;
  }

  /** Picks a flow by weight. */
  pick(): FlowName {
    const x = Math.random() * this.totalWeight;
    const w = this.cumulativeWeights;
    for (let i = 0; i < w.length; i++) if (x < w[i]!) return this.scenario.flows[i]!.name;
    return this.scenario.flows[w.length - 1]!.name;
  }

  /**
   * Runs one flow whose first request was due at intendedAt (performance.now() time), then calls done (once,
   * whatever happened). A callback rather than a promise: a ping flow then allocates no promise at all.
   */
  run(name: FlowName, intendedAt: number, done: () => void): void {
    switch (name) {
      case "ping":
        return this.client.callThen(this.ping, intendedAt, "GET", this.scenario.pingPath, this.client.anonymousHeaders, undefined, false, done);
      case "browse_home":
        return void this.browseHome(intendedAt).then(done, done);
      case "view_profile":
        return void this.viewProfile(intendedAt).then(done, done);
      case "post":
        return void this.postFlow(intendedAt).then(done, done);
      case "reply":
        return void this.replyFlow(intendedAt).then(done, done);
      case "like":
        return void this.likeFlow(intendedAt).then(done, done);
      case "read_notifications":
        return void this.readNotifications(intendedAt).then(done, done);
    }
  }

  private async browseHome(t: number): Promise<void> {
    const feed = await this.home(t);
    const uuid = feed[0];
    if (uuid === undefined) return;
    const next = await this.think();
    await this.client.call(this.r.activity, next, "GET", `/api/activities/${uuid}`, this.client.anonymousHeaders, undefined, false);
  }

  private async viewProfile(t: number): Promise<void> {
    const handle = this.randomUser().handle;
    const ok = await this.client.call(this.r.profile, t, "GET", `/api/users/@${handle}`, this.client.anonymousHeaders, undefined, false);
    if (ok === undefined) return;
    const next = await this.think();
    await this.client.call(this.r.userFeed, next, "GET", `/api/activities/@${handle}`, this.client.anonymousHeaders, undefined, true);
  }

  private async postFlow(t: number): Promise<void> {
    await this.post(t, this.randomUser());
  }

  private async replyFlow(t: number): Promise<void> {
    const user = this.randomUser();
    const found = await this.knownActivity(t, user);
    if (!found) return;
    const message = `reply ${++this.postSeq} to you @${this.randomUser().handle}`;
    await this.client.call(this.r.reply, found.at, "POST", `/api/activities/${found.uuid}/replies`, user.authHeaders, JSON.stringify({ message }), false);
  }

  private async likeFlow(t: number): Promise<void> {
    const user = this.randomUser();
    const found = await this.knownActivity(t, user);
    if (!found) return;
    await this.client.call(this.r.like, found.at, "POST", `/api/activities/${found.uuid}/likes`, user.authHeaders, undefined, false);
  }

  private async readNotifications(t: number): Promise<void> {
    await this.client.call(this.r.notifications, t, "GET", "/api/notifications", this.randomUser().authHeaders, undefined, false);
  }

  /** GET the home feed; remembers its activities for replies and likes; returns their uuids. */
  private async home(t: number): Promise<string[]> {
    const body = (await this.client.call(this.r.home, t, "GET", "/api/activities/home?limit=20", this.client.anonymousHeaders, undefined, true)) as
      | { activities?: ActivityLike[] }
      | undefined;
    const uuids: string[] = [];
    if (body && Array.isArray(body.activities)) {
      for (const a of body.activities) if (typeof a?.uuid === "string") uuids.push(a.uuid);
      for (let i = 0; i < uuids.length && i < 5; i++) this.remember(uuids[i]!);
    }
    return uuids;
  }

  /** POST an activity mentioning one or two other users; remembers it. */
  private async post(t: number, author: PoolUser): Promise<string | undefined> {
    const a = this.randomUser().handle;
    const b = this.randomUser().handle;
    const mentions = a === b ? `@${a}` : `@${a} and @${b}`;
    const message = `load test post ${++this.postSeq} for ${mentions}`;
    const body = (await this.client.call(this.r.post, t, "POST", "/api/activities", author.authHeaders, JSON.stringify({ message, ttl: "1-day" }), true)) as
      | ActivityLike
      | undefined;
    if (body && typeof body.uuid === "string") {
      this.remember(body.uuid);
      return body.uuid;
    }
    return undefined;
  }

  /** A recent activity to act on; when none is known yet the flow reads the home feed, or posts one. */
  private async knownActivity(t: number, user: PoolUser): Promise<{ uuid: string; at: number } | undefined> {
    if (this.recent.length > 0) return { uuid: this.recent[(Math.random() * this.recent.length) | 0]!, at: t };
    const feed = await this.home(t);
    if (feed[0] !== undefined) return { uuid: feed[0], at: await this.think() };
    const uuid = await this.post(await this.think(), user);
    return uuid === undefined ? undefined : { uuid, at: await this.think() };
  }

  private remember(uuid: string): void {
    if (this.recent.length < 256) this.recent.push(uuid);
    else {
      this.recent[this.recentNext] = uuid;
      this.recentNext = (this.recentNext + 1) % 256;
    }
  }

  private randomUser(): PoolUser {
    return this.users[(Math.random() * this.users.length) | 0]!;
  }

  /** Waits the think time; resolves with the moment the next request is due (its intended send time). */
  private think(): Promise<number> {
    const { min, max } = this.scenario.thinkTimeMs;
    const ms = min + Math.random() * (max - min);
    const due = performance.now() + ms;
    if (ms < 1) return Promise.resolve(due);
    return new Promise((resolve) => setTimeout(() => resolve(due), ms));
  }
}
