/**
 * What one plugin instance derives from its config, once, at construction. Long-lived balancing state
 * (wheel position, EWMAs, in-flight counts, circuits) is NOT here: Kong creates an instance per worker per
 * config change with no close hook, so that state lives at module scope keyed by `config.__plugin_id`
 * (balancer/registry.ts), and the BalancerSource hands it out.
 */
import type { FilledConfig } from '../../../schemas/config';
import type { Balancer } from '../balancer/balancer';
import type { PluginRuntime } from './attempts';
import { FailoverPolicy } from './failover';
import type { EngineHealth } from './health';
import type { PreparedTarget } from './target-context';
import { hasTemplates } from './templating';

/** The balancer and target health for a config (balancer/registry.ts balancerStateFor in production). */
export type BalancerSource = (config: FilledConfig) => { balancer: Balancer; health: EngineHealth };

export function prepareTargets(config: FilledConfig): PreparedTarget[] {
  return config.targets.map((t) => ({ config: t, templated: hasTemplates(t.model) }));
}

export function buildRuntime(config: FilledConfig, source: BalancerSource): PluginRuntime {
  const b = config.balancer;
  const { balancer, health } = source(config);
  return {
    config,
    balancer,
    health,
    prepared: prepareTargets(config),
    policy: new FailoverPolicy(b.failover_criteria),
    timeouts: {
      connectMs: b.connect_timeout,
      readMs: b.read_timeout,
      writeMs: b.write_timeout,
    },
    retries: b.retries,
    hashHeader: b.hash_on_header.toLowerCase(),
  };
}
