import type http from "node:http";
import { listenOnLoopback, readBody, sendJson } from "./http-util.js";

export interface RollbarItem {
  accessToken: string;
  /** The item's `data` object as sent (body.trace / body.message, custom, level, environment…). */
  data: Record<string, unknown>;
}

export interface RollbarStandIn {
  /** The item endpoint to set as ROLLBAR_ENDPOINT (…/api/1/item/). */
  endpoint: string;
  port: number;
  items(): RollbarItem[];
  rejected(): number;
  stop(): Promise<void>;
}

/**
 * A local stand-in for Rollbar's item API (we cannot reach the real one). It checks what the real
 * endpoint checks: POST /api/1/item/, an `X-Rollbar-Access-Token` header (401 when missing, 403 when
 * it differs from `accessToken` if one is given), a JSON body `{"data": {…}}` with `data.body`
 * (422 otherwise). It answers like Rollbar (`{"err":0,"result":{"uuid":…}}`) and keeps the items.
 */
export async function startRollbarStandIn(opts: { accessToken?: string } = {}): Promise<RollbarStandIn> {
  const items: RollbarItem[] = [];
  let rejected = 0;
  const refuse = (res: http.ServerResponse, status: number, message: string) => {
    rejected += 1;
    sendJson(res, status, { err: 1, message });
  };
  const handler = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const path = (req.url ?? "").split("?")[0];
    if (req.method !== "POST" || path !== "/api/1/item/") return refuse(res, 404, `no route ${req.method} ${path}`);
    const accessToken = String(req.headers["x-rollbar-access-token"] ?? "");
    if (!accessToken) return refuse(res, 401, "missing access token");
    if (opts.accessToken !== undefined && accessToken !== opts.accessToken) return refuse(res, 403, "invalid access token");
    let payload: { data?: Record<string, unknown> };
    try {
      payload = JSON.parse((await readBody(req)).toString("utf8")) as { data?: Record<string, unknown> };
    } catch {
      return refuse(res, 400, "invalid JSON");
    }
    if (!payload.data || typeof payload.data !== "object" || !payload.data.body) {
      return refuse(res, 422, "payload must be {\"data\": {\"body\": …}}");
    }
    items.push({ accessToken, data: payload.data });
    sendJson(res, 200, { err: 0, result: { id: null, uuid: String(payload.data.uuid ?? items.length) } });
  };
  const listener = await listenOnLoopback((req, res) => void handler(req, res));
  return {
    endpoint: `http://127.0.0.1:${listener.port}/api/1/item/`,
    port: listener.port,
    items: () => [...items],
    rejected: () => rejected,
    stop: listener.close,
  };
}
