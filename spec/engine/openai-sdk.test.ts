/**
 * The official `openai` npm SDK (v6) as a client of the engine: chat, completions and embeddings succeed with
 * the SDK's own parsing, and our errors surface as the SDK's typed errors with our messages.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import OpenAI from 'openai';
import type { RouteType, TargetConfig } from '../../schemas/config';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { closeUpstreamAgents } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { EngineHttpHarness } from '../helpers/engine-http-harness';
import { defaultBehaviour, EngineUpstream } from '../helpers/engine-upstream';

let upstream: EngineUpstream;
const harnesses: EngineHttpHarness[] = [];

before(async () => {
  upstream = await EngineUpstream.start();
});
after(async () => {
  for (const h of harnesses) await h.close();
  await upstream.close();
  await closeUpstreamAgents();
});

async function serve(route_type: RouteType, name: string, path: string): Promise<OpenAI> {
  const target: TargetConfig = {
    route_type,
    model: { provider: 'openai', name, options: { upstream_url: `${upstream.url}${path}` } },
    auth: { header_name: 'Authorization', header_value: 'Bearer sk-configured' },
  };
  const h = await EngineHttpHarness.start(new AiProxyAdvanced({ __plugin_id: randomUUID(), targets: [target] }));
  harnesses.push(h);
  return new OpenAI({ apiKey: 'sk-client-ignored', baseURL: `${h.url}/v1`, maxRetries: 0 });
}

describe('the openai SDK as a client', () => {
  test('chat.completions.create returns the completion and the model header', async () => {
    const client = await serve('llm/v1/chat', 'gpt-4o-mini', '/v1/chat/completions');
    const { data, response } = await client.chat.completions
      .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'What is 1 + 1?' }] })
      .withResponse();
    assert.equal(data.choices[0]?.message.content, 'The sum of 1 + 1 is 2.');
    assert.equal(data.usage?.total_tokens, 37);
    assert.equal(response.headers.get('x-kong-llm-model'), 'openai/gpt-4o-mini');
    const sent = upstream.requests.at(-1);
    assert.equal(sent?.headers.authorization, 'Bearer sk-configured', 'the configured key replaced the client one');
  });

  test('completions and embeddings work through the same engine', async () => {
    const comp = await serve('llm/v1/completions', 'gpt-3.5-turbo-instruct', '/v1/completions');
    const c = await comp.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say this is a test' });
    assert.match(c.choices[0]?.text ?? '', /language model/);
    const emb = await serve('llm/v1/embeddings', 'text-embedding-3-small', '/v1/embeddings');
    const e = await emb.embeddings.create({ model: 'text-embedding-3-small', input: 'hello' });
    assert.equal(e.data.length, 1);
  });

  test("a different model is refused with the SDK's BadRequestError carrying Kong's message", async () => {
    const client = await serve('llm/v1/chat', 'gpt-4o-mini', '/v1/chat/completions');
    await assert.rejects(
      client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }),
      (err: unknown) => err instanceof OpenAI.BadRequestError && err.status === 400 && /cannot use own model - must be: gpt-4o-mini/.test(err.message),
    );
  });

  test('a provider error reaches the SDK as the provider sent it', async () => {
    const client = await serve('llm/v1/chat', 'gpt-4o-mini', '/v1/chat/completions');
    upstream.set({ kind: 'json', status: 429, body: { error: { message: 'Rate limit reached', type: 'requests', code: 'rate_limit_exceeded' } } });
    try {
      await assert.rejects(
        client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
        (err: unknown) => err instanceof OpenAI.RateLimitError && err.code === 'rate_limit_exceeded',
      );
    } finally {
      upstream.set(defaultBehaviour);
    }
  });
});
