/**
 * `balancer.algorithm: round-robin` — Kong's weighted wheel (kong/runloop/balancer/round_robin.lua): every
 * target appears weight/gcd(weights) times, the wheel is shuffled once (Fisher–Yates with the injected
 * random), and a pointer advances one slot per pick, skipping excluded targets. A full turn without an
 * available slot means no peer.
 *
 * Beyond Kong: weights are 1..65535, so a wheel for co-prime weights could hold millions of slots. Past
 * MAX_WHEEL_SIZE slots the weights are scaled down proportionally (each keeps at least one slot); the share
 * error that introduces is below 1/MAX_WHEEL_SIZE per target, far under what traffic can measure.
 *
 * With AI_PROXY_ADVANCED_CLUSTER_REDIS set, the cluster sync sets `shared` and picks follow one weighted
 * sequence for the whole cluster instead of this process's wheel (cluster/round-robin.ts).
 */
import type { FilledBalancerConfig } from '../../../schemas/config';
import type { Balancer, BalancerDeps, BalancerTarget, Outcome, PickRequest } from './balancer';

export const MAX_WHEEL_SIZE = 1 << 16;

export function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/** Slots per target: weight/gcd, scaled down when the wheel would exceed `maxSize`. */
export function wheelSlots(weights: readonly number[], maxSize = MAX_WHEEL_SIZE): number[] {
  let divisor = 0;
  let total = 0;
  for (const w of weights) {
    divisor = gcd(divisor, w);
    total += w;
  }
  if (total === 0) return weights.map(() => 0);
  const slots = weights.map((w) => w / divisor);
  const size = total / divisor;
  if (size <= maxSize) return slots;
  const scale = maxSize / size;
  return slots.map((s) => Math.max(1, Math.round(s * scale)));
}

/** A shuffled wheel of target indexes, `slots[i]` entries for target i. */
export function buildWheel(slots: readonly number[], random: () => number): Int32Array {
  let size = 0;
  for (const s of slots) size += s;
  const wheel = new Int32Array(size);
  let k = 0;
  slots.forEach((s, index) => {
    for (let n = 0; n < s; n++) wheel[k++] = index;
  });
  for (let i = wheel.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = wheel[i]!;
    wheel[i] = wheel[j]!;
    wheel[j] = t;
  }
  return wheel;
}

export class RoundRobinBalancer implements Balancer {
  private readonly targets: readonly BalancerTarget[];
  private readonly wheel: Int32Array;
  private pointer: number;
  /** Cluster-wide picker (cluster/round-robin.ts), set by the cluster sync; undefined: this process's wheel. */
  shared: { pick(exclude: ReadonlySet<number>): number } | undefined;

  constructor(targets: readonly BalancerTarget[], deps: BalancerDeps) {
    this.targets = targets;
    this.wheel = buildWheel(
      wheelSlots(targets.map((t) => t.weight)),
      deps.random,
    );
    // Start at a random slot so workers that happened to shuffle alike still do not move in lockstep.
    this.pointer = this.wheel.length > 0 ? Math.floor(deps.random() * this.wheel.length) : 0;
  }

  pick(req: PickRequest): BalancerTarget | undefined {
    if (this.shared !== undefined) {
      const i = this.shared.pick(req.exclude);
      return i < 0 ? undefined : this.targets[i];
    }
    const wheel = this.wheel;
    const size = wheel.length;
    const exclude = req.exclude;
    const noExclusions = exclude.size === 0;
    for (let n = 0; n < size; n++) {
      let p = this.pointer + 1;
      if (p >= size) p = 0;
      this.pointer = p;
      const index = wheel[p]!;
      if (noExclusions || !exclude.has(index)) return this.targets[index];
    }
    return undefined;
  }

  report(_target: BalancerTarget, _outcome: Outcome): void {
    // Round-robin keeps no feedback state.
  }
}

export function createRoundRobin(_config: FilledBalancerConfig, targets: readonly BalancerTarget[], deps: BalancerDeps): RoundRobinBalancer {
  return new RoundRobinBalancer(targets, deps);
}
