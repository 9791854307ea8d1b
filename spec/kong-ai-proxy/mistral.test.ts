/**
 * Kong's spec/03-plugins/38-ai-proxy/06-mistral_integration_spec.lua, restated against the local gateway (the
 * project's plugin server over its unix socket, one ai-proxy-advanced target per Kong ai-proxy config) with Kong's
 * mock locations and fixtures (spec/helpers/kong-openai-mock.ts). Requests are sent with GET and a JSON body, as
 * Kong's spec sends them. `mistral_format: openai` goes through the one OpenAI driver; completions go to
 * `upstream_url` (before: refused with 422). Each test names its Kong `describe` and `it`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream } from '../helpers/engine-upstream';
import { assertInvalidApiKey, assertKongChat, checked, kongOpenAiMock } from '../helpers/kong-openai-mock';
import { specGet } from '../helpers/kong-spec-client';
import { readFixture } from '../helpers/providers-fixtures';

const MODEL = 'mistralai/Mistral-7B-Instruct-v0.1-instruct';
let up: EngineUpstream;
let gw: EngineGateway;

function mistral(routeType: 'llm/v1/chat' | 'llm/v1/completions', auth: TargetConfig['auth'] = { header_name: 'Authorization', header_value: 'Bearer mistral-key' }): TargetConfig {
  const location = routeType === 'llm/v1/chat' ? '/v1/chat/completions' : '/v1/completions';
  return {
    route_type: routeType,
    auth,
    model: { name: MODEL, provider: 'mistral', options: { max_tokens: 256, temperature: 1.0, mistral_format: 'openai', upstream_url: `${up.url}${location}` } },
  };
}

before(async () => {
  const authorized = (req: { headers: Record<string, unknown> }): boolean => req.headers['authorization'] === 'Bearer mistral-key';
  up = await EngineUpstream.start(
    kongOpenAiMock({
      authorized,
      extra: {
        '/v1/chat/completions': checked(authorized, 'messages', 'kong-oss/mistral/llm-v1-chat/responses/good.json', 'kong-oss/openai/llm-v1-chat/responses'),
        '/v1/completions': checked(authorized, 'prompt', 'kong-oss/mistral/llm-v1-completions/responses/good.json', 'kong-oss/openai/llm-v1-completions/responses'),
      },
    }),
  );
  const bearer = (allow_override: boolean): TargetConfig['auth'] => ({ header_name: 'Authorization', header_value: 'Bearer mistral-key', allow_override });
  gw = await startEngineGateway([
    { path: '/mistral/llm/v1/chat/good', config: { targets: [mistral('llm/v1/chat', bearer(true))] } },
    { path: '/mistral/llm/v1/chat/good-no-allow-override', config: { targets: [mistral('llm/v1/chat', bearer(false))] } },
    { path: '/mistral/llm/v1/completions/good', config: { targets: [mistral('llm/v1/completions')] } },
  ]);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

const chatGood = (): Buffer => readFixture('kong-oss/openai/llm-v1-chat/requests/good.json');
const last = (): (typeof up.requests)[number] => up.requests[up.requests.length - 1]!;

async function goodChat(path: string, headers: Record<string, string> = {}): Promise<void> {
  const r = await specGet(gw.proxy, path, chatGood(), headers);
  assert.equal(r.status, 200, r.text);
  assertKongChat(r.json(), MODEL);
  assert.equal(r.headers['x-kong-llm-model'], `mistral/${MODEL}`);
}

describe('06-mistral_integration_spec.lua "mistral llm/v1/chat"', () => {
  test('"good request": the OpenAI body with the configured model, Kong\'s format back', async () => {
    await goodChat('/mistral/llm/v1/chat/good');
    assert.equal(last().json?.['model'], MODEL);
    assert.equal(last().json?.['max_tokens'], 256);
  });

  test('"good request with client right auth"', async () => {
    await goodChat('/mistral/llm/v1/chat/good', { Authorization: 'Bearer mistral-key' });
  });

  test('"good request with client wrong auth": allow_override lets the client\'s key through', async () => {
    assertInvalidApiKey(await specGet(gw.proxy, '/mistral/llm/v1/chat/good', chatGood(), { Authorization: 'Bearer wrong' }));
  });

  test('"good request with client right auth and no allow_override"', async () => {
    await goodChat('/mistral/llm/v1/chat/good-no-allow-override', { Authorization: 'Bearer mistral-key' });
  });

  test('"good request with client wrong auth and no allow_override": the configured key wins', async () => {
    await goodChat('/mistral/llm/v1/chat/good-no-allow-override', { Authorization: 'Bearer wrong' });
    assert.equal(last().headers.authorization, 'Bearer mistral-key');
  });
});

describe('06-mistral_integration_spec.lua "mistral llm/v1/completions"', () => {
  test('"good request": served at upstream_url, in the provider\'s text_completion', async () => {
    const r = await specGet(gw.proxy, '/mistral/llm/v1/completions/good', readFixture('kong-oss/openai/llm-v1-completions/requests/good.json'));
    assert.equal(r.status, 200, r.text);
    const json = r.json<{ id: string; model: string; object: string; choices: Array<{ text: string }> }>();
    assert.equal(json.id, 'cmpl-8TBeaJVQIhE9kHEJbk1RnKzgFxIqN');
    assert.equal(json.model, MODEL);
    assert.equal(json.object, 'text_completion');
    assert.equal(json.choices[0]?.text, '\n\nI am a language model AI created by OpenAI. I can answer questions');
    // The OpenAI completions body, with the configured model and options merged as Kong's OpenAI driver does.
    assert.equal(last().url, '/v1/completions');
    assert.equal(last().json?.['model'], MODEL);
    assert.equal(typeof last().json?.['prompt'], 'string');
    assert.equal(last().json?.['max_tokens'], 256);
  });
});
