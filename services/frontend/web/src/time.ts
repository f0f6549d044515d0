import { useEffect, useState } from "react";

/** Re-renders every intervalMs with the current time (expired activities then disappear on their own). */
export function useNow(intervalMs = 10_000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs]);
  return now;
}

const UNITS: Array<[number, string]> = [
  [86_400_000, "d"],
  [3_600_000, "h"],
  [60_000, "m"],
  [1000, "s"],
];

export function shortDuration(ms: number): string {
  for (const [size, unit] of UNITS) if (Math.abs(ms) >= size) return `${Math.floor(Math.abs(ms) / size)}${unit}`;
  return "0s";
}

export function ago(iso: string | null, now: number): string {
  return iso ? `${shortDuration(now - Date.parse(iso))} ago` : "";
}
