/** Production wiring of the engine: real clock, undici, the provider registry and the balancer registry. */
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import { balancerStateFor, balancerStates } from '../balancer';
import { startClusterFromEnv } from '../cluster';
import { pluginMetrics, setCircuitSource, type CircuitSample } from '../observability/metrics';
import { getDriver } from '../providers';
import type { AttemptDeps } from './attempts';
import type { BalancerSource } from './runtime';
import { callUpstream, openUpstreamStream } from './upstream';

export const defaultAttemptDeps: AttemptDeps = {
  now: () => performance.now(),
  epochNow: () => Date.now(),
  call: callUpstream,
  openStream: openUpstreamStream,
  getDriver,
  signDeps: {
    async fetchJson(url, init) {
      const res = await request(url, { method: init.method as 'GET' | 'POST', headers: init.headers, body: init.body });
      const text = await res.body.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: the caller sees the text
      }
      return { status: res.statusCode, body };
    },
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
