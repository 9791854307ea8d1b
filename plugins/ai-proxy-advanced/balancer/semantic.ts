/**
 * `semantic`: the engine resolves the prompt's candidate groups once per request (semantic/index.ts
 * prepareSemanticPick) and passes them in `PickRequest.semantic`: the matched description's group, then the
 * CATCHALL group. Inside the first group with an untried, healthy member, weight picks (Kong 3.13: targets with
 * identical descriptions form a group where weight picks the first and the others are the fallback); failover
 * walks the rest of the group, then CATCHALL. Without candidates there is no peer.
 */
import type { BalancerConfig } from '../../../schemas/config';
import type { Balancer, BalancerDeps, BalancerTarget, PickRequest } from './balancer';

export function createSemantic(_config: BalancerConfig, targets: readonly BalancerTarget[], deps: BalancerDeps): Balancer {
  return {
    pick(req: PickRequest): BalancerTarget | undefined {
      const groups = req.semantic?.groups;
      if (!groups) return undefined;
      for (const group of groups) {
        let total = 0;
        for (const i of group) if (!req.exclude.has(i)) total += targets[i]?.weight ?? 0;
        if (total === 0) continue;
        let r = deps.random() * total;
        let last: BalancerTarget | undefined;
        for (const i of group) {
          const t = targets[i];
          if (!t || req.exclude.has(i)) continue;
          last = t;
          r -= t.weight;
          if (r < 0) return t;
        }
        return last;
      }
      return undefined;
    },
    report() {
      // Nothing learned: the choice is the prompt's, not the targets' performance.
    },
  };
}
