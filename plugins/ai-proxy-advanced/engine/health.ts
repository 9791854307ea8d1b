/**
 * What the attempt loop needs from target health: the circuit breaker of `max_fails` / `fail_timeout` and,
 * beyond Kong, Retry-After on 429/503. Implemented by the balancer work (balancer/circuit-breaker.ts
 * TargetHealth, which decides what counts towards max_fails); the engine only reports attempts.
 */
import { MAX_RETRY_AFTER_MS } from '../balancer/circuit-breaker';
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
 * Longest a provider's Retry-After keeps its target out of rotation (issue 11): one answer with
 * `Retry-After: 3600` (a misconfigured or hostile provider, or a proxy in front of it) must not close a route for
 * an hour. A minute covers real rate-limit windows (OpenAI and Anthropic send seconds); after it the target is
 * tried again and a provider still limiting answers 429 again, which holds it out for another minute at most.
 */
export const RETRY_AFTER_CAP_MS = MAX_RETRY_AFTER_MS;

/**
 * Retry-After as sent with 429/503: delta-seconds or an HTTP date. Undefined when absent or unreadable;
 * capped at RETRY_AFTER_CAP_MS.
 */
export function parseRetryAfter(value: string | undefined, nowEpochMs: number, capMs = RETRY_AFTER_CAP_MS): number | undefined {
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
