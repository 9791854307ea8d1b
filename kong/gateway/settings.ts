/**
 * Gateway settings read the way Kong reads them (kong/conf_loader/init.lua): an optional kong.conf file
 * (`key = value`, `#` comments) overridden by `KONG_<KEY>` environment variables, then defaults. Only the keys
 * the local gateway acts on are interpreted; a setting it cannot honour (database, ssl listeners) fails start-up
 * or is reported, never silently ignored.
 *
 * Where the local gateway's defaults differ from Kong's, it is because there is no /usr/local/kong here:
 * prefix defaults to `<project>/.kong-prefix`, the declarative config to `<project>/kong/kong.yml`, the proxy
 * listens on 0.0.0.0:8000 (plain HTTP only) and the default plugin server is the project's own runtime.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEFAULT_BUSY_POLL_US } from '../rpc/busy-poll';
import { hostName } from './admin/origin';

export interface ListenAddress {
  host: string;
  port: number;
}

export interface PluginServerSettings {
  name: string;
  socket: string;
  startCmd: string | undefined;
  queryCmd: string;
}

export interface Settings {
  prefix: string;
  proxyListen: ListenAddress[];
  adminListen: ListenAddress[];
  declarativeConfig: string | undefined;
  /** KONG_DECLARATIVE_CONFIG_STRING: the config itself (YAML or JSON); wins over declarative_config, as in Kong. */
  declarativeConfigString: string | undefined;
  plugins: string[];
  pluginServers: PluginServerSettings[];
  workerProcesses: number;
  logLevel: string;
  /** Kong's `headers` setting, lower-cased (server_tokens, latency_tokens, X-Kong-Request-Id, …). */
  headers: Set<string>;
  /** nginx client_body_buffer_size (KONG_NGINX_HTTP_CLIENT_BODY_BUFFER_SIZE, default 8k): larger bodies are
   * "spooled to a file", which kong.request.get_raw_body() without a size argument does not read. */
  clientBodyBufferSize: number;
  /** nginx client_max_body_size of the proxy (KONG_NGINX_HTTP_CLIENT_MAX_BODY_SIZE, Kong's default 0 = no
   * limit): a larger request body is refused with 413 before it is read. */
  clientMaxBodySize: number;
  /** nginx client_max_body_size of the Admin API (KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE, default 10m). */
  adminClientMaxBodySize: number;
  /** conf_loader's admin_gui_origin: scheme://host[:port] of each admin_gui_url, lower-cased; the only web
   * origins allowed to write through the Admin API (admin/origin.ts). */
  adminGuiOrigins: string[];
  /** admin_allowed_hosts (ours, not Kong's) and the host of Kong's admin_gui_api_url: Host names, lower-cased, the
   * Admin API answers to besides loopback, admin_listen's and admin_gui_url's (admin/origin.ts hostAllowed: DNS rebinding). */
  adminAllowedHosts: string[];
  /**
   * pluginserver_busy_poll_us (ours, not Kong's; default DEFAULT_BUSY_POLL_US = 0, off): how long a worker keeps polling for a
   * plugin server's reply before sleeping until it arrives (kong/rpc/busy-poll.ts, opt-in: it costs a core under load).
   */
  pluginServerBusyPollUs: number;
  /** The file the settings came from, for error messages. */
  confPath: string | undefined;
}

export class SettingsError extends Error {
  override name = 'SettingsError';
}

/** The project root: dist/kong/gateway/settings.js → three levels up from dist. */
export const PROJECT_ROOT = path.resolve(__dirname, '..', '..', '..');

/** Parses kong.conf text (conf_loader: `key = value`, `#` starts a comment unless escaped as `\#`). */
export function parseKongConf(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|[^\\])#.*$/, '$1').replace(/\\#/g, '#').trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim().toLowerCase();
    out[key] = line.slice(eq + 1).trim();
  }
  return out;
}

/** `0.0.0.0:8000 reuseport, 0.0.0.0:8443 ssl` → the plain-HTTP addresses; `off` → none. */
export function parseListen(key: string, value: string, warn: (msg: string) => void): ListenAddress[] {
  if (value.trim() === 'off') return [];
  const out: ListenAddress[] = [];
  for (const entry of value.split(',').map((s) => s.trim()).filter(Boolean)) {
    const [addr = '', ...flags] = entry.split(/\s+/);
    if (flags.includes('ssl') || flags.includes('http2')) {
      warn(`${key}: '${entry}' skipped: TLS/HTTP2 listeners are not supported by the local gateway`);
      continue;
    }
    const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(addr);
    if (!m) throw new SettingsError(`${key}: invalid listen address '${addr}' (expected host:port)`);
    const port = Number(m[2]);
    if (port > 65535) throw new SettingsError(`${key}: invalid port in '${addr}'`);
    out.push({ host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port });
  }
  return out;
}

function list(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A word for /bin/sh: kept as is when plainly safe, single-quoted otherwise (also used by bench/stream.ts). */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The project's own runtime, run with the node that runs the gateway. */
export function defaultPluginServerCommands(prefix: string, name: string, busyPollUs: number): { start: string; query: string } {
  const cli = path.join(PROJECT_ROOT, 'dist', 'kong', 'pluginserver', 'cli.js');
  const node = shellQuote(process.execPath);
  return {
    start: `${node} ${shellQuote(cli)} -p ${shellQuote(prefix)} --sock-name ${shellQuote(`${name}.socket`)} --busy-poll-us ${busyPollUs} -v`,
    query: `${node} ${shellQuote(cli)} --dump-all-plugins`,
  };
}

export interface LoadSettingsOptions {
  env?: NodeJS.ProcessEnv;
  confPath?: string;
  cwd?: string;
  warn?: (msg: string) => void;
}

export function loadSettings(opts: LoadSettingsOptions = {}): Settings {
  const env = opts.env ?? process.env;
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`[warn] ${m}\n`));
  const cwd = opts.cwd ?? process.cwd();
  let conf: Record<string, string> = {};
  const confPath = opts.confPath ?? env.KONG_CONF;
  if (confPath !== undefined) {
    let text: string;
    try {
      text = readFileSync(path.resolve(cwd, confPath), 'utf8');
    } catch (err) {
      throw new SettingsError(`could not read configuration file ${confPath}: ${(err as Error).message}`);
    }
    conf = parseKongConf(text);
  }
  const get = (key: string): string | undefined => {
    const e = env[`KONG_${key.toUpperCase()}`];
    if (e !== undefined) return e.trim();
    return conf[key];
  };

  const database = get('database') ?? 'off';
  if (database !== 'off')
    throw new SettingsError(`database = ${database} is not supported: the local gateway runs DB-less (database = off)`);

  const prefix = path.resolve(cwd, get('prefix') ?? path.join(PROJECT_ROOT, '.kong-prefix'));
  const declarative = get('declarative_config');
  const declarativeConfig =
    declarative === undefined ? path.join(PROJECT_ROOT, 'kong', 'kong.yml') : declarative === '' ? undefined : path.resolve(cwd, declarative);

  const busyRaw = get('pluginserver_busy_poll_us') ?? String(DEFAULT_BUSY_POLL_US);
  const pluginServerBusyPollUs = Number(busyRaw);
  if (!/^\d+$/.test(busyRaw) || pluginServerBusyPollUs > 1_000_000)
    throw new SettingsError(`pluginserver_busy_poll_us: expected microseconds from 0 to 1000000, got '${busyRaw}'`);

  const names = get('pluginserver_names');
  const serverNames = names === undefined ? ['js'] : list(names);
  const pluginServers = serverNames.map((name): PluginServerSettings => {
    const key = `pluginserver_${name.replace(/-/g, '_')}`;
    const defaults = defaultPluginServerCommands(prefix, name, pluginServerBusyPollUs);
    const isDefault = names === undefined;
    const queryCmd = get(`${key}_query_cmd`) ?? (isDefault ? defaults.query : undefined);
    // Kong 3.9+ (conf_loader): a missing query command is a configuration error.
    if (queryCmd === undefined) throw new SettingsError(`query_command undefined for pluginserver ${name}`);
    return {
      name,
      socket: path.resolve(cwd, get(`${key}_socket`) ?? path.join(prefix, `${name}.socket`)),
      startCmd: get(`${key}_start_cmd`) ?? (isDefault ? defaults.start : undefined),
      queryCmd,
    };
  });

  const workersRaw = get('nginx_worker_processes') ?? 'auto';
  const workerProcesses = workersRaw === 'auto' ? os.availableParallelism() : Number(workersRaw);
  if (!Number.isInteger(workerProcesses) || workerProcesses < 1)
    throw new SettingsError(`nginx_worker_processes: expected 'auto' or a positive integer, got '${workersRaw}'`);

  const headers = new Set(list(get('headers') ?? 'server_tokens, latency_tokens, X-Kong-Request-Id').map((h) => h.toLowerCase()));

  const bufferRaw = get('nginx_http_client_body_buffer_size') ?? '8k';
  const clientBodyBufferSize = parseSize(bufferRaw);
  if (clientBodyBufferSize === undefined) throw new SettingsError(`nginx_http_client_body_buffer_size: invalid size '${bufferRaw}'`);

  const size = (key: string, dflt: string): number => {
    const raw = get(key) ?? dflt;
    const v = parseSize(raw);
    if (v === undefined) throw new SettingsError(`${key}: invalid size '${raw}'`);
    return v;
  };
  const adminGuiOrigins = list(get('admin_gui_url') ?? '').map((u) => {
    let parsed: URL;
    try {
      parsed = new URL(u);
    } catch {
      throw new SettingsError(`admin_gui_url: invalid URL '${u}'`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SettingsError(`admin_gui_url: '${u}' must be an http or https URL`);
    return parsed.origin.toLowerCase();
  });

  const adminAllowedHosts = list(get('admin_allowed_hosts') ?? '').map((h) => {
    const name = hostName(h);
    if (name === undefined || !/^\[[^\]]+\]$|^[^:]+$/.test(h)) throw new SettingsError(`admin_allowed_hosts: '${h}' is not a host name or IP address (no port, no scheme)`);
    return name;
  });
  // Kong's admin_gui_api_url: where Kong Manager reaches the Admin API (a URL, or its hierarchical part: host[:port][/path]).
  // The browser then sends that host as Host, so it is one the Admin API answers to.
  const guiApiUrl = get('admin_gui_api_url');
  if (guiApiUrl) {
    let parsed: URL;
    try {
      parsed = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(guiApiUrl) ? guiApiUrl : `http://${guiApiUrl}`);
    } catch {
      throw new SettingsError(`admin_gui_api_url: invalid URL '${guiApiUrl}'`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new SettingsError(`admin_gui_api_url: '${guiApiUrl}' must be an http or https URL`);
    const name = hostName(parsed.host);
    if (name !== undefined && !adminAllowedHosts.includes(name)) adminAllowedHosts.push(name);
  }
  const adminListen = parseListen('admin_listen', get('admin_listen') ?? '127.0.0.1:8001', warn);
  if (adminAllowedHosts.length === 0 && adminGuiOrigins.length === 0 && adminListen.some((l) => l.host === '0.0.0.0' || l.host === '::')) {
    warn(
      'admin_listen: the Admin API listens on every interface but answers only to IP addresses and loopback names in Host ' +
        '(DNS rebinding, kong/gateway/README.md); list the DNS names it is reached by in admin_allowed_hosts',
    );
  }

  return {
    prefix,
    clientBodyBufferSize,
    clientMaxBodySize: size('nginx_http_client_max_body_size', '0'),
    adminClientMaxBodySize: size('nginx_admin_client_max_body_size', '10m'),
    adminGuiOrigins,
    adminAllowedHosts,
    pluginServerBusyPollUs,
    proxyListen: parseListen('proxy_listen', get('proxy_listen') ?? '0.0.0.0:8000', warn),
    adminListen,
    declarativeConfig,
    declarativeConfigString: get('declarative_config_string') || undefined,
    plugins: list(get('plugins') ?? 'bundled,ai-proxy-advanced'),
    pluginServers,
    workerProcesses,
    logLevel: get('log_level') ?? 'notice',
    headers,
    confPath,
  };
}

/** nginx sizes: `8k`, `1m`, `16384`. */
export function parseSize(v: string): number | undefined {
  const m = /^(\d+)([kKmMgG]?)$/.exec(v.trim());
  if (!m) return undefined;
  const unit = (m[2] ?? '').toLowerCase();
  return Number(m[1]) * (unit === 'k' ? 1024 : unit === 'm' ? 1024 ** 2 : unit === 'g' ? 1024 ** 3 : 1);
}

/** Kong's `headers` groups: server_tokens = Server + Via, latency_tokens = the three latency headers. */
export function headerEnabled(settings: Pick<Settings, 'headers'>, header: string): boolean {
  const h = header.toLowerCase();
  if (settings.headers.has('off')) return false;
  if (settings.headers.has(h)) return true;
  if ((h === 'server' || h === 'via') && settings.headers.has('server_tokens')) return true;
  if (h.startsWith('x-kong-') && h.endsWith('-latency') && settings.headers.has('latency_tokens')) return true;
  return false;
}
