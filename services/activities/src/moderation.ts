// The client of the moderation service (HTTP/JSON, POST /v1/check). fetch() is undici, traced by the
// OpenTelemetry undici instrumentation: its CLIENT span carries traceparent and X-Amzn-Trace-Id to
// moderation, which is on the X-Ray SDK and continues the trace from the X-Ray header.
import { errorText } from "@tracemesh/runtime";

/** Why a post was stored without a verdict. */
export type SkipReason = "deadline" | "timeout" | "unavailable" | "bad_response";

export type ModerationOutcome =
  | { verdict: "allowed" }
  | { verdict: "refused"; reasons: string[] }
  /** Moderation could not answer in time: the post is stored anyway. */
  | { verdict: "skipped"; reason: SkipReason; detail: string };

export interface ModerationClient {
  /** Never rejects: a failure is a `skipped` outcome. `unreachable` (moderation-unreachable) calls where nothing listens. */
  check(text: string, handle: string, deadline: Date, opts?: { unreachable?: boolean }): Promise<ModerationOutcome>;
}

// Port 2 on loopback (compressnet, long obsolete): nothing listens there, so the connection is refused at once,
// like a moderation that is down. (Port 1 would not do: fetch refuses it as a "bad port" without a request.)
const UNREACHABLE_URL = "http://127.0.0.1:2/v1/check";

function isVerdict(body: unknown): body is { allowed: boolean; reasons: string[] } {
  const b = body as { allowed?: unknown; reasons?: unknown } | null;
  return typeof b?.allowed === "boolean" && Array.isArray(b.reasons) && b.reasons.every((r) => typeof r === "string");
}

/** `baseUrl` e.g. http://moderation:8090 (MODERATION_URL). */
export function createModerationClient(baseUrl: string): ModerationClient {
  const url = new URL("/v1/check", baseUrl).toString();
  return {
    async check(text, handle, deadline, opts) {
      const budgetMs = deadline.getTime() - Date.now();
      if (budgetMs <= 0) return { verdict: "skipped", reason: "deadline", detail: "no time left before the call's deadline" };
      let res: Response;
      try {
        res = await fetch(opts?.unreachable ? UNREACHABLE_URL : url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ text, handle }),
          signal: AbortSignal.timeout(budgetMs),
        });
      } catch (err) {
        const name = (err as Error).name;
        return name === "TimeoutError" || name === "AbortError"
          ? { verdict: "skipped", reason: "timeout", detail: `no answer within ${budgetMs} ms` }
          : { verdict: "skipped", reason: "unavailable", detail: fetchFailure(err) };
      }
      let body: unknown;
      try {
        body = await res.json();
      } catch (err) {
        return { verdict: "skipped", reason: (err as Error).name === "TimeoutError" ? "timeout" : "bad_response", detail: `HTTP ${res.status}, body not JSON` };
      }
      if (res.status !== 200 || !isVerdict(body)) {
        return { verdict: "skipped", reason: res.status >= 500 ? "unavailable" : "bad_response", detail: `HTTP ${res.status}` };
      }
      return body.allowed ? { verdict: "allowed" } : { verdict: "refused", reasons: body.reasons };
    },
  };
}

/** fetch rejects with "fetch failed"; what went wrong (ECONNREFUSED…) is in its cause. */
function fetchFailure(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause;
  return (cause as { code?: string } | undefined)?.code ?? errorText(cause ?? err);
}
