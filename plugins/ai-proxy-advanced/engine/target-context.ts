/**
 * Everything decided about one attempt before the driver builds the provider request, in Kong's order and with
 * its texts (OSS kong/llm/plugin/shared-filters/normalize-request.lua validate_and_transform, kong/llm/init.lua
 * is_compatible): templates, prompt validation, model from config or request, own-model enforcement, format vs
 * route type, streaming. Pure: the same body and client request give the same answer for a target.
 */
import type { FilledConfig, ModelConfig, RouteType, TargetConfig } from '../../../schemas/config';
import { InvalidRequestError, UnsupportedFeatureError } from '../errors';
import type { TranslateContext } from '../providers/provider';
import { estimatePromptTokens } from '../providers/streams/usage-estimate';
import { firstHeader, firstQueryArg, type ClientRequest } from './pdk';
import { resolveModelTemplates, type TemplateSources } from './templating';
import type { ParsedBody } from './parse-request';
import { withOwn } from '../providers/translator-kit/assign-own';
import { passThroughAttempt, passThroughRoute, resolveModelName, type PassThroughRoute } from './route-types';

export interface PreparedTarget {
  readonly config: TargetConfig;
  /** Precomputed: the model block has no `$(...)`, so it is used as is. */
  readonly templated: boolean;
}

export interface AttemptContext {
  readonly ctx: TranslateContext;
  /** The target with its resolved model block (what analytics and the driver see). */
  readonly target: TargetConfig;
}

export function templateSources(client: ClientRequest): TemplateSources {
  return {
    header: (n) => firstHeader(client.headers, n),
    queryArg: (n) => firstQueryArg(client.query, n),
    uriCapture: (n) => client.uriCaptures[n],
  };
}

/** Kong's validate_incoming: chat needs a non-empty `messages` array, completions a string `prompt`. */
function hasValidPrompts(body: Record<string, unknown>, routeType: RouteType): boolean {
  if (routeType === 'llm/v1/embeddings') {
    const input = body.input;
    return typeof input === 'string' || (Array.isArray(input) && input.length > 0);
  }
  return (Array.isArray(body.messages) && body.messages.length > 0) || typeof body.prompt === 'string';
}

/** Kong's identify_request + is_compatible for the chat/completions route types. */
function checkFormat(body: Record<string, unknown>, routeType: RouteType): void {
  if (routeType !== 'llm/v1/chat' && routeType !== 'llm/v1/completions') return;
  const formats: RouteType[] = [];
  if (Array.isArray(body.messages) && body.messages.length > 0) formats.push('llm/v1/chat');
  if (typeof body.prompt === 'string') formats.push('llm/v1/completions');
  if (formats.length > 1) throw new InvalidRequestError('request matches multiple LLM request formats');
  const format = formats[0];
  if (format === undefined) throw new InvalidRequestError('request format not recognised');
  if (format !== routeType) {
    throw new InvalidRequestError(`[${format}] message format is not compatible with [${routeType}] route type`);
  }
}

/** The last modelHeaderValue answer (it holds for its own inputs). */
let lastHeader: { provider: string; model: string; value: string | undefined } = { provider: '', model: '', value: '/' };

/**
 * `provider/model` for X-Kong-LLM-Model when it can be a header value everywhere (printable ASCII): a model name
 * from the request body may be any Unicode, which Kong would send as raw UTF-8 bytes and Node refuses (a 500
 * after the provider answered, found by spec/fuzz/requests.test.ts). Otherwise the header is left out, as the
 * stream endpoint does.
 */
export function modelHeaderValue(provider: string, model: string): string | undefined {
  // Nearly every answer names the same provider and model as the one before: checked once, not per request.
  if (provider === lastHeader.provider && model === lastHeader.model) return lastHeader.value;
  const v = `${provider}/${model}`;
  const value = /^[\t\x20-\x7e]*$/.test(v) ? v : undefined;
  lastHeader = { provider, model, value };
  return value;
}

export function isStreamRequest(body: Record<string, unknown>, config: FilledConfig): boolean {
  return body.stream === true || config.response_streaming === 'always';
}

/** A route type passed through in OpenAI's own format (engine/route-types): no prompt or format checks. */
function passThroughContext(route: PassThroughRoute, cfg: TargetConfig, model: ModelConfig, parsed: ParsedBody, client: ClientRequest, config: FilledConfig): AttemptContext {
  const wantsStream = isStreamRequest(parsed.json, config);
  const attempt = passThroughAttempt(route, cfg.route_type, model, parsed, client, wantsStream);
  if (attempt.stream && config.response_streaming === 'deny') throw new InvalidRequestError('response streaming is not enabled for this LLM');
  const resolved = (attempt.model ?? null) === (model.name ?? null) ? model : withOwn(model, { name: attempt.model ?? null });
  const target: TargetConfig = resolved === cfg.model ? cfg : withOwn(cfg, { model: resolved });
  return {
    target,
    ctx: {
      target,
      provider: cfg.model.provider,
      routeType: cfg.route_type,
      model: attempt.model ?? '',
      stream: attempt.stream,
      clientPath: client.path,
      clientQuery: client.query,
      clientMethod: client.method,
      passThrough: attempt.request,
    },
  };
}

export function buildAttemptContext(
  prepared: PreparedTarget,
  parsed: ParsedBody,
  client: ClientRequest,
  config: FilledConfig,
): AttemptContext {
  const body = parsed.json;
  const cfg = prepared.config;
  let model: ModelConfig = prepared.templated ? resolveModelTemplates(cfg.model, templateSources(client)) : cfg.model;
  const routeType = cfg.route_type;
  const preserve = routeType === 'preserve';

  const passRoute = passThroughRoute(routeType);
  if (passRoute) return passThroughContext(passRoute, cfg, model, parsed, client, config);

  if (!preserve && !hasValidPrompts(body, routeType)) throw new InvalidRequestError("request body doesn't contain valid prompts");

  const name = resolveModelName(model, typeof body.model === 'string' ? body.model : undefined, !preserve);
  if (name !== model.name) model = withOwn(model, { name });

  checkFormat(body, routeType);

  const stream = isStreamRequest(body, config);
  if (stream && config.response_streaming === 'deny') throw new InvalidRequestError('response streaming is not enabled for this LLM');
  const options = body.stream_options;
  const includeUsage = options !== null && typeof options === 'object' && (options as Record<string, unknown>).include_usage === true;

  const target: TargetConfig = model === cfg.model ? cfg : withOwn(cfg, { model });
  return {
    target,
    ctx: {
      target,
      provider: cfg.model.provider,
      routeType,
      model: name ?? '',
      stream,
      clientPath: client.path,
      clientQuery: client.query,
      clientMethod: client.method,
      includeUsage,
      // Kong estimates a stream's prompt from the client's request (normalize-request.lua); asked for only when
      // the provider reports no prompt tokens, so the words are counted only then. Always listed (undefined
      // when buffered), not spread in: a spread in this literal left V8's fast path (assign-own.ts).
      promptTokensEstimate: stream ? () => estimatePromptTokens(body) : undefined,
    },
  };
}
