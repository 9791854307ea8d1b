/**
 * The PDK the gateway exposes to plugin servers: one function per Kong PDK method name, looked up the way
 * mp_rpc's call_pdk_method does (kong-plugin-protocol.md §2.6): an unknown method is logged as
 * `could not find pdk method: X` and answers nil. kong.log.*, kong.ctx.shared, kong.nginx.*, kong.node.*,
 * kong.router.*, kong.client.* and kong.plugin.* live here; request, response and service in their modules.
 */
import os from 'node:os';
import type { Logger } from '../log';
import type { RequestContext } from '../proxy/context';
import { checkNotTimer, checkPhase, LuaError, PHASES } from './phase-check';
import { REQUEST_PDK } from './request';
import { RESPONSE_PDK } from './response';
import { SERVICE_PDK } from './service';
import { cjsonEncode, own, setDotted, setOwn } from './values';

export interface PdkEnv {
  logger: Logger;
  nodeId: string;
  /** Name of the plugin whose handler is calling (kong.log is namespaced to it). */
  pluginName: string;
  pluginId: string;
}

type Fn = (ctx: RequestContext, args: unknown[], env: PdkEnv) => unknown;

function logAt(level: 'debug' | 'info' | 'notice' | 'warn' | 'error' | 'crit' | 'alert' | 'emerg'): Fn {
  return (ctx, args, env) => {
    const text = args.map((a) => (typeof a === 'string' ? a : Buffer.isBuffer(a) ? a.toString('utf8') : JSON.stringify(a) ?? 'nil')).join('');
    const lvl = level === 'crit' || level === 'alert' || level === 'emerg' ? 'error' : level;
    env.logger.log(lvl, `[kong] ${env.pluginName} ${text}, request_id: ${ctx.id}`);
    return undefined;
  };
}

function isPlainData(v: unknown, seen = new Set<unknown>()): boolean {
  if (v === null || v === undefined) return true;
  if (['string', 'number', 'boolean'].includes(typeof v) || Buffer.isBuffer(v)) return true;
  if (typeof v !== 'object' || seen.has(v)) return false;
  seen.add(v);
  return Object.values(v as object).every((x) => isPlainData(x, seen));
}

const NGX_VARS: Record<string, (ctx: RequestContext) => unknown> = {
  request_uri: (c) => (c.rawQuery === '' ? c.rawPath : `${c.rawPath}?${c.rawQuery}`),
  uri: (c) => c.path,
  args: (c) => (c.rawQuery === '' ? undefined : c.rawQuery),
  is_args: (c) => (c.rawQuery === '' ? '' : '?'),
  host: (c) => c.host.replace(/:\d+$/, '').toLowerCase(),
  scheme: (c) => c.scheme,
  request_method: (c) => c.method,
  remote_addr: (c) => c.clientIp,
  realip_remote_addr: (c) => c.clientIp,
  remote_port: (c) => String(c.clientPort),
  server_port: (c) => String(c.port),
  server_protocol: (c) => `HTTP/${c.req.httpVersion}`,
  request_id: (c) => c.id,
  kong_request_id: (c) => c.id,
  upstream_uri: (c) => c.upstream.path + (c.upstream.rawQuery === '' ? '' : `?${c.upstream.rawQuery}`),
  upstream_scheme: (c) => c.upstream.scheme,
  upstream_host: (c) => c.upstream.hostHeader,
  request_length: (c) => String(c.bodySize),
};

const MISC_PDK: Record<string, Fn> = {
  'kong.log.debug': logAt('debug'),
  'kong.log.info': logAt('info'),
  'kong.log.notice': logAt('notice'),
  'kong.log.warn': logAt('warn'),
  'kong.log.err': logAt('error'),
  'kong.log.crit': logAt('crit'),
  'kong.log.alert': logAt('alert'),
  'kong.log.emerg': logAt('emerg'),
  'kong.log.set_serialize_value': (ctx, [key, value, options]) => {
    checkPhase(ctx.phase, PHASES.setSerialize);
    if (typeof key !== 'string') throw new LuaError('key must be a string');
    const mode = (options as { mode?: unknown } | undefined)?.mode ?? 'set';
    if (mode !== 'set' && mode !== 'add' && mode !== 'replace') throw new LuaError("mode must be 'set', 'add' or 'replace'");
    if (!isPlainData(value))
      throw new LuaError('value must be nil, a number, string, boolean or a non-self-referencial table containing numbers, string and booleans');
    setDotted(ctx.serializeValues, key, value, mode);
    return undefined;
  },
  // exposed_api: cjson.encode(saved.serialize_data or kong.log.serialize()) — a JSON string.
  'kong.log.serialize': (ctx) => {
    checkPhase(ctx.phase, PHASES.log);
    return cjsonEncode(ctx.saved?.serializeData ?? {});
  },
  'kong.ctx.shared.get': (ctx, [k]) => (typeof k === 'string' || typeof k === 'number' ? own(ctx.ctxShared, String(k)) : undefined),
  'kong.ctx.shared.set': (ctx, [k, v]) => {
    if (typeof k === 'string' || typeof k === 'number') {
      if (v === undefined || v === null) delete ctx.ctxShared[String(k)];
      else setOwn(ctx.ctxShared, String(k), v);
    }
    return undefined;
  },
  'kong.nginx.get_var': (ctx, [name]) => {
    checkNotTimer(ctx.phase);
    if (typeof name !== 'string') throw new LuaError('bad argument #1 (string expected)');
    const getter = own(NGX_VARS, name);
    if (getter) return getter(ctx);
    if (name.startsWith('http_')) return ctx.requestHeaders.get(name.slice(5).replace(/_/g, '-'))?.join(', ');
    if (name.startsWith('arg_')) return new URLSearchParams(ctx.rawQuery).get(name.slice(4)) ?? undefined;
    return undefined;
  },
  'kong.nginx.get_ctx': (ctx, [k]) => (typeof k === 'string' ? own(ctx.ngxCtx, k) : undefined),
  'kong.nginx.set_ctx': (ctx, [k, v]) => {
    if (typeof k === 'string') setOwn(ctx.ngxCtx, k, v);
    return undefined;
  },
  'kong.nginx.req_start_time': (ctx) => ctx.startTime / 1000,
  'kong.nginx.get_subsystem': () => 'http',
  'kong.nginx.get_tls1_version_str': () => undefined,
  'kong.node.get_id': (_ctx, _a, env) => env.nodeId,
  'kong.node.get_hostname': () => os.hostname(),
  'kong.node.get_memory_stats': () => {
    const m = process.memoryUsage();
    return { lua_shared_dicts: {}, workers_lua_vms: [{ http_allocated_gc: m.heapUsed, pid: process.pid }] };
  },
  'kong.router.get_route': (ctx) => {
    checkPhase(ctx.phase, PHASES.afterAccess);
    return ctx.route;
  },
  'kong.router.get_service': (ctx) => {
    checkPhase(ctx.phase, PHASES.afterAccess);
    return ctx.service;
  },
  'kong.client.get_ip': (ctx) => {
    checkPhase(ctx.phase, PHASES.client);
    checkNotTimer(ctx.phase);
    return ctx.clientIp;
  },
  'kong.client.get_forwarded_ip': (ctx) => {
    checkPhase(ctx.phase, PHASES.client);
    checkNotTimer(ctx.phase);
    return ctx.clientIp;
  },
  'kong.client.get_port': (ctx) => {
    checkPhase(ctx.phase, PHASES.client);
    checkNotTimer(ctx.phase);
    return ctx.clientPort;
  },
  'kong.client.get_forwarded_port': (ctx) => {
    checkPhase(ctx.phase, PHASES.client);
    checkNotTimer(ctx.phase);
    return ctx.clientPort;
  },
  'kong.client.get_protocol': (ctx) => {
    checkPhase(ctx.phase, PHASES.afterAccess);
    return ctx.scheme;
  },
  // No consumer entities exist in the local gateway, but a plugin may authenticate one itself, as custom auth
  // plugins do in Kong (kong/pdk/client.lua authenticate: ngx.ctx.authenticated_consumer / _credential).
  'kong.client.authenticate': (ctx, [consumer, credential]) => {
    checkPhase(ctx.phase, PHASES.access);
    const tableOrNil = (v: unknown): boolean => v === undefined || v === null || typeof v === 'object';
    if (!tableOrNil(consumer)) throw new LuaError('consumer must be a table or nil');
    if (!tableOrNil(credential)) throw new LuaError('credential must be a table or nil');
    if ((consumer ?? undefined) === undefined && (credential ?? undefined) === undefined) throw new LuaError('either credential or consumer must be provided');
    ctx.ngxCtx.authenticated_consumer = consumer ?? undefined;
    ctx.ngxCtx.authenticated_credential = credential ?? undefined;
    return undefined;
  },
  'kong.client.get_consumer': (ctx) => {
    checkPhase(ctx.phase, PHASES.afterAccess);
    return ctx.ngxCtx.authenticated_consumer;
  },
  'kong.client.get_credential': (ctx) => {
    checkPhase(ctx.phase, PHASES.afterAccess);
    return ctx.ngxCtx.authenticated_credential;
  },
  'kong.plugin.get_id': (_ctx, _a, env) => env.pluginId,
  'kong.ip.is_trusted': () => false,
};

// No prototype: the plugin server names the method, and 'constructor' or 'toString' must not find Object's.
const ALL: Record<string, Fn> = Object.assign(Object.create(null) as Record<string, Fn>, REQUEST_PDK, RESPONSE_PDK, SERVICE_PDK, MISC_PDK);

export function pdkMethods(): string[] {
  return Object.keys(ALL).sort();
}

/** Runs one PDK call: its first Lua return value, EXIT, or a thrown LuaError. */
export function callPdk(env: PdkEnv, ctx: RequestContext, method: string, args: unknown[]): unknown {
  const fn = ALL[method];
  if (!fn) {
    env.logger.err(`could not find pdk method: ${method}`);
    return undefined;
  }
  return fn(ctx, args, env);
}
