/**
 * `balancer.algorithm: least-connections` (3.13) — the target with the smallest (in_flight + 1) / weight,
 * as Kong's kong/runloop/balancer/least_connections.lua scores its binary heap. +1 on pick, −1 on report, so
 * the engine must report exactly once per pick (balancer.ts).
 *
 * Targets sit in an indexed min-heap (score-heap.ts): a pick is O(log n) whatever the target count, and of
 * equal scores the least recently picked target wins, so equal targets take turns instead of the first one
 * in config order taking every burst.
 */
import type { FilledBalancerConfig } from '../../../schemas/config';
import type { Balancer, BalancerDeps, BalancerTarget, Outcome, PickRequest } from './balancer';
import { ScoreHeap } from './score-heap';

export class LeastConnectionsBalancer implements Balancer {
  private readonly targets: readonly BalancerTarget[];
  private readonly inFlight: Int32Array;
  private readonly weights: Float64Array;
  private readonly heap: ScoreHeap;
  /** Other nodes' in-flight requests per target (cluster/sync.ts); zeros when the cluster is off. */
  private readonly remote: Int32Array;

  constructor(targets: readonly BalancerTarget[]) {
    this.targets = targets;
    this.inFlight = new Int32Array(targets.length);
    this.remote = new Int32Array(targets.length);
    this.weights = Float64Array.from(targets, (t) => t.weight);
    this.heap = new ScoreHeap(targets.length);
    for (let i = 0; i < targets.length; i++) this.heap.update(i, 1 / this.weights[i]!);
  }

  pick(req: PickRequest): BalancerTarget | undefined {
    const best = this.heap.min(req.exclude);
    if (best === -1) return undefined;
    const load = ++this.inFlight[best]! + this.remote[best]!;
    this.heap.touchAndRaise(best, (load + 1) / this.weights[best]!);
    return this.targets[best];
  }

  report(target: BalancerTarget, _outcome: Outcome): void {
    const i = target.index;
    // Never below 0: a report for a pick made by a previous build of this balancer must not skew counts.
    if (i < 0 || i >= this.inFlight.length || this.inFlight[i]! <= 0) return;
    const load = --this.inFlight[i]! + this.remote[i]!;
    this.heap.update(i, (load + 1) / this.weights[i]!);
  }

  /** Requests other nodes have in flight on target `index` (cluster/sync.ts): scored with the local ones. */
  setRemote(index: number, n: number): void {
    if (index < 0 || index >= this.remote.length) return;
    const v = n > 0 && Number.isFinite(n) ? Math.min(Math.floor(n), 1_000_000) : 0;
    if (v === this.remote[index]) return;
    this.remote[index] = v;
    this.heap.update(index, (this.inFlight[index]! + v + 1) / this.weights[index]!);
  }

  /** Requests picked and not yet reported, for target `index`. */
  connections(index: number): number {
    return this.inFlight[index] ?? 0;
  }
}

export function createLeastConnections(
  _config: FilledBalancerConfig,
  targets: readonly BalancerTarget[],
  _deps: BalancerDeps,
): LeastConnectionsBalancer {
  return new LeastConnectionsBalancer(targets);
}
