/**
 * The `ai.proxy` analytics in Kong's shape (OSS kong/llm/plugin/shared-filters/serialize-analytics.lua and
 * observability.lua; expected values in spec/03-plugins/38-ai-proxy/02-openai_integration_spec.lua
 * _EXPECTED_CHAT_STATS), plus `meta.request_mode` (3.12) and `tried_targets` (3.11). Kong emits them only when
 * the selected target has `logging.log_statistics`; payloads only then too, and only with `log_payloads`.
 * Buffered: set with `kong.log.set_serialize_value` before `exit`, so Kong's log plugins record them. Streamed: the
 * block is only known at stream end, after Kong's log plugins ran; see observability/log-phase.ts.
 * The block is set with one call, `ai.proxy` = the whole block, where Kong's serialize-analytics sets
 * `ai.proxy.meta`, `ai.proxy.usage` and the payload parts one by one: every PDK call is a round trip to Kong, and
 * the result in `kong.log.serialize()` is the same (kong/pdk/log.lua edit_result creates the `ai` table and
 * sets `proxy` in it). Only the ai-proxy plugins write under `ai.proxy` in Kong (the others use `ai.<their own
 * key>`, e.g. ai-prompt-template's `ai.payload.original_request`), so nothing set before is replaced.
 * Nothing here carries a credential: URLs are logged without their query string (it may hold an auth param).
 */
import type { TargetConfig } from '../../../schemas/config';
import type { TokenUsage } from '../providers/provider';
import { parseUrl } from '../providers/translator-kit/url';

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
  /** The body sent to this target's provider (after translation and signing). */
  body?: Buffer | undefined;
}

export function describeAttempt(target: TargetConfig, model: string, url: string): TriedTarget {
  const u = parseUrl(url);
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
  /** End-to-end: request start (access) to the last byte of the provider's answer. */
  latencyMs: number;
  /** Streams: time to the first frame sent to the client (Kong 3.12 `usage.time_to_first_token`). */
  ttftMs?: number | undefined;
  /** `stream` for streamed delivery (Kong 3.12 `meta.request_mode`); `oneshot` otherwise. */
  mode?: 'oneshot' | 'stream';
  usage: TokenUsage | undefined;
  tried: readonly AttemptRecord[];
  /**
   * The body sent to the provider after translation (Kong logs `ngx.req.get_body_data()` after normalize-request
   * replaced it: kong/llm/plugin/shared-filters/serialize-analytics.lua); undefined when nothing was sent.
   */
  requestBody: Buffer | undefined;
  responseBody: Buffer | string | undefined;
}

/** The `ai.proxy` block in Kong's shape (what Kong's log plugins find under `ai.proxy` in kong.log.serialize()). */
export interface AiProxyBlock {
  meta: {
    plugin_id: string;
    provider_name: string;
    request_model: string;
    response_model: string;
    llm_latency: number;
    request_mode: 'oneshot' | 'stream';
  };
  usage: {
    time_per_token: number;
    time_to_first_token?: number;
    prompt_tokens: number;
    completion_tokens: number;
    total_tokens: number;
    cost: number;
    prompt_tokens_details?: Record<string, number>;
    completion_tokens_details?: Record<string, number>;
  };
  tried_targets: TriedTarget[];
  payload?: { request: string; response: string };
}

export function costOf(target: TargetConfig, usage: TokenUsage | undefined): number {
  const o = target.model.options;
  if (!usage || o?.input_cost == null || o.output_cost == null) return 0;
  return (usage.prompt_tokens * o.input_cost + usage.completion_tokens * o.output_cost) / 1_000_000;
}

/**
 * The logged request body without a credential: a target with `auth.param_location: body` has its key written
 * into the body sent to the provider; Kong would log it, this project never logs a provider key.
 */
function loggableRequestBody(target: TargetConfig, body: Buffer | undefined): string {
  if (body === undefined) return '';
  const text = body.toString('utf8');
  const param = target.auth?.param_location === 'body' ? target.auth.param_name : undefined;
  if (!param) return text;
  try {
    const json = JSON.parse(text) as Record<string, unknown>;
    if (json && typeof json === 'object' && Object.prototype.hasOwnProperty.call(json, param)) {
      json[param] = 'REDACTED';
      return JSON.stringify(json);
    }
  } catch {
    // not JSON: the key can only have been added to JSON bodies
  }
  return text;
}

/** The `ai.proxy` block, or undefined when the target does not log statistics (Kong logs nothing then). */
export function aiProxyBlock(a: AnalyticsInput): AiProxyBlock | undefined {
  if (a.target.logging?.log_statistics !== true) return undefined;
  const latency = Math.floor(a.latencyMs);
  const prompt = a.usage?.prompt_tokens ?? 0;
  const completion = a.usage?.completion_tokens ?? 0;
  const requestModel = a.requestModel === '' ? 'UNSPECIFIED' : a.requestModel;
  const usage: AiProxyBlock['usage'] = {
    time_per_token: completion > 0 ? latency / completion : 0,
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: a.usage?.total_tokens ?? prompt + completion,
    cost: costOf(a.target, a.usage),
  };
  if (a.ttftMs !== undefined) usage.time_to_first_token = Math.floor(a.ttftMs);
  if (a.usage?.prompt_tokens_details) usage.prompt_tokens_details = a.usage.prompt_tokens_details;
  if (a.usage?.completion_tokens_details) usage.completion_tokens_details = a.usage.completion_tokens_details;
  const block: AiProxyBlock = {
    meta: {
      plugin_id: a.pluginId ?? '',
      provider_name: a.target.model.provider,
      request_model: requestModel,
      response_model: a.responseModel ?? requestModel,
      llm_latency: latency,
      request_mode: a.mode ?? 'oneshot',
    },
    usage,
    tried_targets: a.tried.map((t) => describeAttempt(t.target, t.model, t.url)),
  };
  if (a.target.logging?.log_payloads === true) {
    const response = a.responseBody === undefined ? '' : typeof a.responseBody === 'string' ? a.responseBody : a.responseBody.toString('utf8');
    block.payload = { request: loggableRequestBody(a.target, a.requestBody), response };
  }
  return block;
}

