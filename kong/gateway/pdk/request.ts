/**
 * kong.request.* (kong/pdk/request.lua) over the request context, with Kong's phase checks and, in the log
 * phase, the saved-data special cases of kong/runloop/plugin_servers/plugin.lua exposed_api.
 */
import { readFileSync } from 'node:fs';
import type { RequestContext } from '../proxy/context';
import { checkNotTimer, checkPhase, LuaError, PHASES } from './phase-check';
import { decodeArgs, decodeBody, own } from './values';

type Fn = (ctx: RequestContext, args: unknown[]) => unknown;

function live(accepted: ReadonlySet<string>, fn: Fn): Fn {
  return (ctx, args) => {
    checkPhase(ctx.phase, accepted);
    checkNotTimer(ctx.phase);
    return fn(ctx, args);
  };
}

function headerName(name: unknown): string {
  if (typeof name !== 'string') throw new LuaError('header name must be a string');
  return name.toLowerCase().replace(/_/g, '-');
}

function rawBody(ctx: RequestContext, max: unknown): Buffer | undefined {
  if (ctx.bodyFile === undefined) return ctx.body;
  if (typeof max !== 'number' || max < 0) return undefined;
  if (max > 0 && ctx.bodySize > max) return undefined;
  return readFileSync(ctx.bodyFile);
}

export const REQUEST_PDK: Record<string, Fn> = {
  'kong.request.get_scheme': live(PHASES.request, (ctx) => ctx.scheme),
  'kong.request.get_host': live(PHASES.request, (ctx) => ctx.host.replace(/:\d+$/, '').toLowerCase()),
  'kong.request.get_port': live(PHASES.request, (ctx) => ctx.port),
  'kong.request.get_forwarded_scheme': live(PHASES.request, (ctx) => ctx.scheme),
  'kong.request.get_forwarded_host': live(PHASES.request, (ctx) => ctx.host.replace(/:\d+$/, '').toLowerCase()),
  'kong.request.get_forwarded_port': live(PHASES.request, (ctx) => ctx.port),
  'kong.request.get_forwarded_path': live(PHASES.request, (ctx) => ctx.path),
  // Only honoured from trusted_ips, which the local gateway has none of.
  'kong.request.get_forwarded_prefix': live(PHASES.request, () => undefined),
  'kong.request.get_http_version': live(PHASES.request, (ctx) => Number(ctx.req.httpVersion)),
  'kong.request.get_method': live(PHASES.request, (ctx) => ctx.method),
  'kong.request.get_path': live(PHASES.request, (ctx) => ctx.path),
  'kong.request.get_raw_path': live(PHASES.request, (ctx) => ctx.rawPath),
  'kong.request.get_path_with_query': live(PHASES.request, (ctx) => (ctx.rawQuery === '' ? ctx.path : `${ctx.path}?${ctx.rawQuery}`)),
  'kong.request.get_raw_query': live(PHASES.request, (ctx) => ctx.rawQuery),
  'kong.request.get_query_arg': live(PHASES.request, (ctx, [name]) => {
    if (typeof name !== 'string') throw new LuaError('query argument name must be a string');
    // Own keys only: 'constructor' must not find Object.prototype's (Kong answers nil).
    const v = own(decodeArgs(ctx.rawQuery), name);
    return Array.isArray(v) ? v[0] : v;
  }),
  'kong.request.get_query': live(PHASES.request, (ctx, [max]) => {
    if (max !== undefined && typeof max !== 'number') throw new LuaError('max_args must be a number');
    return decodeArgs(ctx.rawQuery, typeof max === 'number' ? max : 100);
  }),
  'kong.request.get_header': (ctx, [name]) => {
    checkPhase(ctx.phase, PHASES.request);
    const n = headerName(name);
    if (ctx.phase === 'log') {
      const v = ctx.saved?.requestHeaders[n];
      return Array.isArray(v) ? v[0] : v;
    }
    return ctx.requestHeaders.first(n);
  },
  'kong.request.get_headers': (ctx, [max]) => {
    checkPhase(ctx.phase, PHASES.request);
    if (max !== undefined && typeof max !== 'number') throw new LuaError('max_headers must be a number');
    if (ctx.phase === 'log') return ctx.saved?.requestHeaders ?? {};
    return ctx.requestHeaders.toLua();
  },
  // kong/pdk/request.lua get_raw_body(max_allowed_file_size) (3.8+): a body larger than client_body_buffer_size
  // sits in a file (proxy/request-body.ts) and is read only when a max_allowed_file_size >= 0 is given (0 = no
  // limit), and only when the file is not larger than it. Otherwise Kong returns nil plus an error text; the
  // first return value nil is what reaches a plugin server (fix_raw cannot pack it: the request fails with 500
  // exactly as on Kong), so a plugin must pass its own limit.
  'kong.request.get_raw_body': (ctx, [max]) => {
    checkPhase(ctx.phase, PHASES.beforeContent);
    if (max !== undefined && max !== null && typeof max !== 'number') throw new LuaError('max_allowed_file_size must be a number');
    return rawBody(ctx, max);
  },
  'kong.request.get_body': (ctx, [mimetype, , maxFile]) => {
    checkPhase(ctx.phase, PHASES.beforeContent);
    // get_body reads through get_raw_body(max_allowed_file_size): a spooled body needs the size argument.
    const raw = rawBody(ctx, maxFile);
    if (raw === undefined) return undefined;
    return decodeBody(raw, ctx.requestHeaders.first('content-type'), mimetype);
  },
  'kong.request.get_uri_captures': (ctx) => {
    checkPhase(ctx.phase, PHASES.request);
    return ctx.match?.captures ?? { unnamed: [], named: [] };
  },
  'kong.request.get_start_time': (ctx) => {
    checkPhase(ctx.phase, PHASES.request);
    return Math.floor(ctx.startTime);
  },
};
