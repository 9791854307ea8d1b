/**
 * GET /metrics on the Admin API when the prometheus plugin is enabled (Kong: kong/plugins/prometheus/api.lua):
 * the gateway's prometheus plugin metrics, plus, when the plugin server exposes its own
 * (AI_PROXY_ADVANCED_METRICS_PORT in the gateway's environment, which its plugin servers inherit), the
 * balancer metrics only it knows (`kong_ai_proxy_advanced_*`: failovers, circuit states). Its `kong_ai_llm_*`
 * are left out here: the gateway's prometheus plugin already counts those from the log entries.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { request } from 'undici';
import type { PluginCatalog } from '../plugin-catalog';
import type { NativeLogPlugins } from './index';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** The `kong_ai_proxy_advanced_*` families (HELP, TYPE and samples) of an exposition text. */
export function balancerFamilies(text: string): string {
  return text
    .split('\n')
    .filter((l) => /^(# (HELP|TYPE) )?kong_ai_proxy_advanced_/.test(l))
    .join('\n');
}

async function pluginServerMetrics(env: NodeJS.ProcessEnv): Promise<string> {
  const port = env.AI_PROXY_ADVANCED_METRICS_PORT?.trim();
  if (!port || !/^\d+$/.test(port) || Number(port) === 0) return '';
  const host = env.AI_PROXY_ADVANCED_METRICS_HOST?.trim() || '127.0.0.1';
  try {
    const res = await request(`http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`, { headersTimeout: 2000, bodyTimeout: 2000 });
    const text = await res.body.text();
    return res.statusCode === 200 ? balancerFamilies(text) : '';
  } catch {
    return '';
  }
}

/** True when it answered the request. */
export function serveMetrics(req: IncomingMessage, res: ServerResponse, catalog: PluginCatalog, native: NativeLogPlugins, env: NodeJS.ProcessEnv): boolean {
  if ((req.url ?? '').split('?')[0] !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  if (!catalog.isEnabled('prometheus')) return false;
  void Promise.all([native.metrics(), pluginServerMetrics(env)]).then(
    ([own, balancer]) => {
      const text = balancer === '' ? own : `${own}${balancer}\n`;
      res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text) });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (err: Error) => {
      res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ message: `metrics: ${err.message}` }));
    },
  );
  return true;
}
