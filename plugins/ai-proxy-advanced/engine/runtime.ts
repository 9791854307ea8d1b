/**
 * Per-plugin state at module scope, keyed by `config.__plugin_id`. Kong creates a plugin instance per worker
 * per config change (and the plugin server keeps no close hook), so nothing long-lived may live on the
 * instance: balancer position, EWMAs, in-flight counts and circuit state survive here and are rebuilt only when
 * the parts of the config they depend on (targets, balancer) change.
 */
import type { PluginConfig } from '../../../schemas/config';
import type { Balancer } from '../balancer/balancer';
import type { PluginRuntime } from './attempts';
import { FailoverPolicy } from './failover';
import type { TargetHealth } from './health';
import type { PreparedTarget } from './target-context';
import { hasTemplates } from './templating';

/** Builds the balancer and target health for a config (the balancer work's registry in production). */
export type BalancerSource = (config: PluginConfig) => { balancer: Balancer; health: TargetHealth };

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_RETRIES = 5;
const DEFAULT_HASH_HEADER = 'X-Kong-LLM-Request-ID';

interface Entry {
  fingerprint: string;
  runtime: PluginRuntime;
}

const runtimes = new Map<string, Entry>();

/** The definition the balancer state depends on; a change of anything else keeps the state. */
function fingerprintOf(config: PluginConfig): string {
  return JSON.stringify([config.targets, config.balancer ?? null]);
}

export function prepareTargets(config: PluginConfig): PreparedTarget[] {
  return config.targets.map((t) => ({ config: t, templated: hasTemplates(t.model) }));
}

export function buildRuntime(config: PluginConfig, source: BalancerSource): PluginRuntime {
  const b = config.balancer ?? {};
  const { balancer, health } = source(config);
  return {
    config,
    balancer,
    health,
    prepared: prepareTargets(config),
    policy: new FailoverPolicy(b.failover_criteria),
    timeouts: { connectMs: b.connect_timeout ?? DEFAULT_TIMEOUT_MS, readMs: b.read_timeout ?? DEFAULT_TIMEOUT_MS },
    retries: b.retries ?? DEFAULT_RETRIES,
    hashHeader: (b.hash_on_header ?? DEFAULT_HASH_HEADER).toLowerCase(),
  };
}

/**
 * The runtime for this config: the existing one when the plugin id and the balancing definition are unchanged
 * (with the new config object, so non-balancing fields like model_name_header take effect), else a new one.
 */
export function runtimeFor(config: PluginConfig, source: BalancerSource): PluginRuntime {
  const id = config.__plugin_id;
  if (id === undefined) return buildRuntime(config, source);
  const fingerprint = fingerprintOf(config);
  const prev = runtimes.get(id);
  if (prev && prev.fingerprint === fingerprint) {
    if (prev.runtime.config !== config) prev.runtime = { ...prev.runtime, config };
    return prev.runtime;
  }
  const runtime = buildRuntime(config, source);
  runtimes.set(id, { fingerprint, runtime });
  return runtime;
}

/** Forget every plugin's state (tests). */
export function resetRuntimes(): void {
  runtimes.clear();
}
