/**
 * The pick/report shape shared by the EWMA-scored algorithms (lowest-latency, lowest-usage): pick the lowest
 * decayed score per unit of weight; on success record the algorithm's data point, on failure a penalty.
 * Subclasses only say what a data point is.
 */
import type { Balancer, BalancerDeps, BalancerTarget, Outcome, PickRequest } from './balancer';
import { EwmaScoreboard, type EwmaSnapshot } from './ewma';

export abstract class EwmaBalancer implements Balancer {
  private readonly targets: readonly BalancerTarget[];
  private readonly deps: BalancerDeps;
  readonly scores: EwmaScoreboard;

  protected constructor(targets: readonly BalancerTarget[], deps: BalancerDeps, previous?: EwmaSnapshot) {
    this.targets = targets;
    this.deps = deps;
    this.scores = new EwmaScoreboard(targets, deps.now(), previous);
  }

  /** The data point a successful attempt contributes, or undefined when it carries none. */
  protected abstract dataPoint(outcome: Outcome): number | undefined;

  /** The latency a failed attempt reports to the penalty, where the metric is a latency. */
  protected failureLatency(_outcome: Outcome): number | undefined {
    return undefined;
  }

  pick(req: PickRequest): BalancerTarget | undefined {
    const i = this.scores.pickMin(req.exclude);
    return i === -1 ? undefined : this.targets[i];
  }

  report(target: BalancerTarget, outcome: Outcome): void {
    const now = this.deps.now();
    if (!outcome.ok) {
      this.scores.recordFailure(target.index, now, this.failureLatency(outcome));
      return;
    }
    const point = this.dataPoint(outcome);
    if (point !== undefined) this.scores.record(target.index, point, now);
  }

  snapshot(): EwmaSnapshot {
    return this.scores.snapshot();
  }
}
