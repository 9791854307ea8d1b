/**
 * A local gateway node running ai-proxy-advanced in its own plugin server, for the cluster tests
 * (spec/cluster/): plugins carry fixed ids, so two nodes loading the same routes share state by plugin id, and
 * the gateway passes AI_PROXY_ADVANCED_CLUSTER_REDIS to the plugin server it starts (kong/gateway `env`).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PluginConfig, TargetConfig } from '../../schemas/config';
import { RUNTIME_CLI, shellQuote, startHarness, type Harness } from './gateway-harness';

const PLUGINS_DIR = path.resolve(__dirname, '..', '..', 'plugins');

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
  const sockDir = mkdtempSync(path.join(os.tmpdir(), 'aipa-cl-'));
  const node = shellQuote(process.execPath);
  const cli = shellQuote(RUNTIME_CLI);
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
  return startHarness({
    config,
    admin: false,
    // Only so that the harness keeps plugin servers configured; no route uses it.
    plugins: [{ name: 'probe', priority: 1, phases: ['log'] }],
    env: redisUrl === undefined ? {} : { AI_PROXY_ADVANCED_CLUSTER_REDIS: redisUrl },
    extraSettings: {
      KONG_PLUGINS: 'bundled,ai-proxy-advanced,probe',
      KONG_PLUGINSERVER_NAMES: 'aipa,probe',
      KONG_PLUGINSERVER_AIPA_SOCKET: path.join(sockDir, 'aipa.sock'),
      KONG_PLUGINSERVER_AIPA_START_CMD: `${node} ${cli} -p ${shellQuote(sockDir)} --sock-name aipa.sock -d ${shellQuote(PLUGINS_DIR)}`,
      KONG_PLUGINSERVER_AIPA_QUERY_CMD: `${node} ${cli} -d ${shellQuote(PLUGINS_DIR)} --dump-all-plugins`,
    },
  });
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
