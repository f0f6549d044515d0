// Validation and logic of POST /v1/check; the rules themselves live in rules.ts.
import { HttpError } from "@tracemesh/runtime";
import { moderate, type Verdict } from "./rules.js";
import type { RequestTrace } from "./tracing.js";

export const badRequest = (message: string) => new HttpError(400, "invalid_argument", message);

/** Longest text accepted (Unicode code points); activities sends at most 280. */
export const TEXT_MAX = 5000;
const HANDLE_PATTERN = /^[a-z0-9_]{3,20}$/;

export interface CheckRequest {
  text: string;
  /** The acting user, when the caller knows it (activities does): an X-Ray annotation, a span attribute. */
  handle?: string;
}

export function parseCheckRequest(body: unknown): CheckRequest {
  if (!body || typeof body !== "object" || Array.isArray(body)) throw badRequest("body must be a JSON object");
  const { text, handle } = body as Record<string, unknown>;
  if (typeof text !== "string") throw badRequest("text must be a string");
  const length = [...text].length;
  if (length < 1 || length > TEXT_MAX) throw badRequest(`text must be 1..${TEXT_MAX} characters`);
  if (handle !== undefined && (typeof handle !== "string" || !HANDLE_PATTERN.test(handle))) {
    throw badRequest("handle must match ^[a-z0-9_]{3,20}$");
  }
  return handle === undefined ? { text } : { text, handle };
}

/** Checks the text, one step (subsegment or span) per rule under "check rules"; records the user and the verdict. */
export function check(request: CheckRequest, trace: RequestTrace): Verdict {
  if (request.handle) trace.setUser(request.handle);
  const verdict = trace.step("check rules", (rules) =>
    moderate(request.text, (rule, run) =>
      rules.step(rule.name, (step) => {
        const reasons = run();
        step.detail("reasons", reasons);
        return reasons;
      }),
    ),
  );
  trace.annotate("app.moderation.allowed", verdict.allowed);
  if (!verdict.allowed) trace.detail("reasons", verdict.reasons);
  return verdict;
}
