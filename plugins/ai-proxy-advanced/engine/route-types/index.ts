/**
 * The route types passed through in the OpenAI API's own format (files, batches, assistants, responses, audio,
 * images, video): nothing to translate, so the client's request goes to the provider's path for the route type
 * with the configured auth, and the answer comes back as the provider sent it (JSON, audio bytes, file
 * contents), its usage counted when it has one. Which providers serve which of these is decided at config
 * time (schemas/definition/route-support.ts); what a request may do with them is decided here, the same for
 * every provider: methods, sub-resources, and the model the request may carry.
 *
 * Kong 3.11+ documents files, batches, assistants and responses as REST resources ("POST to create a response,
 * GET to retrieve it, or DELETE to remove it"): the client's path names the resource (`.../files/file-abc/content`,
 * as the OpenAI SDKs build it under their base URL) and what follows it is sent on after the provider's path
 * for the route type. Each following segment is one path segment, percent-encoded again before it is sent;
 * `.`, `..`, an encoded `/` or `\` are refused, so no client value moves the request elsewhere on the provider.
 */
import type { FilledConfig, ModelConfig, RouteType } from '../../../../schemas/config';
import { InvalidRequestError } from '../../errors';
import type { PassThroughRequest } from '../../providers/provider';
import type { ParsedBody } from '../parse-request';
import { withModelPart, withModelValue } from './multipart';
import { aliasOf, requestedModel } from '../model-alias';
import { assignOwn, withOwn } from '../../providers/translator-kit/assign-own';

export interface PassThroughRoute {
  /** Methods a client may use (anything else is a 400 naming them). */
  readonly methods: readonly string[];
  /** The resource the route type's path ends with (`files` for `/v1/files`). */
  readonly resource: string;
  /** Other resources of the same API (the Assistants API's threads, runs and messages live under /threads). */
  readonly aliases?: readonly string[];
  /** Segments a client path may have after the resource: ids and actions (`{id}/content`). */
  readonly depth: number;
  /** Creating one (POST to the resource itself) names a model: the configured one is enforced, or added. */
  readonly model: boolean;
  /** `stream: true` answers with server-sent events. */
  readonly stream: boolean;
}

const REST = ['GET', 'POST', 'DELETE'] as const;
const POST = ['POST'] as const;

// Sub-resources per the OpenAI API reference: files/{id}/content, batches/{id}/cancel, responses/{id}/input_items,
// threads/{id}/runs/{run}/steps/{step}, videos/{id}/content.
const ROUTES: Partial<Record<RouteType, PassThroughRoute>> = {
  'llm/v1/files': { methods: REST, resource: 'files', depth: 2, model: false, stream: false },
  'llm/v1/batches': { methods: ['GET', 'POST'], resource: 'batches', depth: 2, model: false, stream: false },
  'llm/v1/assistants': { methods: REST, resource: 'assistants', aliases: ['threads'], depth: 5, model: true, stream: false },
  'llm/v1/responses': { methods: REST, resource: 'responses', depth: 2, model: true, stream: true },
  'audio/v1/audio/speech': { methods: POST, resource: 'speech', depth: 0, model: true, stream: false },
  'audio/v1/audio/transcriptions': { methods: POST, resource: 'transcriptions', depth: 0, model: true, stream: false },
  'audio/v1/audio/translations': { methods: POST, resource: 'translations', depth: 0, model: true, stream: false },
  'image/v1/images/generations': { methods: POST, resource: 'generations', depth: 0, model: true, stream: false },
  'image/v1/images/edits': { methods: POST, resource: 'edits', depth: 0, model: true, stream: false },
  'video/v1/videos/generations': { methods: REST, resource: 'videos', depth: 2, model: true, stream: false },
};

export function passThroughRoute(routeType: RouteType): PassThroughRoute | undefined {
  return ROUTES[routeType];
}

/**
 * Whether a request that asks for a stream (`stream: true`, `response_streaming: always`) gets one when some
 * target is a pass-through route type: only a JSON POST that creates one on a route type that streams
 * (`POST .../responses`), or when some target is a translated route type. Listing files, cancelling a response
 * or uploading audio under `always` stays a plain answer.
 */
export function mayStream(config: FilledConfig, client: { method: string; path: string }, parsed: ParsedBody): boolean {
  if (client.method !== 'POST' || parsed.form !== undefined) return false;
  return config.targets.some((t) => {
    const route = passThroughRoute(t.route_type);
    return route === undefined || (route.stream && createsOn(route, client));
  });
}

/** A POST to the resource itself (`/responses`), not to one of its ids or actions; a bad path is not one. */
function createsOn(route: PassThroughRoute, client: { method: string; path: string }): boolean {
  if (client.method !== 'POST') return false;
  try {
    const op = operationOf(route, client.path);
    return op.resource === route.resource && op.rest === '';
  } catch {
    return false;
  }
}

/** Longest id or action segment taken from a client path. */
const MAX_SEGMENT = 256;
/** Longest model name a client may choose for a target without `model.name`. */
export const MAX_REQUESTED_MODEL = 256;

function segmentOf(raw: string): string {
  let s: string;
  try {
    s = decodeURIComponent(raw);
  } catch {
    throw new InvalidRequestError(`path segment '${raw.slice(0, 64)}' is not valid percent-encoding`);
  }
  if (s === '' || s === '.' || s === '..' || s.length > MAX_SEGMENT || /[/\\\x00-\x1f\x7f]/.test(s)) {
    throw new InvalidRequestError(`path segment '${raw.slice(0, 64)}' is not an id this route accepts`);
  }
  return encodeURIComponent(s);
}

/**
 * What the client path asks for after the route type's resource: the last segment naming the resource (or an
 * alias), so a route at `/files` serves the SDK's `/files/files/{id}`; OpenAI's ids carry a prefix (`file-`,
 * `resp_`, `thread_`) and never equal a resource name. At most `depth` segments may follow it. A path without
 * one (a route at `/my-files`) asks for the resource itself.
 */
export function operationOf(route: PassThroughRoute, clientPath: string): { resource: string; rest: string } {
  if (route.depth === 0) return { resource: route.resource, rest: '' };
  const segs = clientPath.split('/').filter((s) => s !== '');
  for (let i = segs.length - 1; i >= 0; i--) {
    const seg = segs[i] as string;
    if (seg !== route.resource && !route.aliases?.includes(seg)) continue;
    if (segs.length - i - 1 > route.depth) {
      throw new InvalidRequestError(`the path has more than ${route.depth} segments after '${seg}'`);
    }
    const rest = segs.slice(i + 1).map(segmentOf);
    return { resource: seg, rest: rest.length === 0 ? '' : `/${rest.join('/')}` };
  }
  return { resource: route.resource, rest: '' };
}

/**
 * The model rule of every route type, as Kong's normalize-request.lua has it: the configured name wins, a
 * different one in the request is refused, a request without one gets the configured one. `required`: neither
 * is an error (chat, completions, embeddings).
 */
export function resolveModelName(model: ModelConfig, requested: string | undefined, required: boolean): string | undefined {
  let name = model.name ?? undefined;
  // model_alias (3.14, model-alias.ts): the alias stands for this target's model.name, which goes upstream; a
  // target with an alias and no name passes the alias on as the model.
  if (requested !== undefined && requested === aliasOf({ model })) requested = name ?? requested;
  if (name === undefined && requested !== undefined) {
    // The name goes into X-Kong-LLM-Model with the answer: a control character there failed the response only
    // after the provider had been called (and paid). Template values are checked in templating.ts.
    if (/[\x00-\x1f\x7f]/.test(requested)) throw new InvalidRequestError('model may not contain control characters');
    // It also goes into provider URLs (Gemini, Bedrock paths) and their bounded memos: an id of some hundred
    // characters is the longest real one (Bedrock ARNs); a megabyte "model" would only hold memory.
    if (requested.length > MAX_REQUESTED_MODEL) throw new InvalidRequestError(`model is longer than ${MAX_REQUESTED_MODEL} characters`);
    name = requested;
  }
  if (requested !== undefined && requested !== '' && requested !== name) {
    throw new InvalidRequestError(`cannot use own model - must be: ${name ?? ''}`);
  }
  if (name === undefined && required) throw new InvalidRequestError('model parameter not found in request, nor in gateway configuration');
  return name;
}

/** Tuning a configured model carries onto a Responses API request (its token limit is `max_output_tokens`). */
function responsesTuning(json: Record<string, unknown>, model: ModelConfig): Record<string, unknown> {
  const o = model.options;
  if (!o || (o.temperature == null && o.top_p == null && o.max_tokens == null)) return json;
  const out = assignOwn({}, json);
  if (o.temperature != null) out['temperature'] = o.temperature;
  if (o.top_p != null) out['top_p'] = o.top_p;
  if (o.max_tokens != null) out['max_output_tokens'] = o.max_tokens;
  return out;
}

export interface PassThroughAttempt {
  readonly model: string | undefined;
  readonly stream: boolean;
  readonly request: PassThroughRequest;
}

/**
 * One attempt of a pass-through route type: the method checked, the client path's operation, the model rule,
 * and the body to send: the client's bytes (the very ParsedBody.json object for JSON, so the engine sends the
 * bytes as they came), or with the configured model added to a create request that named none.
 */
export function passThroughAttempt(
  route: PassThroughRoute,
  routeType: RouteType,
  model: ModelConfig,
  parsed: ParsedBody,
  client: { method: string; path: string },
  wantsStream: boolean,
): PassThroughAttempt {
  if (!route.methods.includes(client.method)) {
    throw new InvalidRequestError(`method ${client.method} is not allowed for route_type ${routeType} (allowed: ${route.methods.join(', ')})`);
  }
  const operation = operationOf(route, client.path);
  const requested = requestedModel(parsed);
  const name = resolveModelName(model, requested, false);
  const creates = client.method === 'POST' && operation.resource === route.resource && operation.rest === '';
  const addModel = route.model && creates && requested === undefined && name !== undefined;
  // Only creating one streams (mayStream decided the delivery the same way).
  const stream = route.stream && wantsStream && creates && parsed.form === undefined;
  let body: PassThroughRequest['body'];
  // The request named this target's alias: model.name goes upstream instead (resolveModelName refused any other).
  const renamed = requested !== undefined && name !== undefined && requested !== name;
  if (parsed.form) {
    if (addModel) body = withModelPart(parsed.raw, parsed.form.boundary, name as string);
    else body = renamed ? withModelValue(parsed.raw, parsed.form.boundary, name as string) : parsed.raw;
  } else if (parsed.raw.length === 0) {
    body = undefined;
  } else {
    let json = parsed.json;
    // A create that names no model gets the configured one; one that named this target's alias gets its model.name.
    if (addModel || renamed) json = withOwn(json, { model: name });
    if (creates && routeType === 'llm/v1/responses') {
      json = responsesTuning(json, model);
      // `response_streaming: always`: the provider must be asked for the stream the client will get.
      if (stream && json.stream !== true) json = withOwn(json, { stream: true });
    }
    body = json;
  }
  return { model: name, stream, request: { operation: { from: route.resource, resource: operation.resource, rest: operation.rest }, body } };
}
