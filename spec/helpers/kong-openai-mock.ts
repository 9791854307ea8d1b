/**
 * The OpenAI-format mock server of Kong's ai-proxy integration specs (the `fixtures.http_mock` nginx server of
 * Kong/kong spec/03-plugins/38-ai-proxy/02-openai, 05-azure and 06-mistral _integration_spec.lua), restated as an
 * EngineUpstream behaviour: the same locations, the same credential checks, Kong's fixture files as answers
 * (application/json, nginx's `default_type`), and nginx's 404 for any other path; and the checks Kong's specs make
 * of what comes back.
 */
import assert from 'node:assert/strict';
import type { Behaviour, BehaviourFn, EngineUpstream, RecordedRequest } from './engine-upstream';
import type { SpecResponse } from './kong-spec-client';
import { readFixture } from './providers-fixtures';

const CHAT = 'kong-oss/openai/llm-v1-chat/responses';
const COMPLETIONS = 'kong-oss/openai/llm-v1-completions/responses';

/** A Kong fixture file, sent as the mock's nginx sends it. */
export function fixtureAnswer(file: string, status = 200, contentType = 'application/json'): Behaviour {
  return { kind: 'raw', status, body: readFixture(file).toString('utf8'), headers: { 'content-type': contentType } };
}

/** The client body as the mock's `cjson.safe` decodes it; `undefined` when it is not JSON. */
function body(req: RecordedRequest): Record<string, unknown> | undefined {
  return req.json !== null && typeof req.json === 'object' && !Array.isArray(req.json) ? req.json : undefined;
}

/**
 * A location that checks the credential, then answers 400 for a body that is not JSON or has `"<field>": null`
 * (Lua's `body.<field> == ngx.null`), else `good` (Kong's `good` and `bad_upstream_response` locations).
 */
export function checked(authorized: (req: RecordedRequest) => boolean, field: string, good: string, dir: string): BehaviourFn {
  return (req) => {
    if (!authorized(req)) return fixtureAnswer(`${dir}/unauthorized.json`, 401);
    const b = body(req);
    if (!b || b[field] === null) return fixtureAnswer(`${dir}/bad_request.json`, 400);
    return fixtureAnswer(good);
  };
}

export interface KongMockOptions {
  /** The mock's credential check (OpenAI: bearer header, `apikey` query or body field; Azure: `api-key` header). */
  authorized(req: RecordedRequest): boolean;
  /** A narrower check for `bad_upstream_response` (02-openai checks only the header there). */
  authorizedHeaderOnly?(req: RecordedRequest): boolean;
  /** More locations (Azure's preserve paths; Mistral's /v1/... paths). */
  extra?: Record<string, BehaviourFn>;
}

/** Kong's OpenAI-format mock locations by exact path (nginx `location = ...`). */
export function kongOpenAiMock(opts: KongMockOptions): BehaviourFn {
  const strict = opts.authorizedHeaderOnly ?? opts.authorized;
  const locations: Record<string, BehaviourFn> = {
    '/llm/v1/chat/good': checked(opts.authorized, 'messages', `${CHAT}/good.json`, CHAT),
    '/llm/v1/chat/bad_upstream_response': checked(strict, 'messages', `${CHAT}/bad_upstream_response.json`, CHAT),
    '/llm/v1/chat/bad_request': () => fixtureAnswer(`${CHAT}/bad_request.json`, 400),
    '/llm/v1/chat/internal_server_error': () => fixtureAnswer(`${CHAT}/internal_server_error.html`, 500, 'text/html'),
    '/llm/v1/completions/good': checked(opts.authorized, 'messages', `${COMPLETIONS}/good.json`, COMPLETIONS),
    '/llm/v1/completions/bad_request': () => fixtureAnswer(`${COMPLETIONS}/bad_request.json`, 400),
    '/llm/v1/embeddings/good': (req) => {
      if (!opts.authorized(req)) return fixtureAnswer(`${CHAT}/unauthorized.json`, 401);
      const b = body(req);
      if (!b) return fixtureAnswer(`${CHAT}/bad_request.json`, 400);
      if (b['input'] === 'The food was delicious and the waiter' && b['model'] === 'text-embedding-ada-002') {
        return fixtureAnswer('kong-oss/openai/llm-v1-embeddings/responses/good.json');
      }
      // The Lua block prints nothing for any other body: nginx answers 200 with an empty body.
      return { kind: 'raw', status: 200, body: '', headers: { 'content-type': 'application/json' } };
    },
    ...opts.extra,
  };
  return (req) => {
    const at = Object.hasOwn(locations, pathOf(req)) ? locations[pathOf(req)] : undefined;
    if (at) return at(req);
    return { kind: 'raw', status: 404, body: '<html><head><title>404 Not Found</title></head></html>', headers: { 'content-type': 'text/html' } };
  };
}

export function pathOf(req: RecordedRequest): string {
  return req.url.split('?')[0] ?? '';
}

/** A query parameter of the request the mock received (`ngx.req.get_uri_args()[name]`). */
export function queryArg(req: RecordedRequest, name: string): string | null {
  return new URL(req.url, 'http://mock').searchParams.get(name);
}

/** Kong's checks of the answer its `good` location gives (openai/llm-v1-chat/responses/good.json), passed through. */
export function assertKongChat(json: Record<string, unknown>, model = 'gpt-3.5-turbo-0613'): void {
  assert.equal(json['id'], 'chatcmpl-8T6YwgvjQVVnGbJ2w8hpOA17SeNy2');
  assert.equal(json['model'], model);
  assert.equal(json['object'], 'chat.completion');
  assert.deepEqual((json['choices'] as Array<{ message: unknown }>)[0]!.message, { content: 'The sum of 1 + 1 is 2.', role: 'assistant' });
}

/** A Kong-style error answer: `status` and `error.message`. */
export function assertKongError(r: SpecResponse, status: number, message: string): void {
  assert.equal(r.status, status, r.text);
  assert.equal(r.json<{ error: { message: string } }>().error.message, message);
}

/** Kong's "bad request" cases: the plugin refuses the body with Kong's 400 before any provider call. */
export async function assertNoPrompts(up: EngineUpstream, send: () => Promise<SpecResponse>): Promise<void> {
  const before = up.requests.length;
  assertKongError(await send(), 400, "request body doesn't contain valid prompts");
  assert.equal(up.requests.length, before, 'no provider call');
}

/** The mock's 401 (unauthorized.json), passed through to the client. */
export function assertInvalidApiKey(r: SpecResponse): void {
  assert.equal(r.status, 401, r.text);
  assert.equal(r.json<{ error: { code: string } }>().error.code, 'invalid_api_key');
}

/** The mock's `internal_server_error` location: its 500 page, content type and bytes, passed through. */
export function assertInternalServerErrorPage(r: SpecResponse): void {
  assert.equal(r.status, 500);
  assert.equal(r.headers['content-type'], 'text/html');
  assert.equal(r.text, readFixture(`${CHAT}/internal_server_error.html`).toString('utf8'));
}
