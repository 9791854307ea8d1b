/**
 * The benchmarks' one chat request and one ai-proxy-advanced config, in every form they need: the client body,
 * the headers Kong would hand the plugin, the plugin config (for in-process and plugin-server runs) and the
 * local gateway's declarative YAML (written from the same objects), and the bench's upstream as a child process.
 * Shared by bench/engine.ts, engine-rpc.ts, engine-instr.ts, busy-poll.ts and cluster.ts, so that they all
 * measure the same request.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { EXIT } from '../../kong/rpc/event';
import { freePort, ROOT, startNode, waitForPort, type Child } from './procs';

export const CHAT = JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is 1 + 1?' }] });
export const CHAT_BODY = Buffer.from(CHAT);
/** What kong.request.get_headers returns for the bench client's request (must_fix: every value an array). */
export const CHAT_HEADERS: Record<string, string[]> = {
  host: ['127.0.0.1:8000'],
  'content-type': ['application/json'],
  'content-length': [String(CHAT_BODY.length)],
  'user-agent': ['undici'],
  accept: ['*/*'],
  connection: ['keep-alive'],
};

export interface ChatTargetOptions {
  /** `logging.log_statistics` (with costs, so that cost is computed): the ai.proxy block and metrics per request. */
  stats?: boolean;
  /** The model name (default gpt-4o-mini). */
  model?: string;
}

/** One OpenAI target on the bench upstream. */
export function chatTarget(upPort: number, o: ChatTargetOptions = {}): Record<string, unknown> {
  const options: Record<string, unknown> = { upstream_url: `http://127.0.0.1:${upPort}/v1/chat/completions` };
  if (o.stats) Object.assign(options, { input_cost: 1, output_cost: 2 });
  const t: Record<string, unknown> = {
    route_type: 'llm/v1/chat',
    auth: { header_name: 'Authorization', header_value: 'Bearer sk-bench' },
    model: { provider: 'openai', name: o.model ?? 'gpt-4o-mini', options },
  };
  if (o.stats) t.logging = { log_statistics: true };
  return t;
}

/** The plugin config with one target (the form StartInstance and the in-process engine take). */
export function benchChatConfig(upPort: number, stats = false, pluginId = 'bench'): Record<string, unknown> {
  return { __plugin_id: pluginId, targets: [chatTarget(upPort, { stats })] };
}

export interface GatewayRoute {
  /** Route and service name. */
  name: string;
  paths: string[];
  /** ai-proxy-advanced's config on the route; absent: a plain route to `url`. */
  plugin?: Record<string, unknown>;
  /** The plugin on the route (default ai-proxy-advanced). */
  pluginName?: string;
  /** The plugin entity's id (fixed ids let DB-less nodes share balancer state). */
  pluginId?: string;
  /** The service URL (default a closed port: the plugin never proxies through it). */
  url?: string;
}

/** The local gateway's declarative config: one service per route. */
export function gatewayYaml(routes: readonly GatewayRoute[]): string {
  return stringify(
    {
      _format_version: '3.0',
      services: routes.map((r) => ({
        name: r.name,
        url: r.url ?? 'http://127.0.0.1:9',
        routes: [
          {
            name: r.name,
            paths: r.paths,
            ...(r.plugin ? { plugins: [{ name: r.pluginName ?? 'ai-proxy-advanced', ...(r.pluginId ? { id: r.pluginId } : {}), config: r.plugin }] } : {}),
          },
        ],
      })),
    },
    { lineWidth: 0 },
  );
}

/** Writes `gatewayYaml(routes)` to `<dir>/kong.yml`; returns the file's path. */
export function writeGatewayYaml(dir: string, routes: readonly GatewayRoute[]): string {
  const file = path.join(dir, 'kong.yml');
  writeFileSync(file, gatewayYaml(routes));
  return file;
}

/** The one chat route through ai-proxy-advanced at /v1/chat/completions. */
export function chatRoute(upPort: number, o: ChatTargetOptions = {}): GatewayRoute {
  return { name: 'chat', paths: ['/v1/chat/completions'], plugin: { targets: [chatTarget(upPort, o)] } };
}

/** The bench's OpenAI-style upstream (bench/lib/engine-upstream.ts) in its own process, listening. */
export async function startEngineUpstream(): Promise<{ port: number; child: Child }> {
  const port = await freePort();
  const child = startNode('upstream', [path.join(ROOT, 'dist', 'bench', 'lib', 'engine-upstream.js')], { PORT: String(port) });
  await waitForPort(port, 'upstream', child);
  return { port, child };
}

/**
 * Kong's side of the PDK for the chat request, for benchmarks that play Kong over the plugin server's socket
 * (kong/rpc/event.ts runEvent): answers from memory; `failed()` counts exits that were not a 200.
 */
export function chatPdk(): { pdk: (method: string, args: unknown[]) => unknown; failed(): number } {
  const answers: Record<string, unknown> = {
    'kong.request.get_raw_body': CHAT_BODY,
    'kong.request.get_headers': CHAT_HEADERS,
    'kong.request.get_path_with_query': '/v1/chat/completions',
    'kong.request.get_method': 'POST',
    'kong.router.get_service': { id: 'bench' },
  };
  let failed = 0;
  return {
    pdk: (method, args) => {
      if (method === 'kong.response.exit') {
        if (args[0] !== 200) failed++;
        return EXIT;
      }
      return answers[method];
    },
    failed: () => failed,
  };
}
