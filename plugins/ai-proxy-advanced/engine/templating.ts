/**
 * `$(headers.x)`, `$(uri_captures.x)`, `$(query_params.x)` in `model.name` and every string under
 * `model.options`, with Kong's rules and error texts (OSS kong/llm/drivers/shared.lua merge_model_options /
 * conf_from_request): the first `$(...)` of a value is replaced, text around it is kept, the expression must be
 * exactly `source.key`. The provider is never templated (Kong reads it from the unmerged config).
 */
import type { ModelConfig } from '../../../schemas/config';
import { InvalidRequestError } from '../errors';

export interface TemplateSources {
  header(name: string): string | undefined;
  queryArg(name: string): string | undefined;
  uriCapture(name: string): string | undefined;
}

const EXPR = /\$\((.*?)\)/;

/** True when the model block contains a template anywhere (decided once per config, not per request). */
export function hasTemplates(value: unknown): boolean {
  if (typeof value === 'string') return EXPR.test(value);
  if (value && typeof value === 'object') return Object.values(value).some(hasTemplates);
  return false;
}

/** True when some template reads `uri_captures` (so the engine fetches them from Kong). */
export function usesUriCaptures(value: unknown): boolean {
  if (typeof value === 'string') return /\$\(uri_captures\./.test(value);
  if (value && typeof value === 'object') return Object.values(value).some(usesUriCaptures);
  return false;
}

function resolveString(v: string, sources: TemplateSources): string {
  const m = EXPR.exec(v);
  if (!m) return v;
  const parts = (m[1] ?? '').split('.');
  if (parts.length !== 2) throw new InvalidRequestError(`cannot parse expression for field '${v}'`);
  const [source, key] = parts as [string, string];
  let evaluated: string | undefined;
  if (source === 'headers') evaluated = sources.header(key);
  else if (source === 'query_params') evaluated = sources.queryArg(key);
  else if (source === 'uri_captures') evaluated = sources.uriCapture(key);
  else throw new InvalidRequestError(`source '${source}' is not supported`);
  if (evaluated === undefined) throw new InvalidRequestError(`${source} key ${key} was not provided`);
  return v.slice(0, m.index) + evaluated + v.slice(m.index + m[0].length);
}

function resolveValue(v: unknown, sources: TemplateSources): unknown {
  if (typeof v === 'string') return resolveString(v, sources);
  if (Array.isArray(v)) return v.map((x) => resolveValue(x, sources));
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = resolveValue(x, sources);
    return out;
  }
  return v;
}

/** A new model block with templates resolved; the config object is never mutated. */
export function resolveModelTemplates(model: ModelConfig, sources: TemplateSources): ModelConfig {
  return {
    ...model,
    name: model.name == null ? model.name : resolveString(model.name, sources),
    options: model.options == null ? model.options : (resolveValue(model.options, sources) as ModelConfig['options']),
  };
}
