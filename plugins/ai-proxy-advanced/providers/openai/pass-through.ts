/**
 * The OpenAI API's other route types (files, batches, assistants, responses, audio, images, video) as the
 * OpenAI-format providers serve them: the request the engine prepared (engine/route-types) goes to the route
 * type's path with the client's method, and the answer comes back as the provider sent it, whatever its type
 * (JSON, audio, a file's bytes). Usage is read where the answer has one: the Responses API, gpt-image and
 * gpt-4o-transcribe count `input_tokens` / `output_tokens`, the older APIs `prompt_tokens` / `completion_tokens`.
 */
import type { TokenUsage, TranslateContext, TranslatedResponse, UpstreamRequest } from '../provider';
import { upstreamUrl, type UrlOptions } from '../translator-kit/url';
import { counts, isObject } from '../translator-kit/guards';
import { readUsage } from './response';

function countMap(v: unknown): Record<string, number> | undefined {
  return isObject(v) && Object.values(v).every((n) => typeof n === 'number') ? (v as Record<string, number>) : undefined;
}

/** Usage in either of OpenAI's namings; zeros when there is none. */
export function passThroughUsage(v: unknown): TokenUsage {
  const u = counts(v, ['input_tokens', 'output_tokens', 'total_tokens'] as const);
  if (u === undefined || (u.input_tokens === undefined && u.output_tokens === undefined)) return readUsage(v);
  const prompt = u.input_tokens ?? 0;
  const completion = u.output_tokens ?? 0;
  const out: TokenUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: u.total_tokens ?? prompt + completion };
  const obj = v as Record<string, unknown>;
  const inDetails = countMap(obj['input_tokens_details']);
  const outDetails = countMap(obj['output_tokens_details']);
  if (inDetails) out.prompt_tokens_details = inDetails;
  if (outDetails) out.completion_tokens_details = outDetails;
  return out;
}

function isJson(contentType: string | undefined): boolean {
  return contentType !== undefined && /\bjson\b/i.test(contentType);
}

/** A 2xx answer, passed on byte for byte; never a translation error (there is nothing to translate). */
export function fromPassThroughBody(headers: Readonly<Record<string, string>>, body: Buffer): TranslatedResponse {
  const out: TranslatedResponse = { body, raw: body, usage: readUsage(undefined) };
  if (!isJson(headers['content-type'])) return out;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return out;
  }
  if (!isObject(parsed)) return out;
  out.usage = passThroughUsage(parsed['usage']);
  if (typeof parsed['model'] === 'string') out.model = parsed['model'];
  return out;
}

/** The provider request: the client's method, the route type's path with the client's operation, the prepared body. */
export function passThroughRequest(ctx: TranslateContext, base: () => string, path: string, query: UrlOptions['query']): UpstreamRequest {
  const pt = ctx.passThrough as NonNullable<TranslateContext['passThrough']>;
  const url = upstreamUrl(ctx, base, path, query ? { urlIsBase: true, operation: pt.operation, query } : { urlIsBase: true, operation: pt.operation });
  // A multipart Content-Type is the client's (its boundary must stay as sent), forwarded with the other headers.
  const json = pt.body !== undefined && !Buffer.isBuffer(pt.body);
  return { method: ctx.clientMethod, url, headers: json ? { 'content-type': 'application/json' } : {}, body: pt.body };
}
