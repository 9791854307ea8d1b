/**
 * Kong's spec/03-plugins/38-ai-proxy/10-huggingface_integration_spec.lua, restated against the local gateway (the
 * project's plugin server over its unix socket, each Kong ai-proxy config as one ai-proxy-advanced target) with
 * Kong's fixtures. As in Kong's spec, `upstream_url` is the mock's base URL: chat goes to
 * `{base}/v1/chat/completions` (OpenAI format), completions to `{base}` itself (Hugging Face's `inputs` format).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { RouteType, TargetConfig } from '../../schemas/config';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, type Behaviour, type RecordedRequest } from '../helpers/engine-upstream';
import { checked, fixtureAnswer } from '../helpers/kong-openai-mock';
import { specGet, type SpecResponse } from '../helpers/kong-spec-client';
import { readFixture } from '../helpers/providers-fixtures';

const CHAT = 'kong-oss/huggingface/llm-v1-chat';
const COMPLETIONS = 'kong-oss/huggingface/llm-v1-completions';
const authorized = (req: RecordedRequest): boolean => req.headers.authorization === 'Bearer huggingface-key';
const MODEL = 'mistralai/Mistral-7B-Instruct-v0.2';

/** Kong's mock server for this spec, by location. */
const LOCATIONS: Record<string, (req: RecordedRequest) => Behaviour> = {
  '/v1/chat/completions': checked(authorized, 'messages', `${CHAT}/responses/good.json`, `${CHAT}/responses`),
  // "completions is on the root of huggingface models"; the good-request test checks the body is Hugging Face's.
  '/': checked(authorized, 'prompt', `${COMPLETIONS}/responses/good.json`, `${COMPLETIONS}/responses`),
  '/model-loading/v1/chat/completions': () => fixtureAnswer(`${CHAT}/responses/bad_response_model_load.json`, 503),
  '/model-timeout/v1/chat/completions': () => fixtureAnswer(`${CHAT}/responses/bad_response_timeout.json`, 504),
};

let up: EngineUpstream;
let gw: EngineGateway;
const seen: RecordedRequest[] = [];

function hf(routeType: RouteType, auth: { header_name: string; header_value: string }, opts: { prefix?: string; waitForModel?: boolean } = {}): TargetConfig {
  return {
    route_type: routeType,
    auth,
    model: {
      name: MODEL,
      provider: 'huggingface',
      options: {
        max_tokens: 256,
        temperature: 1.0,
        huggingface: { use_cache: false, wait_for_model: opts.waitForModel ?? true },
        upstream_url: `${up.url}${opts.prefix ?? ''}`,
      },
    },
  };
}

before(async () => {
  up = await EngineUpstream.start((req) => {
    seen.push(req);
    const location = LOCATIONS[req.url.split('?')[0] ?? ''];
    return location ? location(req) : { kind: 'json', status: 404, body: { error: 'no such mock location' } };
  });
  const good = { header_name: 'Authorization', header_value: 'Bearer huggingface-key' };
  const wrong = { header_name: 'api-key', header_value: 'wrong-key' };
  const apiKey = { header_name: 'api-key', header_value: 'huggingface-key' };
  const route = (path: string, target: TargetConfig): { path: string; config: { targets: TargetConfig[] } } => ({ path, config: { targets: [target] } });
  gw = await startEngineGateway([
    route('/huggingface/llm/v1/chat/good', hf('llm/v1/chat', good)),
    route('/huggingface/llm/v1/completions/good', hf('llm/v1/completions', good)),
    route('/huggingface/llm/v1/chat/unauthorized', hf('llm/v1/chat', wrong)),
    route('/huggingface/llm/v1/completions/unauthorized', hf('llm/v1/completions', wrong)),
    route('/huggingface/llm/v1/chat/bad-response/model-loading', hf('llm/v1/chat', apiKey, { prefix: '/model-loading', waitForModel: false })),
    route('/huggingface/llm/v1/chat/bad-response/model-timeout', hf('llm/v1/chat', apiKey, { prefix: '/model-timeout', waitForModel: false })),
  ]);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

/** Kong's client:get; a Lua table body goes as JSON (`{ messages = ngx.null }` is `{"messages":null}`). */
const get = (path: string, body: Buffer | Record<string, unknown>): Promise<SpecResponse> => specGet(gw.proxy, path, Buffer.isBuffer(body) ? body : JSON.stringify(body));
const file = (rel: string): Buffer => readFixture(rel);

describe('10-huggingface_integration_spec.lua, "huggingface llm/v1/chat"', () => {
  test('"good request": the OpenAI-format answer of {base}/v1/chat/completions', async () => {
    const before = seen.length;
    const r = await get('/huggingface/llm/v1/chat/good', file(`${CHAT}/requests/good.json`));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json()['model'], MODEL);
    assert.equal(r.json()['object'], 'chat.completion');
    const choice = (r.json()['choices'] as Array<{ message: { content: string } }>)[0];
    assert.equal(
      choice?.message.content,
      ' The sum of 1 + 1 is 2. This is a basic arithmetic operation and the answer is always the same: adding one to one results in having two in total.',
    );
    const sent = seen.slice(before).at(-1);
    assert.equal(sent?.url, '/v1/chat/completions');
    assert.equal(sent?.json?.['model'], MODEL);
  });
});

describe('10-huggingface_integration_spec.lua, "huggingface llm/v1/completions"', () => {
  test('"good request": Kong\'s shape (object llm/v1/completions, choices[1].message.content), plus OpenAI\'s text', async () => {
    const before = seen.length;
    const r = await get('/huggingface/llm/v1/completions/good', file(`${COMPLETIONS}/requests/good.json`));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json()['model'], MODEL);
    assert.equal(r.json()['object'], 'llm/v1/completions');
    const choice = (r.json()['choices'] as Array<{ message: { content: string }; text: string }>)[0];
    assert.equal(choice?.message.content, 'I am a language model AI created by Mistral AI');
    // Deliberate difference (docs/providers.md): OpenAI completions clients read `text`.
    assert.equal(choice?.text, choice?.message.content);
    const sent = seen.slice(before).at(-1);
    assert.equal(sent?.url, '/', 'completions go to the model\'s root URL');
    assert.equal(sent?.json?.['inputs'], 'What are you?');
    assert.deepEqual(sent?.json?.['options'], { use_cache: false, wait_for_model: true });
  });
});

describe('10-huggingface_integration_spec.lua, "huggingface no auth"', () => {
  test('"unauthorized request chat": the provider\'s 401 body', async () => {
    const r = await get('/huggingface/llm/v1/chat/unauthorized', file(`${CHAT}/requests/good.json`));
    assert.equal(r.status, 401);
    assert.equal(r.json()['error'], 'Authorization header is correct, but the token seems invalid');
  });

  test('"unauthorized request completions": the provider\'s 401 body', async () => {
    const r = await get('/huggingface/llm/v1/completions/unauthorized', file(`${COMPLETIONS}/requests/good.json`));
    assert.equal(r.status, 401);
    assert.equal(r.json()['error'], 'Authorization header is correct, but the token seems invalid');
  });
});

describe('10-huggingface_integration_spec.lua, "huggingface bad request"', () => {
  test('"bad chat request": {"messages":null} gets Kong\'s 400, no provider call', async () => {
    const before = seen.length;
    const r = await get('/huggingface/llm/v1/chat/good', { messages: null });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: { message: "request body doesn't contain valid prompts" } });
    assert.equal(seen.length, before);
  });

  test('"bad completions request": {"prompt":null} gets Kong\'s 400, no provider call', async () => {
    const before = seen.length;
    const r = await get('/huggingface/llm/v1/completions/good', { prompt: null });
    assert.equal(r.status, 400);
    assert.deepEqual(r.json(), { error: { message: "request body doesn't contain valid prompts" } });
    assert.equal(seen.length, before);
  });
});

describe('10-huggingface_integration_spec.lua, "huggingface bad response"', () => {
  test('"bad chat response": the model-loading 503 reaches the client as the provider sent it', async () => {
    const r = await get('/huggingface/llm/v1/chat/bad-response/model-loading', file(`${CHAT}/requests/good.json`));
    assert.equal(r.status, 503);
    assert.equal(r.json()['error'], `Model ${MODEL} is currently loading`);
  });

  test('"bad completions request": the model-timeout 504 reaches the client as the provider sent it', async () => {
    const r = await get('/huggingface/llm/v1/chat/bad-response/model-timeout', file(`${CHAT}/requests/good.json`));
    assert.equal(r.status, 504);
    assert.equal(r.json()['error'], `Model ${MODEL} time out`);
  });
});
