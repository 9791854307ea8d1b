/**
 * nginx + ngx_lua playing Kong in front of the plugin servers (bench/nginx-kong/: the nginx.conf template and
 * the Lua bridge kong_bridge.lua): finding nginx, the lua module and the Lua libraries Kong's RPC uses; the
 * StartInstance configs Kong would hand, built by the local gateway's own code from the same declarative YAML
 * (query commands → catalog → buildSnapshot → PluginsIterator: schema defaults filled, __plugin_id, __seq__, …);
 * rendering the conf (a bridge location per plugin route, a keep-alive proxy_pass per plain route); starting
 * nginx with a deadline and stopping it (master and workers). Used by bench/engine.ts and
 * spec/bench/nginx-kong.test.ts.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { queryCatalog } from '../../kong/gateway/declarative/check';
import { buildSnapshot, parseDeclarativeText } from '../../kong/gateway/declarative/load';
import { createLogger } from '../../kong/gateway/log';
import { PluginsIterator } from '../../kong/gateway/plugins-iterator';
import { loadSettings } from '../../kong/gateway/settings';
import { Store } from '../../kong/gateway/store';
import { freePort, waitForPort } from './procs';

/** Where the bridge's sources are (the template and kong_bridge.lua are not compiled: read from the checkout). */
export const NGINX_KONG_DIR = path.resolve(__dirname, '..', '..', '..', 'bench', 'nginx-kong');

/** What Debian's `apt-get install nginx-light libnginx-mod-http-lua lua-messagepack lua-cjson` provides. */
export const NGINX_INSTALL_HINT = 'apt-get install -y nginx-light libnginx-mod-http-lua lua-messagepack lua-cjson';

export interface NginxFound {
  nginx: string;
  modules: string;
}

const LUA_DIRS = ['/usr/share/lua/5.1', '/usr/local/share/lua/5.1'];
const LUA_CDIRS = ['/usr/lib/x86_64-linux-gnu/lua/5.1', '/usr/lib/aarch64-linux-gnu/lua/5.1', '/usr/local/lib/lua/5.1', '/usr/lib/lua/5.1'];

/**
 * nginx, its ndk + lua modules, MessagePack.lua (Kong's codec) and cjson (Kong's JSON, for StartInstance's setup
 * and kong.log.serialize); or what is missing. BENCH_NGINX / BENCH_NGINX_MODULES override the paths.
 */
export function findNginx(): NginxFound | { missing: string } {
  const which = spawnSync('sh', ['-c', 'command -v nginx || ls /usr/sbin/nginx'], { encoding: 'utf8' });
  const nginx = process.env.BENCH_NGINX ?? which.stdout.trim().split('\n')[0] ?? '';
  if (!nginx || !existsSync(nginx)) return { missing: 'nginx' };
  const modules = process.env.BENCH_NGINX_MODULES ?? '/usr/lib/nginx/modules';
  for (const m of ['ndk_http_module.so', 'ngx_http_lua_module.so']) if (!existsSync(path.join(modules, m))) return { missing: path.join(modules, m) };
  if (!LUA_DIRS.some((d) => existsSync(path.join(d, 'MessagePack.lua')))) return { missing: 'MessagePack.lua (lua-messagepack)' };
  if (!LUA_CDIRS.some((d) => existsSync(path.join(d, 'cjson.so')))) return { missing: 'cjson.so (lua-cjson)' };
  return { nginx, modules };
}

/** One plugin route as the Lua bridge takes it (init's setup.plugins[key]). */
export interface BridgePlugin {
  name: string;
  plugin_id: string;
  seq: number;
  /** cjson.encode(conf) as Kong hands it to StartInstance (JSON.stringify keeps empty arrays as arrays). */
  config_json: string;
  socket: string;
  phases: string[];
  /** The route's service, as kong.router.get_service() returns it and as the router leaves the balancer data. */
  service: BridgeService;
  /** The route path this location serves, and whether Kong strips it from the upstream uri (strip_path). */
  route_path: string;
  strip_path: boolean;
}

export interface BridgeService {
  id: string;
  name?: string;
  protocol: string;
  host: string;
  port: number;
  path?: string;
}

export interface NginxRoute {
  /** The nginx location (prefix match, as the gateway's route paths). */
  path: string;
  /** A plugin route: the bridge runs it in access (and log); else `url` is proxied with keep-alive. */
  plugin?: BridgePlugin;
  url?: string;
}

/**
 * The routes of a declarative YAML as nginx will serve them, each plugin route with the conf the local gateway
 * would hand to StartInstance. `env` is the gateway's (KONG_PREFIX, KONG_PLUGINS, KONG_PLUGINSERVER_*): the plugin
 * servers' query commands run here with it, so their Phases are those of the servers the gateway runs.
 */
export async function nginxRoutes(yamlText: string, env: NodeJS.ProcessEnv): Promise<NginxRoute[]> {
  const logger = createLogger('error');
  const settings = loadSettings({ env, warn: () => undefined });
  // The query commands run through the shell with this process's environment (plugin-servers/process.ts):
  // the switches that change a plugin's Phases (AI_PROXY_ADVANCED_LOG_PHASE) must be set for them.
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let catalog;
  try {
    catalog = await queryCatalog(settings, env, logger);
  } finally {
    for (const k of Object.keys(env)) if (!(k in saved)) delete process.env[k];
    Object.assign(process.env, saved);
  }
  const snap = buildSnapshot(parseDeclarativeText(yamlText, 'nginx-kong', env), new Store(catalog), 'nginx-kong');
  const iterator = new PluginsIterator(snap, catalog, env, () => undefined);
  const socketOf = new Map(settings.pluginServers.map((s) => [s.name, s.socket]));
  const out: NginxRoute[] = [];
  for (const route of snap.routes) {
    const serviceId = (route.service as { id?: string } | undefined)?.id;
    const service = snap.services.find((s) => s.id === serviceId);
    const plugins = iterator.forRequest(route.id, serviceId);
    if (plugins.length > 1) throw new Error(`route ${String(route.name)}: the bridge runs one plugin per route`);
    for (const p of route.paths as string[]) {
      const pl = plugins[0];
      if (!pl) {
        out.push({ path: p, url: `${String(service?.protocol)}://${String(service?.host)}:${String(service?.port)}${String(service?.path ?? '/')}` });
        continue;
      }
      const socket = socketOf.get(pl.info.server);
      if (!socket) throw new Error(`no socket for pluginserver ${pl.info.server}`);
      if (!service) throw new Error(`route ${String(route.name)}: the bridge needs the route's service (Kong answers 503 without one)`);
      // Only defined fields: a JSON null would reach Lua as cjson.null, which is truthy.
      const svc: BridgeService = JSON.parse(
        JSON.stringify({ id: service.id, name: service.name ?? undefined, protocol: service.protocol, host: service.host, port: service.port, path: service.path ?? undefined }),
      ) as BridgeService;
      out.push({
        path: p,
        plugin: {
          name: pl.info.name,
          plugin_id: pl.entity.id,
          seq: pl.conf.__seq__ as number,
          config_json: JSON.stringify(pl.conf),
          socket,
          phases: pl.info.phases,
          service: svc,
          route_path: p,
          strip_path: route.strip_path !== false,
        },
      });
    }
  }
  return out;
}

/**
 * Values written into the conf unquoted (or inside a quoted Lua string) are checked, not escaped: nginx has no
 * escaping for a location's prefix, and `;`, `{`, `}`, whitespace, quotes, `#` or `$` would end the directive,
 * open a block, start a comment or interpolate a variable. A route path the gateway accepts can hold `;`, `$` or
 * `'` (RFC 3986 reserved characters), and a regex path (`~...`) anything: rendered as is, it could add a
 * `listen 0.0.0.0:...` or a `content_by_lua_block`. Regex paths are refused outright: nginx's `location ~` is not
 * Kong's router.
 */
const SAFE_LOCATION = /^\/[A-Za-z0-9._~\/%:@!*+,=-]*$/;
const SAFE_URL_PATH = /^\/[A-Za-z0-9._~\/%:@!*+,=&?-]*$/;
const SAFE_FS_PATH = /^[^\s'"\\;{}#$]+$/;

function checkConfValue(what: string, value: string, re: RegExp): string {
  if (!re.test(value)) throw new Error(`nginx-kong: ${what} ${JSON.stringify(value)} cannot be written into nginx.conf (allowed: ${String(re)})`);
  return value;
}

/** The conf from bench/nginx-kong/nginx.conf.template; writes the bridge's setup file next to it. */
export function renderNginxConf(prefix: string, port: number, routes: readonly NginxRoute[], modules: string, workers: string): string {
  checkConfValue('prefix', prefix, SAFE_FS_PATH);
  checkConfValue('modules directory', modules, SAFE_FS_PATH);
  checkConfValue('bridge directory', NGINX_KONG_DIR, SAFE_FS_PATH);
  checkConfValue('worker count', workers, /^(auto|[1-9][0-9]{0,2})$/);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`nginx-kong: bad port ${port}`);
  const setup: { plugins: Record<string, BridgePlugin> } = { plugins: {} };
  const upstreams: string[] = [];
  const locations: string[] = [];
  routes.forEach((r, i) => {
    const key = `r${i}`;
    checkConfValue('route path', r.path, SAFE_LOCATION);
    if (r.plugin) {
      setup.plugins[key] = r.plugin;
      // Kong's proxy location (kong/templates/nginx_kong.lua `location /`): the upstream variables the router,
      // the PDK (set_path, set_scheme, set_target's Host) and access `after` fill; proxy_buffering on as Kong's
      // default, which a streamed answer's `X-Accel-Buffering: no` (the plugin's stream endpoint sends it)
      // turns off per response, as nginx's upstream module honours that header; then the kong_upstream block,
      // whose balancer_by_lua picks the peer set_target named. A plugin that exits in access never gets here;
      // one that fails open is proxied to the route's service (the bench's: a closed port, so 502 as in Kong).
      // Left out: Kong's X-Forwarded-Host/Port/Path/Prefix, Via, TE and X-Kong-Request-Id request headers.
      locations.push(
        `        location ${r.path} {\n` +
          `            set $upstream_scheme '';\n` +
          `            set $upstream_uri '';\n` +
          `            set $upstream_host '';\n` +
          `            set $upstream_connection '';\n` +
          `            access_by_lua_block { require("kong_bridge").access("${key}") }\n` +
          `            log_by_lua_block { require("kong_bridge").log("${key}") }\n` +
          `            proxy_http_version 1.1;\n` +
          `            proxy_buffering on;\n` +
          `            proxy_request_buffering on;\n` +
          `            proxy_set_header Host $upstream_host;\n` +
          `            proxy_set_header Connection $upstream_connection;\n` +
          `            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n` +
          `            proxy_set_header X-Forwarded-Proto $scheme;\n` +
          `            proxy_set_header X-Real-IP $remote_addr;\n` +
          `            proxy_pass_header Server;\n` +
          `            proxy_pass_header Date;\n` +
          `            proxy_pass $upstream_scheme://kong_upstream$upstream_uri;\n` +
          `        }`,
      );
      return;
    }
    const u = new URL(r.url as string);
    // The upstream block below speaks plain HTTP: an https service would silently be called over http.
    if (u.protocol !== 'http:') throw new Error(`nginx-kong: route ${r.path}: only http services are proxied here, not ${u.protocol}`);
    checkConfValue('service path', u.pathname + u.search, SAFE_URL_PATH);
    // Kong's upstream keep-alive defaults: upstream_keepalive_pool_size 512, _max_requests 10000, _idle_timeout 60.
    upstreams.push(`    upstream up_${key} {\n        server ${u.host};\n        keepalive 512;\n        keepalive_requests 10000;\n        keepalive_timeout 60s;\n    }`);
    locations.push(
      `        location ${r.path} {\n` +
        `            proxy_http_version 1.1;\n` +
        `            proxy_set_header Connection "";\n` +
        `            proxy_pass http://up_${key}${u.pathname}${u.search};\n` +
        `        }`,
    );
  });
  if (routes.some((r) => r.plugin)) {
    // Kong's `upstream kong_upstream` (nginx_kong.lua): a placeholder server, the peer chosen in
    // balancer_by_lua, and upstream keep-alive (Kong's balancer_keepalive is a directive of its own OpenResty
    // patches; stock nginx's keepalive module, placed after the balancer, keeps the same pool of idle
    // connections per peer) with Kong's defaults: pool 512, 10000 requests, 60 s idle.
    upstreams.push(
      '    upstream kong_upstream {\n        server 0.0.0.1;\n        balancer_by_lua_block { require("kong_bridge").balancer() }\n' +
        '        keepalive 512;\n        keepalive_requests 10000;\n        keepalive_timeout 60s;\n    }',
    );
  }
  const setupFile = path.join(prefix, 'bridge-setup.json');
  writeFileSync(setupFile, JSON.stringify(setup));
  const vars: Record<string, string> = {
    MODULES: modules,
    USER: process.getuid?.() === 0 ? 'user root;' : '',
    WORKERS: workers,
    PREFIX: prefix,
    LUA_DIR: NGINX_KONG_DIR,
    SETUP: setupFile,
    PORT: String(port),
    UPSTREAMS: upstreams.join('\n'),
    LOCATIONS: locations.join('\n'),
  };
  return readFileSync(path.join(NGINX_KONG_DIR, 'nginx.conf.template'), 'utf8').replace(/\{\{([A-Z_]+)\}\}/g, (_, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`nginx.conf.template: no value for {{${k}}}`);
    return v;
  });
}

export interface RunningNginx {
  port: number;
  proc: ChildProcess;
  prefix: string;
  /** The worker processes' pids (children of the master), for CPU figures. */
  workerPids(): number[];
  errorLog(): string;
  stop(): Promise<void>;
}

/**
 * Starts nginx (master + BENCH_NGINX_WORKERS workers, default 1; Kong's `auto` is one per CPU) under `prefix`
 * with the routes; resolves once it accepts connections (deadline `timeoutMs`). Stop with stop(): SIGTERM to
 * the master (fast shutdown: it takes its workers down), SIGKILL to all after 5 s.
 */
export async function startNginx(found: NginxFound, prefix: string, routes: readonly NginxRoute[], timeoutMs = 15_000): Promise<RunningNginx> {
  mkdirSync(prefix, { recursive: true });
  const port = await freePort();
  const workers = process.env.BENCH_NGINX_WORKERS ?? '1';
  const conf = path.join(prefix, 'nginx.conf');
  writeFileSync(conf, renderNginxConf(prefix, port, routes, found.modules, workers));
  const proc = spawn(found.nginx, ['-p', prefix, '-c', conf, '-e', path.join(prefix, 'error.log')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  proc.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  proc.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-4000)));
  const errorLog = (): string => {
    try {
      return readFileSync(path.join(prefix, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const workerPids = (): number[] => {
    const pid = proc.pid;
    if (pid === undefined) return [];
    try {
      return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
    } catch {
      return [];
    }
  };
  const stop = async (): Promise<void> => {
    if (proc.exitCode !== null || proc.signalCode !== null) return;
    const kids = workerPids();
    const exited = new Promise<void>((r) => proc.once('exit', () => r()));
    proc.kill('SIGTERM');
    const t = setTimeout(() => {
      for (const k of kids) {
        try {
          process.kill(k, 'SIGKILL');
        } catch {
          // gone
        }
      }
      proc.kill('SIGKILL');
    }, 5_000);
    await exited;
    clearTimeout(t);
  };
  running.add(stop);
  // nginx runs with `daemon off` but nothing ties it to this process: if this process exits without stop()
  // (process.exit, an uncaught error), master and workers would keep running, port and prefix held. SIGTERM on the
  // way out ('exit' handlers must be synchronous): nginx's fast shutdown takes its workers down by itself.
  const onExit = (): void => {
    proc.kill('SIGTERM');
  };
  process.once('exit', onExit);
  proc.once('exit', () => {
    running.delete(stop);
    process.removeListener('exit', onExit);
  });
  // The master listens before it forks its workers: ready once a worker exists too.
  try {
    await waitForPort(port, 'nginx', { proc, logs: () => `${out}\n${errorLog().slice(-2000)}` }, timeoutMs, () => workerPids().length > 0);
  } catch (err) {
    await stop();
    throw err;
  }
  return { port, proc, prefix, workerPids, errorLog, stop };
}

/**
 * The benches' nginx: started under `<scratch>/nginx` in front of the plugin servers the gateway started there
 * (their sockets are under `scratch`), with the configs the gateway hands them, built from the same YAML; or,
 * without nginx and its Lua libraries, one line saying how to install them and undefined.
 */
export async function startBenchNginx(scratch: string, yamlText: string, gatewayEnv: NodeJS.ProcessEnv): Promise<RunningNginx | undefined> {
  const found = findNginx();
  if ('missing' in found) {
    console.log(`nginx paths skipped: ${found.missing} not found; install with: ${NGINX_INSTALL_HINT}`);
    return undefined;
  }
  return startNginx(found, path.join(scratch, 'nginx'), await nginxRoutes(yamlText, { ...gatewayEnv, KONG_PREFIX: scratch }));
}

/** Every nginx started here and not yet stopped (the bench stops them all however it ends). */
const running = new Set<() => Promise<void>>();

export async function stopAllNginx(): Promise<void> {
  await Promise.all([...running].map((s) => s()));
}

/**
 * The nginx processes' pids (master and workers), e.g. to check none is left. nginx rewrites its titles: the
 * master's still names the prefix ("nginx: master process /usr/sbin/nginx -p <prefix> ..."), a worker's is only
 * "nginx: worker process", so workers are found as the master's children (PPid in /proc/<pid>/status).
 */
export function nginxPids(prefix: string): number[] {
  const masters: number[] = [];
  const parentOf = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (!cmd.startsWith('nginx')) continue;
      if (cmd.includes(prefix)) masters.push(Number(d));
      const ppid = /^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1];
      if (ppid !== undefined) parentOf.set(Number(d), Number(ppid));
    } catch {
      // gone
    }
  }
  const workers = [...parentOf].filter(([pid, ppid]) => masters.includes(ppid) && !masters.includes(pid)).map(([pid]) => pid);
  return [...masters, ...workers];
}
