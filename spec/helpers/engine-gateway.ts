/**
 * The local gateway with ai-proxy-advanced served by the project's plugin server (dist/plugins), one route
 * per plugin config, plus the gateway harness's probe plugin in the log phase so tests read what Kong's log
 * plugins would record (`kong.log.serialize()`, including the `ai.proxy` analytics).
 */
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { PluginConfig } from '../../schemas/config';
import { RUNTIME_CLI, shellQuote, startHarness, type Harness } from './gateway-harness';

const PLUGINS_DIR = path.resolve(__dirname, '..', '..', 'plugins');

export interface EngineRoute {
  path: string;
  config: Omit<PluginConfig, '__plugin_id'>;
}

export interface EngineGateway extends Harness {
  /** The probe's log-phase records for a route path, oldest first. */
  serialized(routePath: string): Array<Record<string, unknown>>;
}

export interface EngineGatewayOptions {
  /** Runs an `authn` test plugin before ai-proxy-advanced that authenticates the consumer named by X-Test-Consumer. */
  authenticate?: boolean;
}

export async function startEngineGateway(routes: EngineRoute[], opts: EngineGatewayOptions = {}): Promise<EngineGateway> {
  const outDir = mkdtempSync(path.join(os.tmpdir(), 'aipa-out-'));
  const out = path.join(outDir, 'events.jsonl');
  const sockDir = mkdtempSync(path.join(os.tmpdir(), 'aipa-sock-'));
  const node = shellQuote(process.execPath);
  const cli = shellQuote(RUNTIME_CLI);
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
            ...(opts.authenticate ? [{ name: 'authn', config: { mode: 'authenticate', nested: {} } }] : []),
            { name: 'ai-proxy-advanced', config: r.config },
            { name: 'probe', config: { out, nested: {} } },
          ],
        })),
      },
    ],
  };
  const h = await startHarness({
    config,
    admin: false,
    plugins: [{ name: 'probe', priority: 1, phases: ['log'] }, ...(opts.authenticate ? [{ name: 'authn', priority: 1250, phases: ['access' as const] }] : [])],
    extraSettings: {
      KONG_PLUGINS: `bundled,ai-proxy-advanced,probe${opts.authenticate ? ',authn' : ''}`,
      KONG_PLUGINSERVER_NAMES: `aipa,probe${opts.authenticate ? ',authn' : ''}`,
      KONG_PLUGINSERVER_AIPA_SOCKET: path.join(sockDir, 'aipa.sock'),
      KONG_PLUGINSERVER_AIPA_START_CMD: `${node} ${cli} -p ${shellQuote(sockDir)} --sock-name aipa.sock -d ${shellQuote(PLUGINS_DIR)}`,
      KONG_PLUGINSERVER_AIPA_QUERY_CMD: `${node} ${cli} -d ${shellQuote(PLUGINS_DIR)} --dump-all-plugins`,
    },
  });
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
