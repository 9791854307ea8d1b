/**
 * `llm_format: anthropic`: the client speaks Anthropic's Messages API (`POST /v1/messages`, e.g. the Anthropic
 * SDK or Claude Code) and the body goes to an Anthropic target as sent. Model and stream flag are the body's
 * (`model`, `stream: true`), the upstream is the driver's `/v1/messages` with `anthropic-version` from
 * model.options when set (the client's own header passes otherwise).
 */
import type { NativeFormat } from '../provider';
import { upstreamUrl } from '../translator-kit/url';
import { bodyWithModelAndStream, nativeMessages, withSystem } from '../translator-kit/native';
import { anthropicHeaders, ANTHROPIC_BASE } from './index';

export const anthropicNative: NativeFormat = {
  answersAs: 'llm/v1/chat',
  read(body) {
    const messages = nativeMessages(body['messages'], 'content', (r) => (r === 'assistant' ? 'assistant' : 'user'));
    return {
      model: typeof body['model'] === 'string' ? body['model'] : undefined,
      stream: body['stream'] === true,
      messages: withSystem(messages, body['system']),
    };
  },
  toRequest(body, ctx) {
    return { method: 'POST', url: upstreamUrl(ctx, ANTHROPIC_BASE, '/v1/messages'), headers: anthropicHeaders(ctx), body: bodyWithModelAndStream(body, ctx) };
  },
};
