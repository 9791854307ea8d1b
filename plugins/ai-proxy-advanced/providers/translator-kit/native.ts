/**
 * Helpers of the native formats (`llm_format`, providers/<provider>/native.ts): reading a model from the client's
 * path, and flattening a native message to text for the engine's checks. Lenient about content: a native part
 * the engine does not read (images, tool calls) is the provider's business, not a client error.
 */
import { InvalidRequestError } from '../../errors';
import type { TranslateContext } from '../provider';
import { isObject } from './guards';
import { modelNameProblem } from './model-name';
import { assignOwn } from './assign-own';

/** Longest model id taken from a path: real ids (Bedrock ARNs included) are well under it. */
export const MAX_PATH_MODEL_LENGTH = 256;

/**
 * A model id from the client's path, percent-decoded (Kong's bedrock adapter unescapes it; SDKs encode `:` and
 * `/` of ARNs). It is a value, never a path: the driver encodes it again as one segment, and what could move
 * the upstream path or make a header unsafe is refused with a 400.
 */
export function pathModel(raw: string, format: string): string {
  let v: string;
  try {
    v = decodeURIComponent(raw);
  } catch {
    throw new InvalidRequestError(`llm_format '${format}': the model in the request path is not valid percent-encoding`);
  }
  if (v === '' || v.length > MAX_PATH_MODEL_LENGTH || !/^[\x21-\x7e]+$/.test(v)) {
    throw new InvalidRequestError(`llm_format '${format}': the model in the request path must be 1 to ${MAX_PATH_MODEL_LENGTH} printable ASCII characters`);
  }
  const problem = modelNameProblem(v);
  if (problem !== undefined) throw new InvalidRequestError(`llm_format '${format}': ${problem}`);
  return v;
}

/**
 * Model and operation of a path-addressed native API, as Kong's adapters find them (extract_model_and_stream):
 * the route's named URI captures `model` and `operation` first, else the path's last segments by `pattern`
 * (two groups: model, operation), each part from wherever it was found.
 */
export function operationOf(pattern: RegExp, clientPath: string, captures: Readonly<Record<string, string>>): { model?: string; operation?: string } {
  let model = Object.hasOwn(captures, 'model') ? captures['model'] : undefined;
  let operation = Object.hasOwn(captures, 'operation') ? captures['operation'] : undefined;
  if (model === undefined || operation === undefined) {
    const m = pattern.exec(clientPath);
    model = m?.[1] ?? model;
    operation = m?.[2] ?? operation;
  }
  return { model, operation };
}

/** The text of native content: a string, an object with a string `text`, or an array of those. */
export function nativeText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) return content.map(nativeText).join('');
  if (isObject(content) && typeof content['text'] === 'string') return content['text'];
  return '';
}

/** Native messages (`[{role, <content field>}]`) as chat messages; entries that are not objects are skipped. */
export function nativeMessages(
  list: unknown,
  contentField: string,
  roleOf: (role: unknown, message: Record<string, unknown>) => string,
): Array<{ role: string; content: string }> {
  if (isObject(list)) list = [list];
  if (!Array.isArray(list)) return [];
  const out: Array<{ role: string; content: string }> = [];
  for (const m of list) if (isObject(m)) out.push({ role: roleOf(m['role'], m), content: nativeText(m[contentField]) });
  return out;
}

/** A system prompt (string or text parts) as the first chat message, when there is one. */
export function withSystem(messages: Array<{ role: string; content: string }>, system: unknown): Array<{ role: string; content: string }> {
  const text = nativeText(isObject(system) && 'parts' in system ? system['parts'] : system);
  return text === '' || messages.length === 0 ? messages : [{ role: 'system', content: text }, ...messages];
}

/**
 * The body of a format that names its model and stream flag in the body (Anthropic, Cohere): the client's own
 * object (sent as its bytes) unless the target's model is missing from it or a stream is forced by
 * `response_streaming: always`; then a copy with those set. A model the client named is the target's (the
 * engine refused any other: "cannot use own model").
 */
export function bodyWithModelAndStream(body: Record<string, unknown>, ctx: TranslateContext): Record<string, unknown> {
  const needsModel = ctx.model !== '' && body['model'] !== ctx.model;
  const needsStream = ctx.stream && body['stream'] !== true;
  if (!needsModel && !needsStream) return body;
  const out = assignOwn({}, body);
  if (needsModel) out['model'] = ctx.model;
  if (needsStream) out['stream'] = true;
  return out;
}
