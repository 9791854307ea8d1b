/**
 * `createBalancer`: the algorithm named by `balancer.algorithm`, exhaustive over the config values (one module
 * each, named after the value). Re-exported by index.ts; kept apart so registry.ts can use it without an
 * import cycle.
 */
import type { Algorithm, BalancerConfig } from '../../../schemas/config';
import { ConfigError } from '../errors';
import type { Balancer, BalancerDeps, BalancerTarget } from './balancer';
import { createConsistentHashing } from './consistent-hashing';
import type { EwmaSnapshot } from './ewma';
import { createLeastConnections } from './least-connections';
import { createLowestLatency } from './lowest-latency';
import { createLowestUsage } from './lowest-usage';
import { createPriority } from './priority';
import { createRoundRobin } from './round-robin';
import { createSemantic } from './semantic';

export const DEFAULT_ALGORITHM: Algorithm = 'round-robin';

/** Carried-over learned state for a rebuild (registry.ts); only EWMA balancers use it. */
export interface PreviousState {
  readonly ewma?: EwmaSnapshot | undefined;
}

/**
 * A balancer for `config.algorithm` over `targets` (targets[i].index must be i). Throws
 * UnsupportedFeatureError for algorithms/strategies this project does not implement, ConfigError for
 * definitions no balancer can serve.
 */
export function createBalancer(
  config: BalancerConfig,
  targets: readonly BalancerTarget[],
  deps: BalancerDeps,
  previous: PreviousState = {},
): Balancer {
  targets.forEach((t, i) => {
    if (t.index !== i) throw new ConfigError(`balancer target at position ${i} has index ${t.index}`);
    if (!Number.isFinite(t.weight) || t.weight < 1) {
      throw new ConfigError(`targets[${i}].weight must be between 1 and 65535, got ${String(t.weight)}`);
    }
  });
  const algorithm = config.algorithm ?? DEFAULT_ALGORITHM;
  switch (algorithm) {
    case 'round-robin':
      return createRoundRobin(config, targets, deps);
    case 'consistent-hashing':
      return createConsistentHashing(config, targets, deps);
    case 'lowest-latency':
      return createLowestLatency(config, targets, deps, previous.ewma);
    case 'lowest-usage':
      return createLowestUsage(config, targets, deps, previous.ewma);
    case 'least-connections':
      return createLeastConnections(config, targets, deps);
    case 'priority':
      return createPriority(config, targets, deps);
    case 'semantic':
      return createSemantic(config, targets, deps);
    default: {
      const unknown: never = algorithm;
      throw new ConfigError(`unknown balancer.algorithm '${String(unknown)}'`);
    }
  }
}
