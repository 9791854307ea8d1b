/**
 * `balancer.failover_criteria` with nginx `proxy_next_upstream` meaning (Kong sets it through
 * lua-kong-nginx-module set_next_upstream):
 *  - error / timeout / invalid_header: connection, send or response-header failure;
 *  - http_500 ... http_429: the upstream answered that status;
 *  - non_idempotent: without it, a request with a non-idempotent method (POST, LOCK, PATCH) that has already
 *    been sent upstream is never passed to the next server. A connect failure (nothing sent) always may be.
 * (What counts towards the circuit breaker's max_fails is the balancer's TargetHealth decision.)
 */
import type { FailoverCriterion } from '../../../schemas/config';

export type FailureKind = 'error' | 'timeout' | 'invalid_header' | 'http';

/**
 * One failed attempt, as the engine saw it: the one type failover (here), target health
 * (balancer/circuit-breaker.ts) and the client's error (responses.ts upstreamFailureError) read.
 */
export interface AttemptFailure {
  readonly kind: FailureKind;
  /** HTTP status when kind is 'http'. */
  readonly status?: number | undefined;
  /** Whether request bytes may have reached the upstream: false only for connect failures; absent means it may have. */
  readonly sent?: boolean | undefined;
  /** The provider's Retry-After on a 429/503, in ms from now. */
  readonly retryAfterMs?: number | undefined;
}

const NON_IDEMPOTENT = new Set(['POST', 'LOCK', 'PATCH']);
const HTTP_CRITERIA = new Set([500, 502, 503, 504, 403, 404, 429]);

export class FailoverPolicy {
  private readonly criteria: ReadonlySet<FailoverCriterion>;

  /** `criteria`: the filled `balancer.failover_criteria` (its schema default is ['error', 'timeout']). */
  constructor(criteria: readonly FailoverCriterion[]) {
    this.criteria = new Set(criteria);
  }

  /** The criterion that describes this failure, or undefined when no criterion can (e.g. a 400 or 401). */
  static criterionOf(f: AttemptFailure): FailoverCriterion | undefined {
    if (f.kind !== 'http') return f.kind;
    return f.status !== undefined && HTTP_CRITERIA.has(f.status) ? (`http_${f.status}` as FailoverCriterion) : undefined;
  }

  /** May the next attempt go to another target? */
  shouldFailover(f: AttemptFailure, method: string): boolean {
    const c = FailoverPolicy.criterionOf(f);
    if (c === undefined || !this.criteria.has(c)) return false;
    if (f.sent !== false && NON_IDEMPOTENT.has(method) && !this.criteria.has('non_idempotent')) return false;
    return true;
  }

}
