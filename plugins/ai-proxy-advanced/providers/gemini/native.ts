/**
 * `llm_format: gemini`: the client speaks Gemini's own API (`.../models/{model}:generateContent` or
 * `:streamGenerateContent`, e.g. the Google Gen AI SDK), and the body goes to the target untouched. As Kong's
 * adapter (kong/llm/adapters/gemini.lua extract_model_and_stream, to_kong_req): the model and the stream flag
 * come from the path's last segment, else the model is the config's and the answer is not streamed. The
 * upstream URL is the one the driver builds for chat (public API or Vertex), so the path cannot move it.
 */
import type { NativeFormat } from '../provider';
import { jsonHeaders } from '../translator-kit/request';
import { nativeMessages, operationOf, pathModel, withSystem } from '../translator-kit/native';
import { geminiUrl } from './index';

/** Kong's pattern: `/models/([^:]+):([^/]+)$`. */
const PATH = /\/models\/([^:]+):([^/:]+)$/;

/** Kong's role_map; other roles are kept as sent. */
const ROLES: Readonly<Record<string, string>> = { human: 'user', model: 'assistant', function: 'tool' };

export const geminiNative: NativeFormat = {
  answersAs: 'llm/v1/chat',
  readsUriCaptures: true,
  read(body, clientPath, captures) {
    const m = operationOf(PATH, clientPath, captures);
    const messages = nativeMessages(body['contents'], 'parts', (r) => (typeof r !== 'string' ? 'user' : Object.hasOwn(ROLES, r) ? ROLES[r]! : r));
    return {
      model: m.model !== undefined ? pathModel(m.model, 'gemini') : undefined,
      stream: m.operation === 'streamGenerateContent',
      messages: withSystem(messages, body['systemInstruction'] ?? body['system_instruction']),
    };
  },
  toRequest(body, ctx) {
    const op = ctx.stream ? 'streamGenerateContent' : 'generateContent';
    // gzip breaks Gemini streaming (gemini.lua pre_request), as for translated requests.
    return { method: 'POST', url: geminiUrl(ctx, op), headers: { ...jsonHeaders(), 'accept-encoding': 'identity' }, body };
  },
};
