/**
 * Cluster test nodes (spec/cluster/, bench/cluster.ts):
 * - `startClusterNode`: a local gateway node running ai-proxy-advanced in its own plugin server; plugins carry
 *   fixed ids, so two nodes loading the same routes share state by plugin id, and the gateway passes
 *   AI_PROXY_ADVANCED_CLUSTER_REDIS to the plugin server it starts (kong/gateway `env`);
 * - `syncNode` + `twoTargetState`: a "node" in this process: a ClusterSync with its own Redis connections (any
 *   form of the setting) and BalancerState objects built as the registry builds them, on an injected clock.
 */
import { BalancerState, buildTargets } from '../../plugins/ai-proxy-advanced/balancer';
import { fingerprintOf } from '../../plugins/ai-proxy-advanced/balancer/registry';
import { clusterClients, parseClusterSetting } from '../../plugins/ai-proxy-advanced/cluster';
import { ClusterSync } from '../../plugins/ai-proxy-advanced/cluster/sync';
import type { BalancerConfig, PluginConfig, TargetConfig } from '../../schemas/config';
import { filledConfig } from './filled-config';
import { startAipaGateway } from './engine-gateway';
import type { Harness } from './gateway-harness';

export interface ClusterRoute {
  path: string;
  /** The plugin's id: the same on every node, as Kong's database or a shared declarative file gives it. */
  id: string;
  config: Omit<PluginConfig, '__plugin_id'>;
}

export function chatTarget(url: string, weight = 100): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    weight,
    model: { provider: 'openai', name: 'gpt-4o-mini', options: { upstream_url: `${url}/v1/chat/completions` } },
    auth: { header_name: 'Authorization', header_value: 'Bearer sk-cluster-test' },
  };
}

export async function startClusterNode(redisUrl: string | undefined, routes: ClusterRoute[]): Promise<Harness> {
  const config = {
    _format_version: '3.0',
    services: [
      {
        name: 'llm',
        url: 'http://127.0.0.1:9',
        routes: routes.map((r, i) => ({ name: `r${i}`, paths: [r.path], plugins: [{ id: r.id, name: 'ai-proxy-advanced', config: r.config }] })),
      },
    ],
  };
  return startAipaGateway(config, redisUrl === undefined ? {} : { AI_PROXY_ADVANCED_CLUSTER_REDIS: redisUrl });
}

export async function postChat(proxy: string, routePath: string): Promise<number> {
  const r = await fetch(`${proxy}${routePath}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }),
  });
  await r.arrayBuffer();
  return r.status;
}

/**
 * A ClusterSync for the setting `setting` (any form), named `name`, on clock `now`. Its timer never fires
 * (tests step it with flushAll/tick) unless `flushIntervalMs` says otherwise.
 */
export function syncNode(setting: string, name: string, now: () => number, opts: { logs?: string[]; flushIntervalMs?: number } = {}): ClusterSync {
  const { redis, sub } = clusterClients(parseClusterSetting(setting));
  const logs = opts.logs;
  return new ClusterSync(redis, sub, {
    now,
    nodeId: name,
    log: (m) => logs?.push(m),
    flushIntervalMs: opts.flushIntervalMs ?? 3_600_000,
    random: () => 0.5,
  });
}

/** Plugin `id` with targets a and b (`weights`), as the registry builds its state (same random on every node). */
export function twoTargetState(id: string, balancer: BalancerConfig, now: () => number, weights = [100, 100], random: () => number = () => 0.5): BalancerState {
  const config = filledConfig({
    __plugin_id: id,
    targets: ['a', 'b'].map((m, i) => ({ route_type: 'llm/v1/chat', weight: weights[i], model: { provider: 'openai', name: m, options: { upstream_url: `http://127.0.0.1:9/${m}` } } })),
    balancer,
  } as never);
  const targets = buildTargets(config.targets);
  return new BalancerState(id, fingerprintOf(config, targets), config, targets, { now, random });
}
