/**
 * `balancer.algorithm: least-connections` (3.13) — the target with the smallest (in_flight + 1) / weight,
 * as Kong's kong/runloop/balancer/least_connections.lua scores its binary heap. +1 on pick, −1 on report, so
 * the engine must report exactly once per pick (balancer.ts).
 *
 * Ties (all idle at start, equal weights) are scanned from just after the last pick, so equal targets take
 * turns instead of the first one in config order taking every burst. A linear scan with integer
 * cross-multiplication (no division) beats a heap at the target counts a plugin has (measured in
 * bench/balancer.ts at 100 targets).
 */
import type { BalancerConfig } from '../../../schemas/config';
import type { Balancer, BalancerDeps, BalancerTarget, Outcome, PickRequest } from './balancer';

export class LeastConnectionsBalancer implements Balancer {
  private readonly targets: readonly BalancerTarget[];
  private readonly inFlight: Int32Array;
  private readonly weights: Float64Array;
  private cursor = 0;

  constructor(targets: readonly BalancerTarget[]) {
    this.targets = targets;
    this.inFlight = new Int32Array(targets.length);
    this.weights = Float64Array.from(targets, (t) => t.weight);
  }

  pick(req: PickRequest): BalancerTarget | undefined {
    const n = this.inFlight.length;
    const exclude = req.exclude;
    const noExclusions = exclude.size === 0;
    let best = -1;
    // Best score so far as the fraction bestLoad / bestWeight.
    let bestLoad = 0;
    let bestWeight = 1;
    let i = this.cursor;
    for (let step = 0; step < n; step++, i++) {
      if (i >= n) i = 0;
      if (!noExclusions && exclude.has(i)) continue;
      const load = this.inFlight[i]! + 1;
      const weight = this.weights[i]!;
      if (best === -1 || load * bestWeight < bestLoad * weight) {
        best = i;
        bestLoad = load;
        bestWeight = weight;
      }
    }
    if (best === -1) return undefined;
    this.inFlight[best]!++;
    this.cursor = best + 1 >= n ? 0 : best + 1;
    return this.targets[best];
  }

  report(target: BalancerTarget, _outcome: Outcome): void {
    const i = target.index;
    // Never below 0: a report for a pick made by a previous build of this balancer must not skew counts.
    if (i >= 0 && i < this.inFlight.length && this.inFlight[i]! > 0) this.inFlight[i]!--;
  }

  /** Requests picked and not yet reported, for target `index`. */
  connections(index: number): number {
    return this.inFlight[index] ?? 0;
  }
}

export function createLeastConnections(
  _config: BalancerConfig,
  targets: readonly BalancerTarget[],
  _deps: BalancerDeps,
): LeastConnectionsBalancer {
  return new LeastConnectionsBalancer(targets);
}
