/**
 * kong.log.serialize()'s table (kong/pdk/log.lua serialize, the "basic" serializer), built from the request
 * context when the log phase starts, with the values plugins set through kong.log.set_serialize_value merged
 * in. Kong captures this before the log timer runs, so values set during the log phase itself are too late.
 */
import type { RequestContext } from '../proxy/context';
import { deepMerge } from './values';

const REDACTED = new Set(['authorization', 'proxy-authorization']);

function redact(headers: Record<string, string | string[]>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) out[k] = REDACTED.has(k) ? 'REDACTED' : v;
  return out;
}

export function buildSerializeData(ctx: RequestContext, responseSize: number): Record<string, unknown> {
  const status = ctx.sent?.status ?? 0;
  const query = ctx.rawQuery === '' ? '' : `?${ctx.rawQuery}`;
  const data: Record<string, unknown> = {
    request: {
      id: ctx.id,
      uri: ctx.rawPath + query,
      url: `${ctx.scheme}://${ctx.host}${ctx.rawPath}${query}`,
      querystring: Object.fromEntries(new URLSearchParams(ctx.rawQuery)),
      method: ctx.method,
      headers: redact(ctx.requestHeaders.toLua()),
      size: ctx.bodySize,
    },
    upstream_uri: ctx.upstreamUri,
    response: {
      status,
      headers: ctx.sent?.headers.toLua() ?? {},
      size: responseSize,
    },
    tries: ctx.tries,
    latencies: {
      kong: ctx.latency.response ?? ctx.latency.proxy ?? 0,
      proxy: ctx.latency.upstream ?? -1,
      request: Math.round(Date.now() - ctx.startTime),
      receive: 0,
    },
    client_ip: ctx.clientIp,
    started_at: Math.floor(ctx.startTime),
    source: ctx.source ?? 'error',
    workspace: DEFAULT_WORKSPACE_ID,
    workspace_name: 'default',
  };
  if (ctx.route) data.route = ctx.route;
  if (ctx.service) data.service = ctx.service;
  if (ctx.serviceResponse) data.upstream_status = String(ctx.serviceResponse.status);
  return deepMerge(data, ctx.serializeValues);
}

/** The default workspace id the gateway reports (Kong: a uuid created at bootstrap). */
export const DEFAULT_WORKSPACE_ID = '2b0a3fc6-8f36-4f80-9e3f-ad5c28f0ab5e';
