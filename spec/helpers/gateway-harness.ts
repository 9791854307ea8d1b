/**
 * Starts the local gateway for a test: a temp prefix, one plugin server per test plugin (Kong 3.9+ registers
 * one plugin per pluginserver), the project's runtime (dist/kong/pluginserver/cli.js) or the stock
 * kong-js-pluginserver, free ports (listen on port 0), and a declarative config written to a file.
 * Test plugins are written as plain kong-pdk .js modules from the `probePlugin` template.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { Gateway, type GatewayOptions } from '../../kong/gateway/gateway';
import { createLogger } from '../../kong/gateway/log';
import { loadSettings, PROJECT_ROOT, type PluginServerSettings } from '../../kong/gateway/settings';

export const RUNTIME_CLI = path.join(PROJECT_ROOT, 'dist', 'kong', 'pluginserver', 'cli.js');
export const STOCK_CLI = path.join(PROJECT_ROOT, 'node_modules', 'kong-pdk', 'bin', 'kong-js-pluginserver');

export interface TestPlugin {
  name: string;
  priority: number;
  /** Phase handlers to include (default access + log). */
  phases?: Array<'rewrite' | 'access' | 'response' | 'log'>;
}

/**
 * A configurable kong-pdk plugin. config.mode picks what access does; every handler appends what it saw as a
 * JSON line to config.out, so tests can observe phases that run after the response.
 */
export function probePlugin(p: TestPlugin): string {
  const phases = p.phases ?? ['access', 'log'];
  const method = (phase: string, body: string): string => (phases.includes(phase as never) ? `  async ${phase}(kong) {\n${body}\n  }\n` : '');
  return `'use strict';
const fs = require('fs');
const NAME = ${JSON.stringify(p.name)};
function record(config, obj) { if (config.out) fs.appendFileSync(config.out, JSON.stringify({ plugin: NAME, ...obj }) + '\\n'); }
class Plugin {
  constructor(config) {
    if (config.value === 'explode-on-start') throw new Error('refusing to start');
    this.config = config; record(config, { event: 'start', seq: config.__seq__, plugin_id: config.__plugin_id, route_id: config.route_id, service_id: config.service_id, conf: config }); }
  close() { record(this.config, { event: 'close', seq: this.config.__seq__, pid: process.pid }); }
${method('rewrite', `    record(this.config, { event: 'rewrite' });
    if (this.config.mode === 'rewrite-exit') { await kong.response.exit(401, { message: 'rewrite says no' }); return; }`)}
${method('access', `    const c = this.config;
    record(c, { event: 'access', pid: process.pid, seq: c.__seq__ });
    switch (c.mode) {
      case 'exit': {
        const body = await kong.request.get_raw_body();
        const seen = {
          plugin: NAME, seq: c.__seq__, method: await kong.request.get_method(), path: await kong.request.get_path(),
          query: await kong.request.get_query(), header: await kong.request.get_header('x-test'),
          body: Buffer.isBuffer(body) ? body.toString('utf8') : typeof body, captures: await kong.request.get_uri_captures(),
          route: (await kong.router.get_route()).name, shared: await kong.ctx.shared.get('from'),
        };
        await kong.response.set_header('X-Before-Exit', 'kept');
        await kong.response.exit(c.status, seen, { 'X-Probe': NAME });
        return;
      }
      case 'pass': {
        await kong.service.request.set_header('X-Probe-' + NAME, 'yes');
        await kong.response.set_header('X-Resp-' + NAME, 'yes');
        await kong.log.set_serialize_value('probe.' + NAME, c.value || 'set');
        await kong.ctx.shared.set('from', NAME);
        return;
      }
      case 'rewrite-upstream': {
        await kong.service.set_target('127.0.0.1', c.port);
        await kong.service.request.set_path(c.path);
        await kong.service.request.set_raw_query(c.value || 'rewritten=1');
        await kong.service.request.set_method('PUT');
        await kong.service.request.set_raw_body('replaced body');
        await kong.service.request.clear_header('x-remove-me');
        return;
      }
      case 'phase-error': { await kong.log.serialize(); record(c, { event: 'unreachable' }); return; }
      case 'bad-args': { await kong.response.exit('nope'); return; }
      case 'unknown-method': {
        const r = await kong.no.such.method('x');
        await kong.response.exit(200, { result: r === undefined ? 'undefined' : r });
        return;
      }
      case 'error': { await kong.response.error(403, 'go away'); return; }
      case 'body-max': {
        const b = await kong.request.get_raw_body(c.max_body);
        await kong.response.exit(200, { size: Buffer.isBuffer(b) ? b.length : typeof b, head: Buffer.isBuffer(b) ? b.subarray(0, 8).toString('utf8') : '' });
        return;
      }
      case 'authenticate': {
        // A stand-in for an auth plugin (key-auth and the like): the consumer named by X-Test-Consumer.
        const u = await kong.request.get_header('x-test-consumer');
        if (u) await kong.client.authenticate({ id: 'id-' + u, username: u, custom_id: 'custom-' + u }, null);
        return;
      }
      case 'throw': { throw new Error('plugin bug'); }
      case 'slow': { await new Promise((r) => setTimeout(r, c.sleep)); await kong.response.exit(200, { slept: c.sleep }); return; }
      default: return;
    }`)}
${method('response', `    const c = this.config;
    const status = await kong.service.response.get_status();
    const raw = await kong.service.response.get_raw_body();
    record(c, { event: 'response', status });
    if (c.mode === 'response-exit') { await kong.response.exit(status, 'wrapped:' + raw.toString('utf8'), { 'X-Wrapped': 'yes' }); return; }
    await kong.response.set_header('X-Response-Phase', String(status));`)}
${method('log', `    const c = this.config;
    const ser = JSON.parse(await kong.log.serialize());
    record(c, { event: 'log', status: await kong.response.get_status(), header: await kong.request.get_header('x-test'),
      shared: await kong.ctx.shared.get('from'), serialize: ser, resp_header: await kong.response.get_header('x-probe') });`)}
}
module.exports = {
  Plugin, Name: NAME, Version: '1.2.3', Priority: ${p.priority},
  Schema: [
    { mode: { type: 'string', default: 'none', one_of: ['none', 'exit', 'pass', 'authenticate', 'rewrite-upstream', 'phase-error', 'bad-args', 'unknown-method', 'error', 'throw', 'slow', 'response-exit', 'rewrite-exit', 'body-max'] } },
    { max_body: { type: 'integer' } },
    { status: { type: 'integer', default: 200, between: [100, 599] } },
    { out: { type: 'string' } },
    { value: { type: 'string' } },
    { secret: { type: 'string', referenceable: true } },
    { port: { type: 'integer' } },
    { path: { type: 'string' } },
    { sleep: { type: 'integer', default: 0 } },
    { tags_list: { type: 'array', elements: { type: 'string' }, default: [] } },
    { nested: { type: 'record', required: true, fields: [ { level: { type: 'integer', default: 3, between: [1, 5] } }, { label: { type: 'string', len_min: 2 } } ] } },
  ],
};
`;
}

export interface HarnessOptions {
  plugins?: TestPlugin[];
  config?: Record<string, unknown> | undefined;
  /** Use the stock kong-js-pluginserver instead of the project's runtime. */
  stock?: boolean;
  workers?: number;
  env?: NodeJS.ProcessEnv;
  admin?: boolean;
  gatewayOptions?: Partial<GatewayOptions>;
  extraSettings?: Record<string, string>;
}

export interface Harness {
  gw: Gateway;
  dir: string;
  proxy: string;
  admin: string;
  logs: string[];
  out: string;
  /** The JSON lines test plugins appended to `out`. */
  events(): Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function pluginServerFor(dir: string, p: TestPlugin, stock: boolean): PluginServerSettings {
  const pdir = path.join(dir, 'plugins', p.name);
  mkdirSync(pdir, { recursive: true });
  writeFileSync(path.join(pdir, `${p.name}.js`), probePlugin(p));
  const node = shellQuote(process.execPath);
  const cli = shellQuote(stock ? STOCK_CLI : RUNTIME_CLI);
  const sock = `${p.name}.sock`;
  return {
    name: p.name,
    socket: path.join(dir, sock),
    startCmd: `${node} ${cli} -p ${shellQuote(dir)} --sock-name ${sock} -d ${shellQuote(pdir)}`,
    queryCmd: `${node} ${cli} -d ${shellQuote(pdir)} --dump-all-plugins`,
  };
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  // Unix socket paths must stay short: use /tmp directly.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'gw-'));
  const plugins = opts.plugins ?? [];
  const out = path.join(dir, 'events.jsonl');
  const servers = plugins.map((p) => pluginServerFor(dir, p, opts.stock === true));
  let declarative: string | undefined;
  if (opts.config) {
    declarative = path.join(dir, 'kong.yml');
    // '__OUT__' in the config stands for the events file of this harness.
    writeFileSync(declarative, YAML.stringify(opts.config).replaceAll('__OUT__', out));
  }
  const env: NodeJS.ProcessEnv = {
    KONG_PREFIX: dir,
    KONG_PROXY_LISTEN: '127.0.0.1:0',
    KONG_ADMIN_LISTEN: opts.admin === false ? 'off' : '127.0.0.1:0',
    KONG_DECLARATIVE_CONFIG: declarative ?? '',
    KONG_PLUGINS: ['bundled', ...plugins.map((p) => p.name)].join(','),
    KONG_NGINX_WORKER_PROCESSES: String(opts.workers ?? 1),
    KONG_PLUGINSERVER_NAMES: servers.map((s) => s.name).join(','),
  };
  for (const s of servers) {
    const key = `KONG_PLUGINSERVER_${s.name.replace(/-/g, '_').toUpperCase()}`;
    env[`${key}_SOCKET`] = s.socket;
    env[`${key}_START_CMD`] = s.startCmd;
    env[`${key}_QUERY_CMD`] = s.queryCmd;
  }
  Object.assign(env, opts.extraSettings);
  const logs: string[] = [];
  const settings = loadSettings({ env, cwd: dir, warn: (m) => logs.push(`[settings] ${m}`) });
  if (plugins.length === 0) settings.pluginServers.length = 0;
  const gw = await Gateway.start({
    settings,
    env: { ...process.env, ...opts.env },
    logger: createLogger('debug', (l) => logs.push(l)),
    rpcReadTimeoutMs: 5000,
    respawnIntervalMs: 200,
    // Teardown after a test that left a request hanging must not wait the production 10 s drain.
    drainMs: 1000,
    ...opts.gatewayOptions,
  }).catch((e: Error) => {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  });
  const p = gw.proxyAddresses[0];
  const a = gw.adminAddresses[0];
  return {
    gw,
    dir,
    out,
    logs,
    proxy: p ? `http://127.0.0.1:${p.port}` : '',
    admin: a ? `http://127.0.0.1:${a.port}` : '',
    events: () =>
      existsSync(out)
        ? readFileSync(out, 'utf8')
            .split('\n')
            .filter(Boolean)
            .map((l) => JSON.parse(l) as Record<string, unknown>)
        : [],
    close: async () => {
      await gw.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Polls `fn` until it returns a truthy value (bounded: 100 tries × 20 ms by default). */
export async function eventually<T>(fn: () => T | undefined | false, tries = 150, stepMs = 20): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  throw new Error('condition not met in time');
}
