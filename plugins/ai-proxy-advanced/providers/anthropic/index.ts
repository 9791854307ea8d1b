/**
 * Anthropic driver: https://api.anthropic.com:443 `/v1/messages` (chat) and `/v1/complete` (completions),
 * header `anthropic-version` from model.options.anthropic_version (Kong OSS anthropic.lua configure_request).
 * The `x-api-key` secret is generic header auth (auth.header_name/header_value), applied by the engine.
 */
import type { ProviderDriver, TranslateContext } from '../provider';
import { jsonHeaders, modelOptions } from '../translator-kit/request';
import { upstreamUrl } from '../translator-kit/url';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { toAnthropicChat, toAnthropicCompletion } from './request';
import { fromAnthropicChat, fromAnthropicCompletion } from './response';
import { createAnthropicStreamTranslator } from './stream';
import { anthropicNative } from './native';

export const ANTHROPIC_BASE = 'https://api.anthropic.com:443';

export function anthropicHeaders(ctx: TranslateContext): Record<string, string> {
  const h = jsonHeaders();
  const version = modelOptions(ctx).anthropic_version;
  if (version) h['anthropic-version'] = version;
  return h;
}

export const anthropicDriver: ProviderDriver = {
  name: 'anthropic',
  routeTypes: ['llm/v1/chat', 'llm/v1/completions'],
  toRequest(body, ctx) {
    if (ctx.routeType === 'llm/v1/chat') {
      return { method: 'POST', url: upstreamUrl(ctx, ANTHROPIC_BASE, '/v1/messages'), headers: anthropicHeaders(ctx), body: toAnthropicChat(body, ctx) };
    }
    if (ctx.routeType === 'llm/v1/completions') {
      return { method: 'POST', url: upstreamUrl(ctx, ANTHROPIC_BASE, '/v1/complete'), headers: anthropicHeaders(ctx), body: toAnthropicCompletion(body, ctx) };
    }
    throw unsupportedRoute('anthropic', ctx);
  },
  fromResponse(_status, _headers, body, ctx) {
    return ctx.routeType === 'llm/v1/completions' ? fromAnthropicCompletion(body, ctx) : fromAnthropicChat(body, ctx);
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  createStreamTranslator: createAnthropicStreamTranslator,
  native: anthropicNative,
};
