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
import { upstreamUrl } from '../translator-kit/url';
import { toHfCompletions, toHfEmbeddings } from './request';
import { fromHfCompletions, fromHfEmbeddings } from './response';
import { createTgiStreamTranslator } from './stream';
import { huggingfaceNative } from './native';

const HF_API = 'https://api-inference.huggingface.co';

/**
 * The upstream URL of an operation (`suffix`: '' for completions and embeddings, `/v1/chat/completions`,
 * `/generate`, `/generate_stream`). As Kong's huggingface.lua: the base is `upstream_url`, else the Inference
 * API's URL of the model, and the suffix goes at the end of that base's path (a query or fragment in
 * `upstream_url` stays a query or fragment; text glued after it would have moved the operation into them);
 * `upstream_path` plays no part (Kong's driver never reads it).
 */
export function hfUrl(ctx: TranslateContext, suffix: string): string {
  if (modelOptions(ctx).upstream_url) {
    // The one URL builder (translator-kit/url.ts), which reads no upstream_path beside an upstream_url;
    // `operation.rest` is its way to append to the path it used (from === resource: no swap).
    return upstreamUrl(ctx, HF_API, '/', suffix === '' ? {} : { operation: { from: '', resource: '', rest: suffix } });
  }
  // Our constant base and the model's path, joined as the builder joins them, per request and remembered
  // nowhere: the model may be the client's (a target without model.name), and the join costs less than a
  // memo lookup.
  return `${HF_API}/models/${hfModelPath(ctx.model)}${suffix}`;
}

/**
 * A Hugging Face model id (`name` or `org/name`) as URL path segments. The name may come from the client's body,
 * so it may not leave `/models/` nor reach another resource below it: at most two segments, each
 * percent-encoded (no `?`, `#`, `\` or `%` survive), and empty or dot segments are refused.
 */
export function hfModelPath(model: string): string {
  const segments = model.split('/');
  if (segments.length > 2 || segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new InvalidRequestError(`model '${model.slice(0, 200)}' is not a Hugging Face model id (org/name)`);
  }
  return segments.map((s) => encodeURIComponent(s)).join('/');
}

export const huggingfaceDriver: ProviderDriver = {
  name: 'huggingface',
  routeTypes: ['llm/v1/chat', 'llm/v1/completions', 'llm/v1/embeddings'],
  toRequest(body, ctx) {
    switch (ctx.routeType) {
      case 'llm/v1/chat':
        return openAiRequest(body, ctx, hfUrl(ctx, '/v1/chat/completions'));
      case 'llm/v1/completions':
        return { method: 'POST', url: hfUrl(ctx, ''), headers: jsonHeaders(), body: toHfCompletions(body, ctx) };
      case 'llm/v1/embeddings':
        return { method: 'POST', url: hfUrl(ctx, ''), headers: jsonHeaders(), body: toHfEmbeddings(body, ctx) };
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
