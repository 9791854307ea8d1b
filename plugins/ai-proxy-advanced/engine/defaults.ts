/** Production wiring of the engine: real clock, undici, the provider registry and the balancer registry. */
import { performance } from 'node:perf_hooks';
import { balancerStateFor, balancerStates } from '../balancer';
import { startClusterFromEnv } from '../cluster';
import { pluginMetrics, setCircuitSource, type CircuitSample } from '../observability/metrics';
import { getDriver } from '../providers';
import type { AttemptDeps } from './attempts';
import type { BalancerSource } from './runtime';
import { jsonFetcher } from './bounded-request';
import { callUpstream, openUpstreamStream } from './upstream';

/**
 * Token endpoints (Google's OAuth token and metadata servers, providers/gemini/oauth.ts): answers are a few hundred
 * bytes and come in well under a second; a request waits on the shared fetch, so it must end.
 */
export const TOKEN_TIMEOUT_MS = 10_000;
export const MAX_TOKEN_ANSWER_BYTES = 1024 * 1024;

export const defaultAttemptDeps: AttemptDeps = {
  now: () => performance.now(),
  epochNow: () => Date.now(),
  call: callUpstream,
  openStream: openUpstreamStream,
  getDriver,
  signDeps: {
    fetchJson: jsonFetcher(TOKEN_TIMEOUT_MS, MAX_TOKEN_ANSWER_BYTES),
    now: () => Date.now(),
    env: process.env,
  },
};

/** The plugin's balancing state from the module-scope registry (keyed by `__plugin_id`). */
export const defaultBalancerSource: BalancerSource = (config) => {
  const state = balancerStateFor(config);
  return { balancer: state, health: state.health };
};

/** Each target's circuit in the live balancer states, for the circuit-state gauge. */
function* circuits(): Iterable<CircuitSample> {
  for (const state of balancerStates()) {
    for (const t of state.targets) {
      const st = state.health.status(t.index);
      yield { pluginId: state.key, target: t.index, provider: t.config.model.provider, model: t.config.model.name ?? '', state: st.state, fails: st.fails };
    }
  }
}
setCircuitSource(circuits);
// Opt-in shared state across nodes (AI_PROXY_ADVANCED_CLUSTER_REDIS); unset, nothing starts.
startClusterFromEnv();
// Registered at load, so a scrape before the first request already lists them.
pluginMetrics();
