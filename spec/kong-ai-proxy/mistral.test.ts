/**
 * Kong's spec/03-plugins/38-ai-proxy/06-mistral_integration_spec.lua, llm/v1/completions "good request",
 * restated against the local gateway: `mistral_format: openai` completions go to upstream_url through the
 * OpenAI wire format and come back as the provider's text_completion (before: refused with 422).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, type RecordedRequest } from '../helpers/engine-upstream';
import { readFixture } from '../helpers/providers-fixtures';

/** Kong's spec/fixtures/ai-proxy/mistral/llm-v1-completions/responses/good.json, as its mock sends it. */
const MISTRAL_COMPLETION = {
  choices: [{ finish_reason: 'length', index: 0, logprobs: null, text: '\n\nI am a language model AI created by OpenAI. I can answer questions' }],
  created: 1701967000,
  id: 'cmpl-8TBeaJVQIhE9kHEJbk1RnKzgFxIqN',
  model: 'mistralai/Mistral-7B-Instruct-v0.1-instruct',
  object: 'text_completion',
  usage: { completion_tokens: 16, prompt_tokens: 4, total_tokens: 20 },
};

let up: EngineUpstream;
let gw: EngineGateway;
let seen: RecordedRequest | undefined;

before(async () => {
  up = await EngineUpstream.start((req) => {
    seen = req;
    return req.url === '/v1/completions' && req.headers.authorization === 'Bearer mistral-key'
      ? { kind: 'json', body: MISTRAL_COMPLETION }
      : { kind: 'json', status: 401, body: { error: { message: 'unauthorized' } } };
  });
  gw = await startEngineGateway([
    {
      path: '/mistral/llm/v1/completions/good',
      config: {
        targets: [
          {
            route_type: 'llm/v1/completions',
            auth: { header_name: 'Authorization', header_value: 'Bearer mistral-key' },
            model: {
              name: 'mistralai/Mistral-7B-Instruct-v0.1-instruct',
              provider: 'mistral',
              options: { max_tokens: 256, temperature: 1.0, mistral_format: 'openai', upstream_url: `${up.url}/v1/completions` },
            },
          },
        ],
      },
    },
  ]);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

test('06-mistral_integration_spec.lua llm/v1/completions "good request": served, in the provider\'s text_completion', async () => {
  const r = await fetch(`${gw.proxy}/mistral/llm/v1/completions/good`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: readFixture('kong-oss/openai/llm-v1-completions/requests/good.json'),
    signal: AbortSignal.timeout(10_000),
  });
  assert.equal(r.status, 200);
  const json = (await r.json()) as { id: string; model: string; object: string; choices: Array<{ text: string }> };
  assert.equal(json.id, 'cmpl-8TBeaJVQIhE9kHEJbk1RnKzgFxIqN');
  assert.equal(json.model, 'mistralai/Mistral-7B-Instruct-v0.1-instruct');
  assert.equal(json.object, 'text_completion');
  assert.equal(json.choices[0]?.text, '\n\nI am a language model AI created by OpenAI. I can answer questions');
  // The OpenAI completions body, with the configured model and options merged as Kong's OpenAI driver does.
  assert.equal(seen?.json?.['model'], 'mistralai/Mistral-7B-Instruct-v0.1-instruct');
  assert.equal(typeof seen?.json?.['prompt'], 'string');
  assert.equal(seen?.json?.['max_tokens'], 256);
});
