/**
 * `llm_format: cohere`: the client speaks Cohere's chat API, v2 (`POST /v2/chat`, `messages`) or v1
 * (`POST /v1/chat`, `message` + `chat_history`), and the body goes to a Cohere target as sent. The operation is
 * chosen from the end of the client's path among those two only (v2 when the path names neither), so the path
 * cannot reach any other Cohere endpoint; model and stream flag are the body's.
 */
import type { NativeFormat } from '../provider';
import { jsonHeaders } from '../translator-kit/request';
import { upstreamUrl } from '../translator-kit/url';
import { bodyWithModelAndStream, nativeMessages, nativeText, withSystem } from '../translator-kit/native';
import { COHERE_BASE } from './index';

const V1 = /\/v1\/chat\/?$/;

function role(r: unknown): string {
  const v = typeof r === 'string' ? r.toLowerCase() : '';
  return v === 'chatbot' || v === 'assistant' ? 'assistant' : v === 'system' ? 'system' : 'user';
}

export const cohereNative: NativeFormat = {
  answersAs: 'llm/v1/chat',
  read(body, clientPath) {
    let messages = nativeMessages(body['messages'], 'content', role);
    if (V1.test(clientPath) || body['messages'] === undefined) {
      // v1: the history (`message` fields) then the new `message`, after the `preamble`.
      messages = nativeMessages(body['chat_history'], 'message', role);
      if (typeof body['message'] === 'string') messages.push({ role: 'user', content: nativeText(body['message']) });
      messages = withSystem(messages, body['preamble']);
    }
    return { model: typeof body['model'] === 'string' ? body['model'] : undefined, stream: body['stream'] === true, messages };
  },
  toRequest(body, ctx) {
    const path = V1.test(ctx.clientPath) ? '/v1/chat' : '/v2/chat';
    return { method: 'POST', url: upstreamUrl(ctx, COHERE_BASE, path), headers: jsonHeaders(), body: bodyWithModelAndStream(body, ctx) };
  },
};
