/**
 * `balancer.algorithm: lowest-usage` — the target with the lowest decayed usage EWMA per unit of weight, the
 * same machinery as lowest-latency (ewma.ts): usage is decayed, not cumulative (spec §2.2).
 *
 * Data point per successful attempt (`balancer.tokens_count_strategy`):
 * - `total-tokens` (default): prompt + completion tokens (the provider's total_tokens when it reports one);
 * - `prompt-tokens`, `completion-tokens`: that count alone;
 * - `cost`: the response's cost (input_cost/output_cost per 1M tokens, computed by the engine). A success
 *   without a cost (no prices configured) records 0, as a free response costs nothing.
 * - `llm-accuracy` needs scores from the ai-llm-as-judge plugin, which this project does not have: the
 *   balancer refuses to build with an UnsupportedFeatureError naming the setting.
 * A success without usage records nothing; a failure records a penalty (ewma.ts).
 */
import type { FilledBalancerConfig, TokensCountStrategy } from '../../../schemas/config';
import { UnsupportedFeatureError } from '../errors';
import type { BalancerDeps, BalancerTarget, Outcome } from './balancer';
import type { EwmaSnapshot } from './ewma';
import { EwmaBalancer } from './ewma-balancer';

export type SupportedTokensCountStrategy = Exclude<TokensCountStrategy, 'llm-accuracy'>;

export class LowestUsageBalancer extends EwmaBalancer {
  readonly strategy: SupportedTokensCountStrategy;

  constructor(config: Pick<FilledBalancerConfig, 'tokens_count_strategy'>, targets: readonly BalancerTarget[], deps: BalancerDeps, previous?: EwmaSnapshot) {
    super(targets, deps, previous);
    const strategy = config.tokens_count_strategy;
    if (strategy === 'llm-accuracy') {
      throw new UnsupportedFeatureError(
        "balancer.tokens_count_strategy 'llm-accuracy' is not supported: it needs scores from the ai-llm-as-judge plugin, which is not available here",
      );
    }
    this.strategy = strategy;
  }

  protected dataPoint(outcome: Outcome): number | undefined {
    return usageDataPoint(this.strategy, outcome);
  }
}

/** The data point a successful attempt contributes, or undefined when it carries no usage. */
export function usageDataPoint(strategy: SupportedTokensCountStrategy, outcome: Outcome): number | undefined {
  if (strategy === 'cost') return outcome.cost ?? 0;
  const u = outcome.usage;
  if (u === undefined) return undefined;
  switch (strategy) {
    case 'prompt-tokens':
      return u.prompt_tokens;
    case 'completion-tokens':
      return u.completion_tokens;
    case 'total-tokens':
      return u.total_tokens > 0 ? u.total_tokens : u.prompt_tokens + u.completion_tokens;
  }
}

export function createLowestUsage(
  config: FilledBalancerConfig,
  targets: readonly BalancerTarget[],
  deps: BalancerDeps,
  previous?: EwmaSnapshot,
): LowestUsageBalancer {
  return new LowestUsageBalancer(config, targets, deps, previous);
}
