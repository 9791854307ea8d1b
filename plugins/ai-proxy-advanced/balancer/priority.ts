/**
 * `balancer.algorithm: priority` (3.10) — targets with equal `weight` form a group; a higher weight is a
 * higher priority (DOCS priority example; Kong/docs.konghq.com #8583: "targets that have same weight are
 * identified as a group … balancer always chooses one of the targets of the group in the highest priority
 * first"). Every pick goes to the highest group that still has a target not excluded; a lower group is used
 * only when the whole group above it is excluded (tried in this request, circuit open, Retry-After).
 *
 * Within a group the weights are equal by construction, so the group is a plain rotation: one pointer per
 * group, started at a random member (injected random) and advanced per pick, skipping excluded members.
 * When every target is excluded there is no peer; the engine never re-uses a tried target (3.14.0.8 fix).
 */
import type { FilledBalancerConfig } from '../../../schemas/config';
import type { Balancer, BalancerDeps, BalancerTarget, Outcome, PickRequest } from './balancer';

interface Group {
  readonly weight: number;
  /** Target indexes in config order. */
  readonly members: Int32Array;
  pointer: number;
}

export class PriorityBalancer implements Balancer {
  private readonly targets: readonly BalancerTarget[];
  private readonly groups: Group[];

  constructor(targets: readonly BalancerTarget[], deps: BalancerDeps) {
    this.targets = targets;
    const byWeight = new Map<number, number[]>();
    for (const t of targets) {
      const g = byWeight.get(t.weight);
      if (g === undefined) byWeight.set(t.weight, [t.index]);
      else g.push(t.index);
    }
    this.groups = [...byWeight.entries()]
      .sort((a, b) => b[0] - a[0])
      .map(([weight, members]) => ({
        weight,
        members: Int32Array.from(members),
        pointer: Math.floor(deps.random() * members.length),
      }));
  }

  pick(req: PickRequest): BalancerTarget | undefined {
    const exclude = req.exclude;
    for (const g of this.groups) {
      const members = g.members;
      const n = members.length;
      // The pointer moves only to the member picked: skipping excluded members does not consume turns.
      let p = g.pointer;
      for (let step = 0; step < n; step++) {
        p = p + 1 >= n ? 0 : p + 1;
        const index = members[p]!;
        if (exclude.size === 0 || !exclude.has(index)) {
          g.pointer = p;
          return this.targets[index];
        }
      }
    }
    return undefined;
  }

  report(_target: BalancerTarget, _outcome: Outcome): void {
    // Priority keeps no feedback state.
  }

  /** Groups from highest priority down, as target indexes (diagnostics and tests). */
  groupIndexes(): number[][] {
    return this.groups.map((g) => [...g.members]);
  }
}

export function createPriority(_config: FilledBalancerConfig, targets: readonly BalancerTarget[], deps: BalancerDeps): PriorityBalancer {
  return new PriorityBalancer(targets, deps);
}
