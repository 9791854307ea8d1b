/**
 * `balancer.algorithm: lowest-latency` — the target with the lowest decayed latency EWMA per unit of weight
 * (Kong's kong/runloop/balancer/latency.lua, credit Finagle's PeakEwma; machinery in ewma.ts).
 *
 * Data point per attempt (`balancer.latency_strategy`):
 * - `tpot` (default): time per output token = end-to-end ms / completion_tokens. A response without
 *   completion tokens (embeddings, or a provider that reports none) falls back to its end-to-end latency, so
 *   the target still learns something rather than looking idle.
 * - `e2e`: end-to-end ms of the attempt.
 * A success without `latencyMs` records nothing; a failure records a penalty (ewma.ts).
 *
 * Idle targets decay towards 0 and are re-probed, so the best target takes most but never all of the traffic
 * (DOCS FAQ: "Kong never sends 100% to a single target unless it's the only one available").
 */
import type { FilledBalancerConfig, LatencyStrategy } from '../../../schemas/config';
import type { BalancerDeps, BalancerTarget, Outcome } from './balancer';
import type { EwmaSnapshot } from './ewma';
import { EwmaBalancer } from './ewma-balancer';

export class LowestLatencyBalancer extends EwmaBalancer {
  readonly strategy: LatencyStrategy;

  constructor(config: Pick<FilledBalancerConfig, 'latency_strategy'>, targets: readonly BalancerTarget[], deps: BalancerDeps, previous?: EwmaSnapshot) {
    super(targets, deps, previous);
    this.strategy = config.latency_strategy;
  }

  protected dataPoint(outcome: Outcome): number | undefined {
    return latencyDataPoint(this.strategy, outcome);
  }

  protected override failureLatency(outcome: Outcome): number | undefined {
    return outcome.latencyMs;
  }
}

/** The data point a successful attempt contributes, or undefined when it carries no latency. */
export function latencyDataPoint(strategy: LatencyStrategy, outcome: Outcome): number | undefined {
  const ms = outcome.latencyMs;
  if (ms === undefined) return undefined;
  if (strategy === 'e2e') return ms;
  const tokens = outcome.usage?.completion_tokens ?? 0;
  return tokens > 0 ? ms / tokens : ms;
}

export function createLowestLatency(
  config: FilledBalancerConfig,
  targets: readonly BalancerTarget[],
  deps: BalancerDeps,
  previous?: EwmaSnapshot,
): LowestLatencyBalancer {
  return new LowestLatencyBalancer(config, targets, deps, previous);
}
