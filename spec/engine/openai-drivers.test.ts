import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ModelConfig, RouteType, TargetConfig } from '../../schemas/config';
import { ConfigError, TranslationError, UnsupportedFeatureError } from '../../plugins/ai-proxy-advanced/errors';
import { getDriver } from '../../plugins/ai-proxy-advanced/providers';
import type { TranslateContext } from '../../plugins/ai-proxy-advanced/providers/provider';
import { readFixture, readJsonFixture } from '../helpers/providers-fixtures';

function ctx(target: TargetConfig, over: Partial<TranslateContext> = {}): TranslateContext {
  return {
    target,
    provider: target.model.provider,
    routeType: target.route_type,
    model: target.model.name ?? '',
    stream: false,
    clientPath: '/my/route',
    clientQuery: {},
    clientMethod: 'POST',
    ...over,
  };
}

const t = (provider: TargetConfig['model']['provider'], route_type: RouteType, model: Omit<ModelConfig, 'provider'> = { name: 'm' }): TargetConfig => ({
  route_type,
  model: { provider, ...model },
});

// Request and response bodies against Kong's unit fixtures (01-unit_spec.lua FORMATS) are golden cases:
// spec/fixtures/providers/golden/{openai,azure,mistral-openai}-* (spec/providers/golden.test.ts).
describe('OpenAI-format answers pass through', () => {
  test('the provider bytes are kept for pass-through, with their usage; the client body is not mutated', () => {
    const target: TargetConfig = { route_type: 'llm/v1/chat', model: { provider: 'openai', name: 'gpt-4', options: { max_tokens: 512, temperature: 0.5 } } };
    const input = readJsonFixture<Record<string, unknown>>('kong-oss/unit/requests/llm-v1-chat.json');
    getDriver('openai').toRequest(input, ctx(target));
    assert.equal(input.model, undefined, 'the client body is not mutated');
    const raw = readFixture('kong-oss/unit/real-responses/openai/llm-v1-chat.json');
    const out = getDriver('openai').fromResponse(200, {}, raw, ctx(target));
    assert.equal(out.raw, raw, 'the provider bytes are kept for pass-through');
    assert.deepEqual(out.usage, (JSON.parse(raw.toString('utf8')) as { usage: unknown }).usage);
  });
});

describe('configured options take precedence over request values (Kong merge_config_defaults)', () => {
  test('max_tokens, temperature and top_p from config win; top_k is dropped; stream is explicit', () => {
    const target = t('openai', 'llm/v1/chat', { name: 'gpt-4', options: { max_tokens: 10, temperature: 0.1, top_k: 3 } });
    const body = getDriver('openai').toRequest({ messages: [{ role: 'user', content: 'x' }], max_tokens: 99, temperature: 1, top_p: 0.3, top_k: 7 }, ctx(target)).body as Record<string, unknown>;
    assert.equal(body.max_tokens, 10);
    assert.equal(body.temperature, 0.1);
    assert.equal(body.top_p, 0.3);
    assert.equal(body.top_k, undefined);
    assert.equal(body.stream, false);
    assert.equal(body.model, 'gpt-4');
  });

  test('the provider is asked for a stream exactly when the engine delivers one (response_streaming: always)', () => {
    // ctx.stream is true for `stream: true` and for `response_streaming: always` with a client that sent no
    // `stream`; a provider asked for JSON would answer JSON into the SSE translator (issue 10).
    const chatMessages = { messages: [{ role: 'user', content: 'x' }] };
    for (const provider of ['openai', 'azure', 'mistral', 'llama2', 'vllm', 'deepseek', 'xai', 'cerebras', 'dashscope', 'databricks'] as const) {
      const target = t(provider, 'llm/v1/chat', {
        name: 'm',
        options: { upstream_url: 'http://127.0.0.1:1/v1/chat/completions', azure_instance: 'i', azure_deployment_id: 'd', mistral_format: 'openai', llama2_format: 'openai', databricks: { workspace_instance_id: 'w' } },
      });
      const streamed = getDriver(provider).toRequest(chatMessages, ctx(target, { stream: true })).body as Record<string, unknown>;
      assert.equal(streamed.stream, true, `${provider}: stream asked for`);
      const buffered = getDriver(provider).toRequest({ ...chatMessages, stream: false }, ctx(target, { stream: false })).body as Record<string, unknown>;
      assert.equal(buffered.stream, false, `${provider}: no stream asked for`);
    }
  });
});

describe('upstream URLs per provider (spec §2.8)', () => {
  const url = (target: TargetConfig, over: Partial<TranslateContext> = {}): string =>
    getDriver(target.model.provider).toRequest({ messages: [{ role: 'user', content: 'x' }], input: 'x' }, ctx(target, over)).url;

  test('default URLs and paths', () => {
    assert.equal(url(t('openai', 'llm/v1/chat')), 'https://api.openai.com/v1/chat/completions');
    assert.equal(url(t('openai', 'llm/v1/completions')), 'https://api.openai.com/v1/completions');
    assert.equal(url(t('openai', 'llm/v1/embeddings')), 'https://api.openai.com/v1/embeddings');
    assert.equal(url(t('mistral', 'llm/v1/chat', { name: 'm', options: { mistral_format: 'openai' } })), 'https://api.mistral.ai/v1/chat/completions');
    assert.equal(url(t('deepseek', 'llm/v1/chat')), 'https://api.deepseek.com/v1/chat/completions');
    assert.equal(url(t('xai', 'llm/v1/chat')), 'https://api.x.ai/v1/chat/completions');
    assert.equal(url(t('cerebras', 'llm/v1/chat')), 'https://api.cerebras.ai/v1/chat/completions');
    assert.equal(url(t('dashscope', 'llm/v1/chat')), 'https://dashscope-intl.aliyuncs.com/compatible-mode/v1/chat/completions');
    assert.equal(url(t('dashscope', 'llm/v1/embeddings', { name: 'm', options: { dashscope: { international: false } } })), 'https://dashscope.aliyuncs.com/compatible-mode/v1/embeddings');
    assert.equal(url(t('databricks', 'llm/v1/chat', { name: 'm', options: { databricks: { workspace_instance_id: 'dbc-1' } } })), 'https://dbc-1.cloud.databricks.com/serving-endpoints/v1/chat/completions');
  });

  test('azure builds instance and deployment into the URL and sends api-version, the client value first', () => {
    const az = t('azure', 'llm/v1/chat', { name: 'gpt-4', options: { azure_instance: 'inst', azure_deployment_id: 'dep', azure_api_version: '2024-02-01' } });
    assert.equal(url(az), 'https://inst.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2024-02-01');
    assert.equal(url(az, { clientQuery: { 'api-version': '2025-01-01' } }), 'https://inst.openai.azure.com/openai/deployments/dep/chat/completions?api-version=2025-01-01');
    assert.throws(() => url(t('azure', 'llm/v1/chat', { name: 'g', options: { azure_deployment_id: 'd' } })), ConfigError);
  });

  test('upstream_url is used as is, with leading slashes collapsed; self-hosted providers require it', () => {
    assert.equal(url(t('openai', 'llm/v1/chat', { name: 'm', options: { upstream_url: 'http://127.0.0.1:9000//custom/path' } })), 'http://127.0.0.1:9000/custom/path');
    assert.equal(url(t('llama2', 'llm/v1/chat', { name: 'm', options: { llama2_format: 'openai', upstream_url: 'http://llm:8080/v1/chat/completions' } })), 'http://llm:8080/v1/chat/completions');
    assert.equal(url(t('vllm', 'llm/v1/chat', { name: 'm', options: { upstream_url: 'http://vllm:8000' } })), 'http://vllm:8000/v1/chat/completions');
    assert.throws(() => url(t('vllm', 'llm/v1/chat')), (e: unknown) => e instanceof ConfigError && /upstream_url/.test((e as Error).message));
  });

  test('upstream_path replaces the route path; preserve sends the client path unless upstream_path is set', () => {
    assert.equal(url(t('openai', 'llm/v1/chat', { name: 'm', options: { upstream_path: '/v2/chat' } })), 'https://api.openai.com/v2/chat');
    assert.equal(url(t('openai', 'preserve', {}), { clientPath: '/v1/models' }), 'https://api.openai.com/v1/models');
    assert.equal(url(t('openai', 'preserve', { options: { upstream_url: 'http://127.0.0.1:1/x' } }), { clientPath: '/v1/files' }), 'http://127.0.0.1:1/v1/files');
    assert.equal(url(t('openai', 'preserve', { options: { upstream_path: '/fixed' } }), { clientPath: '/v1/files' }), 'https://api.openai.com/fixed');
  });

  test('preserve forwards the client method and the very same body object', () => {
    const body = { anything: [1, 2] };
    const req = getDriver('openai').toRequest(body, ctx(t('openai', 'preserve', {}), { clientMethod: 'GET' }));
    assert.equal(req.method, 'GET');
    assert.equal(req.body, body);
  });

  test('unsupported route types and formats are refused by name', () => {
    assert.throws(() => url(t('deepseek', 'llm/v1/embeddings')), (e: unknown) => e instanceof UnsupportedFeatureError && /llm\/v1\/embeddings/.test((e as Error).message));
    // mistral's openai-format completions go to upstream_url, as Kong's OpenAI driver sends them
    // (06-mistral_integration_spec.lua llm/v1/completions "good request"); Mistral's API has no such endpoint,
    // so without upstream_url the target is refused naming the field.
    assert.equal(url(t('mistral', 'llm/v1/completions', { name: 'm', options: { mistral_format: 'openai', upstream_url: 'http://m.test/v1/completions' } })), 'http://m.test/v1/completions');
    assert.throws(() => url(t('mistral', 'llm/v1/completions', { name: 'm', options: { mistral_format: 'openai' } })), (e: unknown) => e instanceof ConfigError && /upstream_url/.test((e as Error).message));
  });
});

describe('responses', () => {
  const chat = t('openai', 'llm/v1/chat', { name: 'gpt-3.5-turbo' });

  test("a 200 without choices is Kong's transformation error", () => {
    const raw = readFixture('kong-oss/openai/llm-v1-chat/responses/bad_upstream_response.json');
    assert.throws(
      () => getDriver('openai').fromResponse(200, {}, raw, ctx(chat)),
      (e: unknown) => e instanceof TranslationError && (e as Error).message === "transformation failed from type openai://llm/v1/chat: 'choices' not in llm/v1/chat response",
    );
    assert.throws(() => getDriver('openai').fromResponse(200, {}, Buffer.from('<html>'), ctx(chat)), /failed to decode llm\/v1\/chat response/);
  });

  test('embeddings keep data and report prompt tokens', () => {
    const raw = readFixture('kong-oss/openai/llm-v1-embeddings/responses/good.json');
    const out = getDriver('openai').fromResponse(200, {}, raw, ctx(t('openai', 'llm/v1/embeddings', { name: 'text-embedding-3-small' })));
    assert.ok(out.usage.prompt_tokens > 0);
    assert.equal(out.usage.completion_tokens, 0);
  });

  test('provider errors pass through with their status and content type', () => {
    const raw = readFixture('kong-oss/openai/llm-v1-chat/responses/unauthorized.json');
    const out = getDriver('openai').fromError(401, { 'content-type': 'application/json', 'x-other': '1' }, raw, ctx(chat));
    assert.equal(out.status, 401);
    assert.equal(out.body, raw);
    assert.deepEqual(out.headers, { 'content-type': 'application/json' });
  });
});
