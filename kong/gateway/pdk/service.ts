/**
 * kong.service.*, kong.service.request.* and kong.service.response.* (kong/pdk/service*.lua): what the
 * plugin changes here is what the proxy sends upstream (target, scheme, path, query, method, headers, body).
 */
import type { RequestContext } from '../proxy/context';
import { checkNotTimer, checkPhase, LuaError, PHASES } from './phase-check';
import { escapeArgs, escapeUri } from '../router';
import { decodeBody, encodeArgs, headerTable, headerValues, luaType } from './values';

type Fn = (ctx: RequestContext, args: unknown[]) => unknown;

const METHODS = ['GET', 'HEAD', 'PUT', 'POST', 'DELETE', 'OPTIONS', 'MKCOL', 'COPY', 'MOVE', 'PROPFIND', 'PROPPATCH', 'LOCK', 'UNLOCK', 'PATCH', 'TRACE'];

function serviceResponseHeaders(ctx: RequestContext): Record<string, string | string[]> {
  return ctx.serviceResponse?.headers.toLua() ?? {};
}

export const SERVICE_PDK: Record<string, Fn> = {
  'kong.service.set_target': (ctx, [host, port]) => {
    checkPhase(ctx.phase, PHASES.serviceTarget);
    if (typeof host !== 'string') throw new LuaError('host must be a string');
    if (typeof port !== 'number' || !Number.isInteger(port)) throw new LuaError('port must be an integer');
    if (port < 0 || port > 65535) throw new LuaError(`port must be an integer between 0 and 65535: given ${port}`);
    ctx.upstream.host = host;
    ctx.upstream.port = port;
    // service.lua: ngx.var.upstream_host = host
    ctx.upstream.hostHeader = host;
    return undefined;
  },
  'kong.service.set_upstream': (ctx, [host]) => {
    checkPhase(ctx.phase, PHASES.access);
    if (typeof host !== 'string') throw new LuaError('host must be a string');
    // No upstream entities exist here: Kong returns nil, "could not find an Upstream named '…'".
    return undefined;
  },
  'kong.service.request.enable_buffering': (ctx) => {
    checkPhase(ctx.phase, PHASES.rewriteAccessBalancer);
    ctx.bufferedProxying = true;
    return undefined;
  },
  'kong.service.request.set_scheme': (ctx, [scheme]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccessBalancer);
    if (typeof scheme !== 'string') throw new LuaError('scheme must be a string');
    if (scheme !== 'http' && scheme !== 'https') throw new LuaError(`invalid scheme: ${scheme}`);
    ctx.upstream.scheme = scheme;
    return undefined;
  },
  'kong.service.request.set_path': (ctx, [path]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccessBalancer);
    if (typeof path !== 'string') throw new LuaError('path must be a string');
    if (!path.startsWith('/')) throw new LuaError("path must start with /");
    ctx.upstream.path = escapeUri(path);
    return undefined;
  },
  'kong.service.request.set_raw_query': (ctx, [query]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccess);
    if (typeof query !== 'string') throw new LuaError('query must be a string');
    ctx.upstream.rawQuery = escapeArgs(query);
    return undefined;
  },
  'kong.service.request.set_query': (ctx, [args]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccess);
    ctx.upstream.rawQuery = encodeArgs(Array.isArray(args) && args.length === 0 ? {} : args);
    return undefined;
  },
  'kong.service.request.set_method': (ctx, [method]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccess);
    if (typeof method !== 'string') throw new LuaError('method must be a string');
    if (!METHODS.includes(method)) throw new LuaError(`invalid method: ${method}`);
    ctx.upstream.method = method;
    return undefined;
  },
  'kong.service.request.set_header': (ctx, [name, value]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccessBalancer);
    const values = headerValues(name, value);
    if ((name as string).toLowerCase() === 'host') ctx.upstream.hostHeader = values[0];
    else ctx.upstream.headers.set(name as string, values);
    return undefined;
  },
  'kong.service.request.add_header': (ctx, [name, value]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccess);
    const values = headerValues(name, value);
    if ((name as string).toLowerCase() === 'host') ctx.upstream.hostHeader = values[0];
    else ctx.upstream.headers.add(name as string, values);
    return undefined;
  },
  'kong.service.request.clear_header': (ctx, [name]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccess);
    if (typeof name !== 'string') throw new LuaError(`invalid header name "${String(name)}": got ${luaType(name)}, expected string`);
    ctx.upstream.headers.delete(name);
    return undefined;
  },
  'kong.service.request.set_headers': (ctx, [headers]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccess);
    if (headers === null || headers === undefined || typeof headers !== 'object') throw new LuaError(`headers must be a table, got ${luaType(headers)}`);
    for (const [k, v] of headerTable(headers).entries()) {
      if (k.toLowerCase() === 'host') ctx.upstream.hostHeader = v[0];
      else ctx.upstream.headers.set(k, v);
    }
    return undefined;
  },
  'kong.service.request.set_raw_body': (ctx, [body]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccessBalancer);
    if (typeof body !== 'string' && !Buffer.isBuffer(body)) throw new LuaError('body must be a string');
    ctx.upstream.body = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    return undefined;
  },
  'kong.service.request.set_body': (ctx, [args, mimetype]) => {
    checkPhase(ctx.phase, PHASES.rewriteAccess);
    if (args === null || typeof args !== 'object') throw new LuaError(`args must be a table`);
    const ct = (typeof mimetype === 'string' ? mimetype : ctx.upstream.headers.first('content-type') ?? ctx.requestHeaders.first('content-type') ?? '').toLowerCase();
    if (ct.includes('application/json')) {
      ctx.upstream.body = Buffer.from(JSON.stringify(args));
      ctx.upstream.headers.set('Content-Type', ['application/json']);
    } else if (ct.includes('application/x-www-form-urlencoded')) {
      ctx.upstream.body = Buffer.from(encodeArgs(args));
      ctx.upstream.headers.set('Content-Type', ['application/x-www-form-urlencoded']);
    } else {
      // Only the first return value crosses the RPC: nil, the error text is lost (§2.6).
      return undefined;
    }
    return true;
  },
  'kong.service.response.get_status': (ctx) => {
    checkPhase(ctx.phase, PHASES.serviceResponse);
    if (ctx.phase === 'log' && !ctx.bufferedProxying) checkNotTimer(ctx.phase);
    return ctx.serviceResponse?.status;
  },
  'kong.service.response.get_headers': (ctx, [max]) => {
    checkPhase(ctx.phase, PHASES.serviceResponse);
    if (max !== undefined && typeof max !== 'number') throw new LuaError('max_headers must be a number');
    return serviceResponseHeaders(ctx);
  },
  'kong.service.response.get_header': (ctx, [name]) => {
    checkPhase(ctx.phase, PHASES.serviceResponse);
    if (typeof name !== 'string') throw new LuaError('header name must be a string');
    const v = serviceResponseHeaders(ctx)[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  },
  'kong.service.response.get_raw_body': (ctx) => {
    checkPhase(ctx.phase, PHASES.serviceResponse);
    if (!ctx.bufferedProxying) throw new LuaError('service body is only available with buffered proxying');
    return ctx.serviceResponse?.body ?? Buffer.alloc(0);
  },
  'kong.service.response.get_body': (ctx, [mimetype]) => {
    checkPhase(ctx.phase, PHASES.serviceResponse);
    if (!ctx.bufferedProxying) throw new LuaError('service body is only available with buffered proxying');
    const body = ctx.serviceResponse?.body ?? Buffer.alloc(0);
    return decodeBody(body, ctx.serviceResponse?.headers.first('content-type'), mimetype);
  },
};
