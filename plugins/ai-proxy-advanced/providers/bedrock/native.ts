/**
 * `llm_format: bedrock`: the client speaks Bedrock's Converse API (`/model/{modelId}/converse` or
 * `/converse-stream`, e.g. the AWS SDK's BedrockRuntimeClient), and the body goes to the target untouched,
 * signed with SigV4 like any Bedrock request. As Kong's adapter (kong/llm/adapters/bedrock.lua
 * extract_model_and_stream): model (percent-decoded) and stream flag from the path's last two segments, else
 * the config's model and no stream. The URL is the driver's: the path's model is one encoded segment.
 */
import type { NativeFormat } from '../provider';
import { isObject } from '../translator-kit/guards';
import { jsonHeaders } from '../translator-kit/request';
import { nativeMessages, operationOf, pathModel, withSystem } from '../translator-kit/native';
import { bedrockUrl, refuseAssumeRole } from './index';

/** Kong's pattern: `/model/([^/]+)/([^/]+)$`. */
const PATH = /\/model\/([^/]+)\/([^/]+)$/;

export const bedrockNative: NativeFormat = {
  answersAs: 'llm/v1/chat',
  readsUriCaptures: true,
  read(body, clientPath, captures) {
    const m = operationOf(PATH, clientPath, captures);
    // As Kong's adapter: a message carrying a toolResult is the tool's; other roles are kept as sent.
    const messages = nativeMessages(body['messages'], 'content', (r, m) =>
      Array.isArray(m['content']) && m['content'].some((p) => isObject(p) && 'toolResult' in p) ? 'tool' : typeof r === 'string' ? r : 'user',
    );
    return {
      model: m.model !== undefined ? pathModel(m.model, 'bedrock') : undefined,
      stream: m.operation === 'converse-stream',
      messages: withSystem(messages, body['system']),
    };
  },
  toRequest(body, ctx) {
    refuseAssumeRole(ctx);
    return { method: 'POST', url: bedrockUrl(ctx, ctx.stream ? 'converse-stream' : 'converse'), headers: jsonHeaders(), body };
  },
};
