/**
 * The local gateway with ai-proxy-advanced served by the project's plugin server (dist/plugins), one route
 * per plugin config, plus the gateway harness's probe plugin in the log phase so tests read what Kong's log
 * plugins would record (`kong.log.serialize()`, including the `ai.proxy` analytics).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PluginConfig } from '../../schemas/config';
import { RUNTIME_CLI, shellQuote, startHarness, type Harness, type TestPlugin } from './gateway-harness';

const PLUGINS_DIR = path.resolve(__dirname, '..', '..', 'plugins');

export interface EngineRoute {
  path: string;
  config: Omit<PluginConfig, '__plugin_id'>;
  /** The ai-proxy-advanced plugin's id (Kong's analytics log it as `meta.plugin_id`); generated when absent. */
  pluginId?: string;
  /** More plugins on the route, e.g. Kong's file-log, which the local gateway runs itself. */
  plugins?: Array<{ name: string; config: Record<string, unknown> }>;
}

export interface EngineGateway extends Harness {
  /** The probe's log-phase records for a route path, oldest first. */
  serialized(routePath: string): Array<Record<string, unknown>>;
}

/**
 * The local gateway (no Admin API) serving declarative `config`, with the project's plugin server as `aipa` and
 * the harness's probe plugin; `env` reaches the plugin servers it starts. One setup for every gateway test helper.
 */
export function startAipaGateway(config: Record<string, unknown>, env: Record<string, string> = {}, more: TestPlugin[] = []): Promise<Harness> {
  const sockDir = mkdtempSync(path.join(os.tmpdir(), 'aipa-sock-'));
  const node = shellQuote(process.execPath);
  const cli = shellQuote(RUNTIME_CLI);
  const names = ['probe', ...more.map((p) => p.name)].join(',');
  return startHarness({
    config,
    admin: false,
    plugins: [{ name: 'probe', priority: 1, phases: ['log'] }, ...more],
    env,
    extraSettings: {
      KONG_PLUGINS: `bundled,ai-proxy-advanced,${names}`,
      KONG_PLUGINSERVER_NAMES: `aipa,${names}`,
      KONG_PLUGINSERVER_AIPA_SOCKET: path.join(sockDir, 'aipa.sock'),
      KONG_PLUGINSERVER_AIPA_START_CMD: `${node} ${cli} -p ${shellQuote(sockDir)} --sock-name aipa.sock -d ${shellQuote(PLUGINS_DIR)}`,
      KONG_PLUGINSERVER_AIPA_QUERY_CMD: `${node} ${cli} -d ${shellQuote(PLUGINS_DIR)} --dump-all-plugins`,
    },
  });
}

export interface EngineGatewayOptions {
  /** Runs an `authn` test plugin before ai-proxy-advanced that authenticates the consumer named by X-Test-Consumer. */
  authenticate?: boolean;
}

/** The harness's probe plugin in its `authenticate` mode, at key-auth's priority (1250, before ai-proxy-advanced's 770). */
const AUTHN: TestPlugin = { name: 'authn', priority: 1250, phases: ['access'] };

export async function startEngineGateway(routes: EngineRoute[], opts: EngineGatewayOptions = {}): Promise<EngineGateway> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'aipa-out-'));
  const out = path.join(outDir, 'events.jsonl');
  const config = {
    _format_version: '3.0',
    services: [
      {
        name: 'llm',
        // Never called: the plugin answers every request itself.
        url: 'http://127.0.0.1:9',
        routes: routes.map((r, i) => ({
          name: `r${i}`,
          paths: [r.path],
          plugins: [
            ...(opts.authenticate ? [{ name: AUTHN.name, config: { mode: 'authenticate', nested: {} } }] : []),
            { name: 'ai-proxy-advanced', config: r.config, ...(r.pluginId ? { id: r.pluginId } : {}) },
            { name: 'probe', config: { out, nested: {} } },
            ...(r.plugins ?? []),
          ],
        })),
      },
    ],
  };
  const h = await startAipaGateway(config, {}, opts.authenticate ? [AUTHN] : []);
  const harnessOut = h.out;
  return Object.assign(h, {
    out,
    events: () => {
      const { readFileSync, existsSync } = require('node:fs') as typeof import('node:fs');
      if (!existsSync(out)) return [];
      return readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
    },
    serialized(routePath: string) {
      return this.events()
        .filter((e) => e.event === 'log')
        .map((e) => e.serialize as Record<string, unknown>)
        .filter((s) => (s.request as { uri?: string } | undefined)?.uri?.startsWith(routePath) ?? false);
    },
    harnessOut,
  });
}
