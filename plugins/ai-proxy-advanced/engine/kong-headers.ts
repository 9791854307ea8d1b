/**
 * The headers Kong puts on a proxied answer (kong/runloop/handler.lua header_filter `after`, ctx.KONG_PROXIED):
 * X-Kong-Upstream-Latency (KONG_WAITING_TIME), X-Kong-Proxy-Latency (KONG_PROXY_LATENCY) and
 * `Via: 1.1 kong/<version>` (after the upstream's own Via). The plugin answers through `kong.response.exit`, and
 * Kong treats that as not proxied: it adds only X-Kong-Response-Latency and Server. So the plugin adds the
 * proxied ones itself, for answers that came from a provider, as Kong's ai-proxy answers (which Kong proxies)
 * carry them.
 *
 * Which ones is Kong's `headers` setting's decision; the plugin server cannot read kong.conf, so it reads
 * KONG_HEADERS from its environment (Kong's own env override of `headers`, inherited by the plugin server Kong
 * starts) and otherwise assumes Kong's default `server_tokens, latency_tokens, X-Kong-Request-Id`. A kong.conf
 * that sets `headers` must set KONG_HEADERS too (docs/providers.md "Headers on the plugin's answers").
 */

/** Kong's `headers` default (kong/templates/kong_defaults.lua). */
export const KONG_DEFAULT_HEADERS = 'server_tokens, latency_tokens, X-Kong-Request-Id';

/** The Kong version named in Via (the local gateway's, kong/gateway/proxy/handler.ts); KONG_VERSION overrides. */
export const DEFAULT_KONG_VERSION = '3.9.1';

export interface KongHeaderSettings {
  upstreamLatency: boolean;
  proxyLatency: boolean;
  via: boolean;
  version: string;
}

/** Kong's header groups: server_tokens = Server + Via, latency_tokens = the latency headers, or one by name; `off` none. */
export function kongHeaderSettings(env: Readonly<Record<string, string | undefined>>): KongHeaderSettings {
  const names = new Set((env['KONG_HEADERS'] ?? KONG_DEFAULT_HEADERS).split(',').map((s) => s.trim().toLowerCase()).filter(Boolean));
  const on = (name: string, group: string): boolean => !names.has('off') && (names.has(name) || names.has(group));
  const version = env['KONG_VERSION'];
  return {
    upstreamLatency: on('x-kong-upstream-latency', 'latency_tokens'),
    proxyLatency: on('x-kong-proxy-latency', 'latency_tokens'),
    via: on('via', 'server_tokens'),
    // Only a plain x.y.z version goes into a header; anything else falls back to the default.
    version: version !== undefined && /^\d+\.\d+\.\d+(\.\d+)?$/.test(version) ? version : DEFAULT_KONG_VERSION,
  };
}

/**
 * The proxied-answer headers for an answer a provider gave: upstream latency = from sending the answering
 * attempt's request to having its answer; proxy latency = from the start of the request to that send (Kong's
 * KONG_PROXY_LATENCY, which includes earlier failed tries' time here since each try is ours). Set on `out` (the
 * answer's own headers, whose Via is `upstreamVia`), which is returned.
 */
export function proxiedHeaders(
  s: KongHeaderSettings,
  times: { startedAt: number; sentAt: number; answeredAt: number },
  upstreamVia: string | undefined,
  out: Record<string, string> = {},
): Record<string, string> {
  if (s.upstreamLatency) out['x-kong-upstream-latency'] = String(Math.max(0, Math.round(times.answeredAt - times.sentAt)));
  if (s.proxyLatency) out['x-kong-proxy-latency'] = String(Math.max(0, Math.round(times.sentAt - times.startedAt)));
  if (s.via) out['via'] = upstreamVia ? `${upstreamVia}, 1.1 kong/${s.version}` : `1.1 kong/${s.version}`;
  return out;
}
