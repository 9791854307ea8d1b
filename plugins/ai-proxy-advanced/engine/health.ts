/**
 * What the attempt loop needs from target health (the circuit breaker of `max_fails` / `fail_timeout`, and
 * Retry-After on 429, beyond Kong): the targets to keep out of this pick, and each attempt's outcome.
 * The balancer work provides the implementation (balancer/circuit-breaker.ts); the engine only uses this.
 */
export interface AttemptHealthOutcome {
  readonly ok: boolean;
  /** The failure counts towards `max_fails` (see FailoverPolicy.countsAsFailure). */
  readonly counted: boolean;
  /** Keep the target out of rotation this long (a 429's Retry-After). */
  readonly retryAfterMs?: number;
}

export interface TargetHealth {
  /** Target indexes that are circuit-open or waiting out a Retry-After at `now`. */
  excluded(now: number): ReadonlySet<number>;
  record(index: number, outcome: AttemptHealthOutcome, now: number): void;
}

/**
 * Retry-After as sent with 429/503: delta-seconds or an HTTP date. Undefined when absent or unreadable;
 * capped so a hostile value cannot take a target out for days.
 */
export function parseRetryAfter(value: string | undefined, nowEpochMs: number, capMs = 3_600_000): number | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  let ms: number;
  if (/^\d+(\.\d+)?$/.test(v)) ms = Number(v) * 1000;
  else {
    const at = Date.parse(v);
    if (Number.isNaN(at)) return undefined;
    ms = at - nowEpochMs;
  }
  if (!(ms > 0)) return undefined;
  return Math.min(ms, capMs);
}
