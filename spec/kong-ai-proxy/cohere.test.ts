/**
 * Kong's spec/03-plugins/38-ai-proxy/04-cohere_integration_spec.lua, restated against the local gateway (the
 * project's plugin server over its unix socket, each Kong ai-proxy config as one ai-proxy-advanced target) with
 * Kong's fixtures and Kong's mock locations: the mock checks the key and that the body is Cohere's (`message` for
 * chat, `prompt` for completions), so a wrong translation fails here as it fails in Kong's spec.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RouteType, TargetConfig } from '../../schemas/config';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, type Behaviour, type RecordedRequest } from '../helpers/engine-upstream';
import { checked, fixtureAnswer } from '../helpers/kong-openai-mock';
import { specGet, type SpecResponse } from '../helpers/kong-spec-client';
import { readFixture } from '../helpers/providers-fixtures';

const CHAT = 'kong-oss/cohere/llm-v1-chat';
const COMPLETIONS = 'kong-oss/cohere/llm-v1-completions';
const authorized = (req: RecordedRequest): boolean => req.headers.authorization === 'Bearer cohere-key';

/**
 * Kong's mock server for this spec, by location. Kong's mock refuses a body without Cohere's `message` (chat) or
 * `prompt` (completions); `checked` refuses a null one, and the good-request tests check the field was sent.
 */
const LOCATIONS: Record<string, (req: RecordedRequest) => Behaviour> = {
  '/llm/v1/chat/good': checked(authorized, 'message', `${CHAT}/responses/good.json`, `${CHAT}/responses`),
  '/llm/v1/chat/bad_upstream_response': checked(authorized, 'message', `${CHAT}/responses/bad_upstream_response.json`, `${CHAT}/responses`),
  '/llm/v1/chat/bad_request': () => fixtureAnswer(`${CHAT}/responses/bad_request.json`, 400),
  '/llm/v1/chat/internal_server_error': () => fixtureAnswer(`${CHAT}/responses/internal_server_error.html`, 500, 'text/html'),
  '/llm/v1/completions/good': checked(authorized, 'prompt', `${COMPLETIONS}/responses/good.json`, `${COMPLETIONS}/responses`),
  '/llm/v1/completions/bad_request': () => fixtureAnswer(`${COMPLETIONS}/responses/bad_request.json`, 400),
};

let up: EngineUpstream;
let gw: EngineGateway;
const seen: RecordedRequest[] = [];

function cohere(routeType: RouteType, location: string, auth: TargetConfig['auth'] = { header_name: 'Authorization', header_value: 'Bearer cohere-key' }): TargetConfig {
  return {
    route_type: routeType,
    auth,
    model: { name: 'command', provider: 'cohere', options: { max_tokens: 256, temperature: 1.0, upstream_url: `${up.url}${location}` } },
  };
}

before(async () => {
  up = await EngineUpstream.start((req) => {
    seen.push(req);
    const location = LOCATIONS[req.url.split('?')[0] ?? ''];
    return location ? location(req) : { kind: 'json', status: 404, body: { message: 'no such mock location' } };
  });
  const route = (path: string, target: TargetConfig): { path: string; config: { targets: TargetConfig[] } } => ({ path, config: { targets: [target] } });
  gw = await startEngineGateway([
    route('/cohere/llm/v1/chat/good-no-allow-override', cohere('llm/v1/chat', '/llm/v1/chat/good', { header_name: 'Authorization', header_value: 'Bearer cohere-key', allow_override: false })),
    route('/cohere/llm/v1/chat/good', cohere('llm/v1/chat', '/llm/v1/chat/good', { header_name: 'Authorization', header_value: 'Bearer cohere-key', allow_override: true })),
    route('/cohere/llm/v1/chat/bad_upstream_response', cohere('llm/v1/chat', '/llm/v1/chat/bad_upstream_response')),
    route('/cohere/llm/v1/completions/good', cohere('llm/v1/completions', '/llm/v1/completions/good')),
    route('/cohere/llm/v1/chat/unauthorized', cohere('llm/v1/chat', '/llm/v1/chat/good', { header_name: 'Authorization', header_value: 'Bearer wrong-key' })),
    route('/cohere/llm/v1/chat/bad_request', cohere('llm/v1/chat', '/llm/v1/chat/bad_request')),
    route('/cohere/llm/v1/completions/bad_request', cohere('llm/v1/completions', '/llm/v1/completions/bad_request')),
    route('/cohere/llm/v1/chat/internal_server_error', cohere('llm/v1/chat', '/llm/v1/chat/internal_server_error')),
  ]);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

const get = (path: string, bodyFile: string, headers: Record<string, string> = {}): Promise<SpecResponse> => specGet(gw.proxy, path, readFixture(bodyFile), headers);

/** What every good chat answer of this spec asserts: Kong's format, the model header, the assistant message. */
function assertGoodChat(r: SpecResponse): void {
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json()['model'], 'command');
  assert.equal(r.json()['object'], 'chat.completion');
  assert.equal(r.headers['x-kong-llm-model'], 'cohere/command');
  const choices = r.json()['choices'] as Array<{ message: unknown }>;
  assert.deepEqual(choices[0]?.message, { content: 'The sum of 1 + 1 is 2.', role: 'assistant' });
}

describe('04-cohere_integration_spec.lua, "cohere general"', () => {
  test('"internal_server_error request": the provider\'s 500 reaches the client', async () => {
    const r = await get('/cohere/llm/v1/chat/internal_server_error', `${CHAT}/requests/good.json`);
    assert.equal(r.status, 500);
    // Passed through untouched (Kong's test only checks there is a body): the mock's HTML page, as it sent it.
    assert.match(r.text, /This is a fake Internal Server Error/);
    assert.match(String(r.headers['content-type']), /^text\/html/);
  });

  test('"unauthorized request": the provider\'s 401 body, {"message":"invalid api token"}', async () => {
    const r = await get('/cohere/llm/v1/chat/unauthorized', `${CHAT}/requests/good.json`);
    assert.equal(r.status, 401);
    assert.equal(r.json()['message'], 'invalid api token');
  });
});

describe('04-cohere_integration_spec.lua, "cohere llm/v1/chat"', () => {
  test('"good request": Kong format, X-Kong-LLM-Model cohere/command; the provider got Cohere\'s body', async () => {
    const before = seen.length;
    assertGoodChat(await get('/cohere/llm/v1/chat/good', `${CHAT}/requests/good.json`));
    const sent = seen.slice(before).at(-1);
    assert.equal(sent?.json?.['message'], 'What is 1 + 1?', 'the last user message is Cohere\'s `message`');
    assert.equal(sent?.json?.['model'], 'command');
    assert.equal(sent?.json?.['max_tokens'], 256);
  });

  test('"good request with right client auth"', async () => {
    assertGoodChat(await get('/cohere/llm/v1/chat/good', `${CHAT}/requests/good.json`, { authorization: 'Bearer cohere-key' }));
  });

  test('"good request with wrong client auth": allow_override lets the client\'s key through, the provider says 401', async () => {
    const r = await get('/cohere/llm/v1/chat/good', `${CHAT}/requests/good.json`, { authorization: 'Bearer wrong' });
    assert.equal(r.status, 401);
    assert.equal(r.json()['message'], 'invalid api token');
  });

  test('"good request with right client auth and no allow_override"', async () => {
    assertGoodChat(await get('/cohere/llm/v1/chat/good-no-allow-override', `${CHAT}/requests/good.json`, { authorization: 'Bearer cohere-key' }));
  });

  test('"good request with wrong client auth and no allow_override": the configured key replaces the client\'s', async () => {
    assertGoodChat(await get('/cohere/llm/v1/chat/good-no-allow-override', `${CHAT}/requests/good.json`, { authorization: 'Bearer wrong' }));
  });

  test('"bad upstream response": Kong\'s 500 "transformation failed from type cohere://llm/v1/chat: ..."', async () => {
    const r = await get('/cohere/llm/v1/chat/bad_upstream_response', `${CHAT}/requests/good.json`);
    assert.equal(r.status, 500);
    assert.deepEqual(r.json(), {
      error: { message: "transformation failed from type cohere://llm/v1/chat: 'text' or 'generations' missing from cohere response body" },
    });
  });

  test('"bad request": refused before any provider call with Kong\'s 400', async () => {
    const before = seen.length;
    const r = await get('/cohere/llm/v1/chat/bad_request', `${CHAT}/requests/bad_request.json`);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: { message: "request body doesn't contain valid prompts" } });
    assert.equal(seen.length, before, 'the provider was not called');
  });
});

describe('04-cohere_integration_spec.lua, "cohere llm/v1/completions"', () => {
  test('"good request": text_completion with choices[1].text "1 + 1 is 2."; the provider got a `prompt`', async () => {
    const before = seen.length;
    const r = await get('/cohere/llm/v1/completions/good', `${COMPLETIONS}/requests/good.json`);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json()['model'], 'command');
    assert.equal(r.json()['object'], 'text_completion');
    assert.equal((r.json()['choices'] as Array<{ text: string }>)[0]?.text, '1 + 1 is 2.');
    assert.equal(seen.slice(before).at(-1)?.json?.['prompt'], 'What are you?');
  });

  test('"bad request": Kong\'s 400 "request body doesn\'t contain valid prompts"', async () => {
    const r = await get('/cohere/llm/v1/completions/bad_request', `${COMPLETIONS}/requests/bad_request.json`);
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: { message: "request body doesn't contain valid prompts" } });
  });
});
