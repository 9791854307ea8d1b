/**
 * The `ai.proxy` analytics in Kong's shape (OSS kong/llm/plugin/shared-filters/serialize-analytics.lua and
 * observability.lua; expected values in spec/03-plugins/38-ai-proxy/02-openai_integration_spec.lua
 * _EXPECTED_CHAT_STATS), plus `meta.request_mode` (3.12) and `tried_targets` (3.11). Kong emits them only when
 * the selected target has `logging.log_statistics`; payloads only then too, and only with `log_payloads`.
 * Set with `kong.log.set_serialize_value` before `exit`, so Kong's log plugins record them.
 * Nothing here carries a credential: URLs are logged without their query string (it may hold an auth param).
 */
import type { TargetConfig } from '../../../schemas/config';
import type { TokenUsage } from '../providers/provider';

export interface TriedTarget {
  provider: string;
  model: string;
  host: string;
  port: number;
  ip?: string;
  upstream_scheme: string;
  upstream_uri: string;
  route_type: string;
}

/** One attempt as the loop saw it; described for analytics only when they are logged (URL parsing costs). */
export interface AttemptRecord {
  target: TargetConfig;
  model: string;
  url: string;
}

export function describeAttempt(target: TargetConfig, model: string, url: string): TriedTarget {
  const u = new URL(url);
  const scheme = u.protocol.replace(/:$/, '');
  const port = u.port !== '' ? Number(u.port) : scheme === 'https' ? 443 : 80;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  const t: TriedTarget = {
    provider: target.model.provider,
    model,
    host,
    port,
    upstream_scheme: scheme,
    upstream_uri: u.pathname,
    route_type: target.route_type,
  };
  if (/^[\d.]+$/.test(host) || host.includes(':')) t.ip = host;
  return t;
}

export interface AnalyticsInput {
  pluginId: string | undefined;
  target: TargetConfig;
  requestModel: string;
  responseModel: string | undefined;
  latencyMs: number;
  usage: TokenUsage | undefined;
  tried: readonly AttemptRecord[];
  requestBody: Buffer;
  responseBody: Buffer | string | undefined;
}

export interface SerializeEntry {
  key: string;
  value: unknown;
}

export function costOf(target: TargetConfig, usage: TokenUsage | undefined): number {
  const o = target.model.options;
  if (!usage || o?.input_cost == null || o.output_cost == null) return 0;
  return (usage.prompt_tokens * o.input_cost + usage.completion_tokens * o.output_cost) / 1_000_000;
}

/** The serialize values to set, or none when the target does not log statistics. */
export function buildAnalytics(a: AnalyticsInput): SerializeEntry[] {
  if (a.target.logging?.log_statistics !== true) return [];
  const latency = Math.floor(a.latencyMs);
  const prompt = a.usage?.prompt_tokens ?? 0;
  const completion = a.usage?.completion_tokens ?? 0;
  const requestModel = a.requestModel === '' ? 'UNSPECIFIED' : a.requestModel;
  const usage: Record<string, unknown> = {
    time_per_token: completion > 0 ? latency / completion : 0,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: a.usage?.total_tokens ?? prompt + completion,
    cost: costOf(a.target, a.usage),
  };
  if (a.usage?.prompt_tokens_details) usage.prompt_tokens_details = a.usage.prompt_tokens_details;
  if (a.usage?.completion_tokens_details) usage.completion_tokens_details = a.usage.completion_tokens_details;
  const entries: SerializeEntry[] = [
    {
      key: 'ai.proxy.meta',
      value: {
        plugin_id: a.pluginId ?? '',
        provider_name: a.target.model.provider,
        request_model: requestModel,
        response_model: a.responseModel ?? requestModel,
        llm_latency: latency,
        request_mode: 'oneshot',
      },
    },
    { key: 'ai.proxy.usage', value: usage },
    { key: 'ai.proxy.tried_targets', value: a.tried.map((t) => describeAttempt(t.target, t.model, t.url)) },
  ];
  if (a.target.logging?.log_payloads === true) {
    const response = a.responseBody === undefined ? '' : typeof a.responseBody === 'string' ? a.responseBody : a.responseBody.toString('utf8');
    entries.push({ key: 'ai.proxy.payload', value: { request: a.requestBody.toString('utf8'), response } });
  }
  return entries;
}
