/**
 * `balancer.algorithm: consistent-hashing` — a Ketama-style continuum as in Kong's
 * kong/runloop/balancer/consistent_hashing.lua: a ring of `balancer.slots` positions; each target owns
 * floor(weight/totalWeight · targets · 160) points (at least 1) at xxhash32(`<id> <i>`) % slots, a collision
 * moving the problem forward to the next i. A request hashes the value of the `hash_on_header` header onto
 * the ring and walks counter-clockwise (towards lower positions, wrapping) to the first point whose target is
 * not excluded, so a retry deterministically lands on the same fallback target in every worker.
 *
 * Differences from Kong, on purpose:
 * - Points are keyed by the target's stable id (see targets.ts), never a per-build random uuid, so every
 *   worker, process and restart maps a key to the same target (EE 3.9 did not, spec §2.2). Targets are
 *   placed in id order, so reordering config.targets changes nothing.
 * - Kong aborts when targets·160 points do not fit into `slots` (slots may be as small as 10). Here the point
 *   budget is capped at half the ring (weights keep their proportions), which keeps collision chains short.
 *   More targets than slots cannot all be placed: that is a ConfigError naming `balancer.slots`.
 * - The header is absent (or empty): the docs are silent (spec §4, open question 2) and Kong 3.9 hashed
 *   nothing useful. Here such a request falls back to weighted round-robin over the available targets, so
 *   traffic still flows and keeps the configured shares; it is simply not sticky.
 */
import type { FilledBalancerConfig } from '../../../schemas/config';
import { ConfigError } from '../errors';
import type { Balancer, BalancerDeps, BalancerTarget, Outcome, PickRequest } from './balancer';
import { RoundRobinBalancer } from './round-robin';
import { xxhash32 } from './xxhash32';

/** Kong's SERVER_POINTS: points per target when all weights are equal. */
export const POINTS_PER_TARGET = 160;

/** Points per target (same order as `targets`), Kong's formula under the half-ring budget. */
export function pointsPerTarget(weights: readonly number[], slots: number): number[] {
  const n = weights.length;
  let total = 0;
  for (const w of weights) total += w;
  if (total === 0) return weights.map(() => 0);
  const budget = Math.min(n * POINTS_PER_TARGET, Math.floor(slots / 2));
  return weights.map((w) => (w > 0 ? Math.max(1, Math.floor((w / total) * budget)) : 0));
}

export class ConsistentHashingBalancer implements Balancer {
  private readonly targets: readonly BalancerTarget[];
  private readonly slots: number;
  /** Ring positions that hold a point, ascending. */
  private readonly pointSlots: Int32Array;
  /** Target index of each point (parallel to pointSlots). */
  private readonly pointTarget: Int32Array;
  /** For each ring position, the index (into pointSlots) of the first point at or below it, wrapping. */
  private readonly slotToPoint: Int32Array;
  private readonly fallback: RoundRobinBalancer;

  constructor(config: Pick<FilledBalancerConfig, 'slots'>, targets: readonly BalancerTarget[], deps: BalancerDeps) {
    const slots = config.slots;
    if (targets.length > slots) {
      throw new ConfigError(
        `balancer.slots (${slots}) must be at least the number of targets (${targets.length}) for consistent-hashing`,
      );
    }
    this.targets = targets;
    this.slots = slots;
    this.fallback = new RoundRobinBalancer(targets, deps);

    const ring = new Int32Array(slots).fill(-1);
    const entries = pointsPerTarget(targets.map((t) => t.weight), slots);
    const order = targets.map((t) => t.index).sort((a, b) => cmp(targets[a]!.id, targets[b]!.id));
    const maxTries = 64 * slots;
    for (const index of order) {
      const id = targets[index]!.id;
      let want = entries[index]!;
      for (let i = 1; i <= want; i++) {
        const pos = xxhash32(`${id} ${i}`) % slots;
        if (ring[pos] === -1) ring[pos] = index;
        else want++; // collision: move the problem forward, as Kong does
        if (i > maxTries) throw new ConfigError(`balancer.slots (${slots}) is too small to place every consistent-hashing target`);
      }
    }

    let count = 0;
    for (let s = 0; s < slots; s++) if (ring[s] !== -1) count++;
    this.pointSlots = new Int32Array(count);
    this.pointTarget = new Int32Array(count);
    let k = 0;
    for (let s = 0; s < slots; s++) {
      if (ring[s] !== -1) {
        this.pointSlots[k] = s;
        this.pointTarget[k] = ring[s]!;
        k++;
      }
    }
    this.slotToPoint = new Int32Array(slots);
    let last = count - 1; // positions below the first point wrap to the last one
    k = 0;
    for (let s = 0; s < slots; s++) {
      if (k < count && this.pointSlots[k] === s) last = k++;
      this.slotToPoint[s] = last;
    }
  }

  pick(req: PickRequest): BalancerTarget | undefined {
    const key = req.hashKey;
    if (key === undefined || key === '') return this.fallback.pick(req);
    const n = this.pointTarget.length;
    if (n === 0) return undefined;
    let k = this.slotToPoint[xxhash32(key) % this.slots]!;
    const exclude = req.exclude;
    if (exclude.size === 0) return this.targets[this.pointTarget[k]!];
    if (exclude.size >= this.targets.length && allExcluded(this.targets, exclude)) return undefined;
    for (let step = 0; step < n; step++) {
      const index = this.pointTarget[k]!;
      if (!exclude.has(index)) return this.targets[index];
      k = k === 0 ? n - 1 : k - 1;
    }
    return undefined;
  }

  report(_target: BalancerTarget, _outcome: Outcome): void {
    // Consistent hashing keeps no feedback state.
  }

  /** Number of ring points owned by each target (diagnostics and tests). */
  pointCounts(): number[] {
    const counts = this.targets.map(() => 0);
    for (const t of this.pointTarget) counts[t]!++;
    return counts;
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function allExcluded(targets: readonly BalancerTarget[], exclude: ReadonlySet<number>): boolean {
  for (const t of targets) if (!exclude.has(t.index)) return false;
  return true;
}

export function createConsistentHashing(
  config: FilledBalancerConfig,
  targets: readonly BalancerTarget[],
  deps: BalancerDeps,
): ConsistentHashingBalancer {
  return new ConsistentHashingBalancer(config, targets, deps);
}
