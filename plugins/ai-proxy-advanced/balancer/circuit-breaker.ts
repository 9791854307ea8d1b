/**
 * Per-target health: the circuit breaker of `balancer.max_fails` / `balancer.fail_timeout` (3.13, spec §2.3)
 * and, beyond Kong, Retry-After exclusion. Pure: time comes from the injected clock.
 *
 * Circuit breaker, nginx's max_fails/fail_timeout model (ngx_http_upstream_round_robin.c), which Kong's docs
 * describe (DOCS circuit-breaker.md, schema text quoted in spec §1.3):
 * - A failed attempt counts when `failover_criteria` lists it; `error`, `timeout` and `invalid_header` always
 *   count, `http_403` and `http_404` never do, other statuses only when listed as `http_<status>`.
 * - Failures are counted in total, not consecutively: a success resets the count only once `fail_timeout`
 *   has passed since the last failure (nginx resets on a success after the peer was re-checked).
 * - When the count reaches `max_fails` the target is excluded for `fail_timeout` ms after the last failure.
 *   After that it is half-open: requests may reach it again; a success closes the circuit, a failure opens
 *   it for another `fail_timeout`.
 * - `max_fails: 0` (the default) turns the breaker off.
 *
 * Retry-After: an upstream 429 (or 503) carrying Retry-After keeps that target out of rotation until the time
 * it names, capped at MAX_RETRY_AFTER_MS (a minute: one provider answer must not close a route for long). It applies
 * whatever `max_fails` and `failover_criteria` say (the provider told us when to come back) and a success in
 * the meantime does not lift it (an in-flight success does not mean the rate limit has reset).
 *
 * The engine excludes `excluded()` ∪ targets tried in this request from every pick (see `exclusions`).
 */
import type { FilledBalancerConfig } from '../../../schemas/config';
import type { AttemptFailure } from '../engine/failover';
import type { BalancerTarget } from './balancer';

export type { AttemptFailure };

/** The one Retry-After cap (engine/health.ts parses with it; README documents it). */
export const MAX_RETRY_AFTER_MS = 60_000;


export type CircuitState = 'closed' | 'open' | 'half-open';

export interface TargetHealthStatus {
  readonly state: CircuitState;
  /** Failures counted towards max_fails. */
  readonly fails: number;
  /** Excluded until this time (circuit open or Retry-After), or undefined when available. */
  readonly excludedUntil: number | undefined;
  readonly reason: 'circuit-open' | 'retry-after' | undefined;
}

/** What survives a rebuild for one target id (see registry.ts). */
export interface HealthSnapshotEntry {
  readonly fails: number;
  readonly lastFailureAt: number;
  readonly retryAfterUntil: number;
}
export type HealthSnapshot = ReadonlyMap<string, HealthSnapshotEntry>;

/**
 * What the cluster sync (cluster/) hears from a failure, to publish circuit openings and holds at once
 * instead of at the next flush. Absent (the default) the breaker is purely local, as in Kong.
 */
export interface HealthListener {
  failure(index: number, counted: boolean, openedUntil: number | undefined, retryAfterUntil: number | undefined): void;
}

const EMPTY: ReadonlySet<number> = new Set<number>();

export class TargetHealth {
  readonly maxFails: number;
  readonly failTimeoutMs: number;
  private readonly targets: readonly BalancerTarget[];
  private readonly now: () => number;
  private readonly countedStatuses: ReadonlySet<number>;
  private readonly fails: Int32Array;
  private readonly lastFailureAt: Float64Array;
  private readonly retryAfterUntil: Float64Array;
  /** Exclusions other nodes reported (cluster/): circuit open until, Retry-After until. -Infinity when none. */
  private readonly remoteOpenUntil: Float64Array;
  private readonly remoteRetryUntil: Float64Array;
  listener: HealthListener | undefined;
  /** Cached `excluded()` answer, valid while no state changed and the clock is before `validUntil`. */
  private cached: ReadonlySet<number> = EMPTY;
  private validUntil = -Infinity;

  constructor(config: Pick<FilledBalancerConfig, 'max_fails' | 'fail_timeout' | 'failover_criteria'>, targets: readonly BalancerTarget[], now: () => number, previous?: HealthSnapshot) {
    this.maxFails = config.max_fails;
    this.failTimeoutMs = config.fail_timeout;
    this.targets = targets;
    this.now = now;
    const statuses = new Set<number>();
    for (const c of config.failover_criteria) {
      const m = /^http_(\d{3})$/.exec(c);
      if (m !== null && c !== 'http_403' && c !== 'http_404') statuses.add(Number(m[1]));
    }
    this.countedStatuses = statuses;
    const n = targets.length;
    this.fails = new Int32Array(n);
    this.lastFailureAt = new Float64Array(n).fill(-Infinity);
    this.retryAfterUntil = new Float64Array(n).fill(-Infinity);
    this.remoteOpenUntil = new Float64Array(n).fill(-Infinity);
    this.remoteRetryUntil = new Float64Array(n).fill(-Infinity);
    if (previous !== undefined) {
      targets.forEach((t, i) => {
        const p = previous.get(t.id);
        if (p === undefined) return;
        this.fails[i] = p.fails;
        this.lastFailureAt[i] = p.lastFailureAt;
        this.retryAfterUntil[i] = p.retryAfterUntil;
      });
    }
  }

  /** Whether this failure counts towards `max_fails` (failover_criteria rules above). */
  counts(failure: AttemptFailure): boolean {
    if (failure.kind !== 'http') return true;
    return failure.status !== undefined && this.countedStatuses.has(failure.status);
  }

  /** Record a failed attempt on target `index`. Returns whether it counted towards `max_fails`. */
  recordFailure(index: number, failure: AttemptFailure): boolean {
    if (index < 0 || index >= this.fails.length) return false;
    const now = this.now();
    const ra = failure.retryAfterMs;
    let held: number | undefined;
    if (failure.kind === 'http' && (failure.status === 429 || failure.status === 503) && ra !== undefined && ra > 0) {
      const until = now + Math.min(ra, MAX_RETRY_AFTER_MS);
      if (until > this.retryAfterUntil[index]!) {
        this.retryAfterUntil[index] = until;
        held = until;
      }
      this.validUntil = -Infinity;
    }
    if (this.maxFails <= 0 || !this.counts(failure)) {
      this.listener?.failure(index, false, undefined, held);
      return false;
    }
    this.fails[index]!++;
    this.lastFailureAt[index] = now;
    this.validUntil = -Infinity;
    this.listener?.failure(index, true, this.fails[index]! >= this.maxFails ? now + this.failTimeoutMs : undefined, held);
    return true;
  }

  /**
   * Exclusions learnt from the cluster (cluster/sync.ts). `replace` sets them (a refresh carries the cluster's
   * whole view); otherwise they only move later (a published opening).
   */
  applyRemote(index: number, openUntil: number, retryUntil: number, replace: boolean): void {
    if (index < 0 || index >= this.fails.length) return;
    if (replace) {
      this.remoteOpenUntil[index] = openUntil;
      this.remoteRetryUntil[index] = retryUntil;
    } else {
      if (openUntil > this.remoteOpenUntil[index]!) this.remoteOpenUntil[index] = openUntil;
      if (retryUntil > this.remoteRetryUntil[index]!) this.remoteRetryUntil[index] = retryUntil;
    }
    this.validUntil = -Infinity;
  }

  /** This node's own circuit-open and Retry-After end times for target `index` (what the cluster sync shares). */
  localHolds(index: number): { openUntil: number; retryUntil: number } {
    const open = this.maxFails > 0 && this.fails[index]! >= this.maxFails;
    return { openUntil: open ? this.lastFailureAt[index]! + this.failTimeoutMs : -Infinity, retryUntil: this.retryAfterUntil[index]! };
  }

  /** Record a successful attempt on target `index`. */
  recordSuccess(index: number): void {
    if (index < 0 || index >= this.fails.length || this.fails[index] === 0) return;
    if (this.now() - this.lastFailureAt[index]! >= this.failTimeoutMs) {
      this.fails[index] = 0;
      this.validUntil = -Infinity;
    }
  }

  /** Target indexes out of rotation at `now` (circuit open or Retry-After). Do not mutate the result. */
  excluded(now: number = this.now()): ReadonlySet<number> {
    if (now < this.validUntil) return this.cached;
    let set: Set<number> | undefined;
    let next = Infinity;
    for (let i = 0; i < this.fails.length; i++) {
      const until = this.excludedUntilAt(i);
      if (until > now) {
        (set ??= new Set<number>()).add(i);
        if (until < next) next = until;
      }
    }
    this.cached = set ?? EMPTY;
    this.validUntil = next;
    return this.cached;
  }

  /** `excluded()` ∪ `tried`, allocating only when both are non-empty. */
  exclusions(tried: ReadonlySet<number>, now: number = this.now()): ReadonlySet<number> {
    const out = this.excluded(now);
    if (out.size === 0) return tried;
    if (tried.size === 0) return out;
    const union = new Set(out);
    for (const i of tried) union.add(i);
    return union;
  }

  status(index: number, now: number = this.now()): TargetHealthStatus {
    const fails = this.fails[index] ?? 0;
    const open = this.maxFails > 0 && fails >= this.maxFails;
    const remoteOpen = this.remoteOpenUntil[index] ?? -Infinity;
    const openUntil = Math.max(open ? this.lastFailureAt[index]! + this.failTimeoutMs : -Infinity, remoteOpen);
    const retryUntil = Math.max(this.retryAfterUntil[index] ?? -Infinity, this.remoteRetryUntil[index] ?? -Infinity);
    const state: CircuitState = now < openUntil ? 'open' : open ? 'half-open' : 'closed';
    const until = Math.max(openUntil, retryUntil);
    return {
      state,
      fails,
      excludedUntil: until > now ? until : undefined,
      reason: until <= now ? undefined : retryUntil >= openUntil ? 'retry-after' : 'circuit-open',
    };
  }

  /**
   * When no target outside `tried` is available and at least one is held back by a provider's Retry-After:
   * the ms until the first of those returns. Lets the engine answer 429 with Retry-After instead of Kong's
   * generic "failed to get peer" 500, since the provider told us exactly when to come back.
   */
  rateLimitedForMs(tried: ReadonlySet<number>, now: number = this.now()): number | undefined {
    let soonest = Infinity;
    for (let i = 0; i < this.targets.length; i++) {
      if (tried.has(i)) continue;
      const s = this.status(i, now);
      if (s.excludedUntil === undefined) return undefined;
      if (s.reason === 'retry-after') soonest = Math.min(soonest, s.excludedUntil - now);
    }
    return soonest === Infinity ? undefined : soonest;
  }

  snapshot(): HealthSnapshot {
    const out = new Map<string, HealthSnapshotEntry>();
    this.targets.forEach((t, i) => {
      out.set(t.id, { fails: this.fails[i]!, lastFailureAt: this.lastFailureAt[i]!, retryAfterUntil: this.retryAfterUntil[i]! });
    });
    return out;
  }

  private excludedUntilAt(i: number): number {
    const open = this.maxFails > 0 && this.fails[i]! >= this.maxFails;
    const openUntil = open ? this.lastFailureAt[i]! + this.failTimeoutMs : -Infinity;
    return Math.max(openUntil, this.retryAfterUntil[i]!, this.remoteOpenUntil[i]!, this.remoteRetryUntil[i]!);
  }
}
