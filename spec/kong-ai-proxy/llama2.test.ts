/**
 * Kong's spec/03-plugins/38-ai-proxy/07-llama2_integration_spec.lua, restated against the local gateway (the
 * project's plugin server over its unix socket, one ai-proxy-advanced target per Kong ai-proxy config) with Kong's
 * mock (a Text Generation Inference `raw` endpoint that wants `[INST]` prompts) and fixtures. Requests are sent
 * with GET and a JSON body, as Kong's spec sends them. Each test names its Kong `describe` and `it`.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { closeUpstreamAgents } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { llama2Driver } from '../../plugins/ai-proxy-advanced/providers/llama2';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, type BehaviourFn } from '../helpers/engine-upstream';
import { fixtureAnswer, pathOf } from '../helpers/kong-openai-mock';
import { specGet } from '../helpers/kong-spec-client';
import { oneShot } from '../helpers/one-shot';
import { readFixture } from '../helpers/providers-fixtures';

const RAW = 'kong-oss/llama2/raw';
let up: EngineUpstream;
let gw: EngineGateway;

/** Kong's `/raw/llm/v1/chat` and `/raw/llm/v1/completions` locations (the same check and answers). */
const rawMock: BehaviourFn = (req) => {
  if (pathOf(req) !== '/raw/llm/v1/chat' && pathOf(req) !== '/raw/llm/v1/completions') {
    return { kind: 'raw', status: 404, body: '<html><head><title>404 Not Found</title></head></html>', headers: { 'content-type': 'text/html' } };
  }
  if (req.headers.authorization !== 'Bearer llama2-key') return fixtureAnswer(`${RAW}/responses/unauthorized.json`, 401);
  const inputs = req.json?.['inputs'];
  if (typeof inputs !== 'string' || !inputs.includes('INST')) return fixtureAnswer(`${RAW}/responses/bad_request.json`, 400);
  return fixtureAnswer(`${RAW}/responses/good.json`);
};

function llama2(routeType: 'llm/v1/chat' | 'llm/v1/completions', location: string, auth: TargetConfig['auth'], maxTokens = 256): TargetConfig {
  return {
    route_type: routeType,
    auth,
    model: { name: 'llama-2-7b-chat-hf', provider: 'llama2', options: { max_tokens: maxTokens, temperature: 1.0, llama2_format: 'raw', upstream_url: `${up.url}${location}` } },
  };
}

const bearer = (allow_override?: boolean): TargetConfig['auth'] => ({
  header_name: 'Authorization',
  header_value: 'Bearer llama2-key',
  ...(allow_override === undefined ? {} : { allow_override }),
});

before(async () => {
  up = await EngineUpstream.start(rawMock);
  gw = await startEngineGateway([
    { path: '/raw/llm/v1/chat/completions', config: { targets: [llama2('llm/v1/chat', '/raw/llm/v1/chat', bearer())] } },
    { path: '/raw/llm/v1/completions', config: { targets: [llama2('llm/v1/completions', '/raw/llm/v1/completions', bearer(true))] } },
    { path: '/raw/llm/v1/completions-no-allow-override', config: { targets: [llama2('llm/v1/completions', '/raw/llm/v1/completions', bearer(false))] } },
  ]);
});
after(async () => {
  await gw?.close();
  await closeUpstreamAgents();
  await up?.close();
});

const completions = (): Buffer => readFixture(`${RAW}/requests/good-completions.json`);
const last = (): (typeof up.requests)[number] => up.requests[up.requests.length - 1]!;

async function goodCompletion(path: string, headers: Record<string, string> = {}): Promise<void> {
  const r = await specGet(gw.proxy, path, completions(), headers);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json<{ choices: Array<{ text: string }> }>().choices[0]!.text, 'Is a well known font.');
}

describe('07-llama2_integration_spec.lua "llama2 general"', () => {
  test('"runs good request in chat format": messages become one [INST] prompt; the reply after the last [/INST]', async () => {
    const r = await specGet(gw.proxy, '/raw/llm/v1/chat/completions', readFixture(`${RAW}/requests/good-chat.json`));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json<{ choices: Array<{ message: { content: string } }> }>().choices[0]!.message.content, 'Is a well known font.');
    // Kong's messages_to_inst (kong/llm/drivers/llama2.lua): the first message is the <<SYS>> block, the second
    // closes the first [INST], later system messages are model answers, later user messages open a new [INST].
    assert.equal(
      last().json?.['inputs'],
      '<s>[INST] <<SYS>> You are a video game knowledgebase. <</SYS>> What is Missingno.? [/INST] Missingno. is a weird character from a popular game. </s> <s>[INST] Why is it popular? [/INST]',
    );
  });

  test('"runs good request in completions format"', async () => {
    await goodCompletion('/raw/llm/v1/completions');
    assert.equal(last().json?.['inputs'], '<s> [INST] <<SYS>> You are a helpful assistant. <<SYS>> What is Missingno.? [/INST]');
    assert.equal((last().json?.['parameters'] as Record<string, unknown>)['max_new_tokens'], 256);
  });

  test('"runs good request in completions format with client right auth"', async () => {
    await goodCompletion('/raw/llm/v1/completions', { Authorization: 'Bearer llama2-key' });
  });

  test('"runs good request in completions format with client wrong auth": allow_override lets the client\'s key through', async () => {
    const r = await specGet(gw.proxy, '/raw/llm/v1/completions', completions(), { Authorization: 'Bearer wrong' });
    assert.equal(r.status, 401);
    assert.equal(r.json<{ error: string }>().error, 'Model requires a Pro subscription.');
  });

  test('"runs good request in completions format with client right auth and no allow_override"', async () => {
    await goodCompletion('/raw/llm/v1/completions-no-allow-override', { Authorization: 'Bearer llama2-key' });
  });

  test('"runs good request in completions format with client wrong auth and no allow_override": the configured key wins', async () => {
    await goodCompletion('/raw/llm/v1/completions-no-allow-override', { Authorization: 'Bearer wrong' });
    assert.equal(last().headers.authorization, 'Bearer llama2-key');
  });
});

describe('07-llama2_integration_spec.lua "one-shot request"', () => {
  const request = { messages: [{ role: 'system', content: 'Some system prompt' }, { role: 'user', content: 'Some question' }] };

  test('"success"', async () => {
    const { status, body, ctx } = await oneShot(llama2Driver, llama2('llm/v1/chat', '/raw/llm/v1/chat', bearer(), 1024), request);
    assert.equal(status, 200);
    const out = llama2Driver.fromResponse(status, {}, body, ctx);
    assert.deepEqual((out.body as { choices: Array<{ message: unknown }> }).choices[0]!.message, { content: 'Is a well known font.', role: 'assistant' });
  });

  test('"404"', async () => {
    const { status, body, headers, ctx } = await oneShot(llama2Driver, llama2('llm/v1/chat', '/raw/llm/v1/nowhere', bearer(), 1024), request);
    assert.equal(status, 404);
    assert.equal(llama2Driver.fromError(status, headers, body, ctx).status, 404);
  });

  test('"401"', async () => {
    const wrong = { header_name: 'Authorization', header_value: 'Bearer wrong-key' };
    const { status, body, headers, ctx } = await oneShot(llama2Driver, llama2('llm/v1/chat', '/raw/llm/v1/chat', wrong, 1024), request);
    assert.equal(status, 401);
    const err = llama2Driver.fromError(status, headers, body, ctx);
    assert.equal(err.status, 401);
    assert.deepEqual(JSON.parse(String(err.body)), { error: 'Model requires a Pro subscription.' });
  });
});
