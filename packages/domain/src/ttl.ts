// How long an activity lives, written once: the names clients use (HTTP), the tracemesh.v1.Ttl value the
// api sends to activities (gRPC), and the duration activities stores. A module of its own because it needs
// the proto's enum, which the rest of the domain rules (read by loadgen and the CLI too) do not.
import { Ttl } from "@tracemesh/proto";
import type { Checked } from "./index.js";

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

export interface TtlRule {
  /** What clients send, e.g. `7-days`. */
  name: string;
  ttl: Ttl;
  ms: number;
}

/** Longest first, as clients are offered them. */
export const TTLS: readonly TtlRule[] = [
  { name: "30-days", ttl: Ttl.TTL_30_DAYS, ms: 30 * DAY },
  { name: "7-days", ttl: Ttl.TTL_7_DAYS, ms: 7 * DAY },
  { name: "3-days", ttl: Ttl.TTL_3_DAYS, ms: 3 * DAY },
  { name: "1-day", ttl: Ttl.TTL_1_DAY, ms: DAY },
  { name: "12-hours", ttl: Ttl.TTL_12_HOURS, ms: 12 * HOUR },
  { name: "3-hours", ttl: Ttl.TTL_3_HOURS, ms: 3 * HOUR },
  { name: "1-hour", ttl: Ttl.TTL_1_HOUR, ms: HOUR },
];

/** The TTL of a post that names none. */
export const DEFAULT_TTL_NAME = "7-days";

/** The longest TTL: anything created longer ago than this has certainly expired. */
export const MAX_TTL_MS = Math.max(...TTLS.map((t) => t.ms));

/** A TTL by its name (undefined → the default). */
export function checkTtlName(raw: unknown): Checked<Ttl> {
  const name = raw === undefined ? DEFAULT_TTL_NAME : raw;
  const rule = TTLS.find((t) => t.name === name);
  if (!rule) return { ok: false, error: `ttl must be one of ${TTLS.map((t) => t.name).join(", ")}` };
  return { ok: true, value: rule.ttl };
}

/** The duration of a Ttl value (TTL_UNSPECIFIED and unknown values are refused). */
export function checkTtl(ttl: Ttl): Checked<number> {
  const rule = TTLS.find((t) => t.ttl === ttl);
  if (!rule) return { ok: false, error: "ttl must be one of the Ttl values (not TTL_UNSPECIFIED)" };
  return { ok: true, value: rule.ms };
}
