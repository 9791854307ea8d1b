/**
 * `huggingface` driver (Kong OSS huggingface.lua huggingface_endpoint): base URL is model.options.upstream_url,
 * else https://api-inference.huggingface.co/models/{model}; chat goes to `{base}/v1/chat/completions` in OpenAI
 * format (the one OpenAI format, providers/openai/), completions and embeddings to `{base}`.
 */
import { InvalidRequestError } from '../../errors';
import type { ProviderDriver, TranslateContext } from '../provider';
import { openAiRequest } from '../openai/request';
import { fromOpenAiBody } from '../openai/response';
import { createOpenAiSseTranslator } from '../openai/stream';
import { jsonHeaders, modelOptions } from '../translator-kit/request';
import { passThroughError } from '../translator-kit/response';
import { unsupportedRoute } from '../translator-kit/route';
import { toHfCompletions, toHfEmbeddings } from './request';
import { fromHfCompletions, fromHfEmbeddings } from './response';
import { createTgiStreamTranslator } from './stream';
import { huggingfaceNative } from './native';

export function hfBase(ctx: TranslateContext): string {
  return modelOptions(ctx).upstream_url ?? `https://api-inference.huggingface.co/models/${hfModelPath(ctx.model)}`;
}

/**
 * A Hugging Face model id (`org/name`) as URL path segments. The name may come from the client's body, so it may
 * not leave `/models/`: each segment is percent-encoded (no `?`, `#`, `\` or `%` survive), and empty or dot
 * segments are refused.
 */
export function hfModelPath(model: string): string {
  const segments = model.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new InvalidRequestError(`model '${model.slice(0, 200)}' is not a Hugging Face model id (org/name)`);
  }
  return segments.map((s) => encodeURIComponent(s)).join('/');
}

export const huggingfaceDriver: ProviderDriver = {
  name: 'huggingface',
  routeTypes: ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'],
  toRequest(body, ctx) {
    const base = hfBase(ctx);
    switch (ctx.routeType) {
      case 'llm/v1/chat':
        return openAiRequest(body, ctx, `${base.replace(/\/+$/, '')}/v1/chat/completions`);
      case 'llm/v1/completions':
        return { method: 'POST', url: base, headers: jsonHeaders(), body: toHfCompletions(body, ctx) };
      case 'llm/v1/embeddings':
        return { method: 'POST', url: base, headers: jsonHeaders(), body: toHfEmbeddings(body, ctx) };
      default:
        throw unsupportedRoute('huggingface', ctx);
    }
  },
  fromResponse(_s, _h, body, ctx) {
    if (ctx.routeType === 'llm/v1/completions') return fromHfCompletions(body, ctx);
    if (ctx.routeType === 'llm/v1/embeddings') return fromHfEmbeddings(body, ctx);
    return fromOpenAiBody(body, ctx);
  },
  fromError: (status, headers, body) => passThroughError(status, headers, body),
  native: huggingfaceNative,
  createStreamTranslator(ctx) {
    return ctx.routeType === 'llm/v1/completions'
      ? createTgiStreamTranslator(ctx)
      : createOpenAiSseTranslator(ctx);
  },
};
