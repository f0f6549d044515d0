// Validation and logic of POST /v1/check; the rules themselves live in rules.ts.
import { HttpError } from "@tracemesh/runtime";
import { moderate, type Verdict } from "./rules.js";
import { inSubsegment, type Segment } from "./xray.js";

export const badRequest = (message: string) => new HttpError(400, "invalid_argument", message);

/** Longest text accepted (Unicode code points); activities sends at most 280. */
export const TEXT_MAX = 5000;
const HANDLE_PATTERN = /^[a-z0-9_]{3,20}$/;

export interface CheckRequest {
  text: string;
  /** The acting user, when the caller knows it (activities does): an X-Ray annotation. */
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

/** Checks the text, one subsegment per rule; annotates the segment with the user and the verdict. */
export function check(request: CheckRequest, segment: Segment): Verdict {
  if (request.handle) {
    segment.addAnnotation("app.user.handle", request.handle);
    segment.setUser(request.handle);
  }
  const verdict = inSubsegment(segment, "check rules", (rules) =>
    moderate(request.text, (rule, run) =>
      inSubsegment(rules, rule.name, (sub) => {
        const reasons = run();
        sub.addMetadata("reasons", reasons);
        return reasons;
      }),
    ),
  );
  segment.addAnnotation("app.moderation.allowed", verdict.allowed);
  if (!verdict.allowed) segment.addMetadata("reasons", verdict.reasons);
  return verdict;
}
