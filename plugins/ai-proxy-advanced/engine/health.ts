/**
 * What the attempt loop needs from target health: the circuit breaker of `max_fails` / `fail_timeout` and,
 * beyond Kong, Retry-After on 429/503. Implemented by the balancer work (balancer/circuit-breaker.ts
 * TargetHealth, which decides what counts towards max_fails); the engine only reports attempts.
 */
import type { AttemptFailure } from './failover';

export interface EngineHealth {
  /** Circuit-open and Retry-After targets ∪ `tried`: what a pick must skip. */
  exclusions(tried: ReadonlySet<number>): ReadonlySet<number>;
  recordFailure(index: number, failure: AttemptFailure): boolean;
  recordSuccess(index: number): void;
  /** Every untried target excluded, some by Retry-After: ms until the first returns (else undefined). */
  rateLimitedForMs?(tried: ReadonlySet<number>): number | undefined;
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
