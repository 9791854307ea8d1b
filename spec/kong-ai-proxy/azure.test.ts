/**
 * Kong's spec/03-plugins/38-ai-proxy/05-azure_integration_spec.lua, restated against the local gateway (the
 * project's plugin server over its unix socket, one ai-proxy-advanced target per Kong ai-proxy config) with Kong's
 * mock locations and fixtures (spec/helpers/kong-openai-mock.ts, Azure's `api-key` check). Requests are sent with
 * GET and a JSON body, as Kong's spec sends them. Each test names its Kong `describe` and `it`.
 *
 * Kong's "azure preserve" routes set no `upstream_url`: Kong reaches its mock through a test-only port override
 * (`OPENAI_TEST_PORT`, kong/llm/drivers/shared.lua upstream_url_format) and a DNS mock for
 * `001-kong-t.openai.azure.com`. The plugin has no test-only switch, so those routes keep Kong's options and add
 * an `upstream_url` naming the mock's location (which wins over `upstream_path`, in Kong as here), and the Azure
 * URL Kong's options build is checked on the driver itself (the last test).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { azureDriver } from '../../plugins/ai-proxy-advanced/providers/openai';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream } from '../helpers/engine-upstream';
import { assertInternalServerErrorPage, assertInvalidApiKey, assertKongChat, assertKongError, assertNoPrompts, fixtureAnswer, kongOpenAiMock, pathOf } from '../helpers/kong-openai-mock';
import { specGet } from '../helpers/kong-spec-client';
import { makeCtx, readFixture } from '../helpers/providers-fixtures';

const CHAT_REQ = 'kong-oss/openai/llm-v1-chat/requests';
const COMPLETIONS_REQ = 'kong-oss/openai/llm-v1-completions/requests';
const AZURE_OPTIONS = { max_tokens: 256, temperature: 1.0, azure_instance: '001-kong-t', azure_deployment_id: 'gpt-3.5-custom' };

let up: EngineUpstream;
let gw: EngineGateway;

function azure(routeType: 'llm/v1/chat' | 'llm/v1/completions' | 'preserve', name: string, options: Record<string, unknown>, auth: TargetConfig['auth'] = { header_name: 'api-key', header_value: 'azure-key' }): TargetConfig {
  return { route_type: routeType, auth, model: { name, provider: 'azure', options: { ...AZURE_OPTIONS, ...options } } };
}

before(async () => {
  const authorized = (req: { headers: Record<string, unknown> }): boolean => req.headers['api-key'] === 'azure-key';
  // Kong's two preserve locations answer like `/llm/v1/chat/good`.
  const chatGood = (req: Parameters<typeof authorized>[0] & { json: Record<string, unknown> | undefined }) =>
    !authorized(req) ? fixtureAnswer('kong-oss/openai/llm-v1-chat/responses/unauthorized.json', 401) : fixtureAnswer('kong-oss/openai/llm-v1-chat/responses/good.json');
  up = await EngineUpstream.start(
    kongOpenAiMock({ authorized, extra: { '/openai/deployments/azure-other-instance/other/operation': chatGood, '/override/path/completely': chatGood } }),
  );
  const at = (location: string): { upstream_url: string } => ({ upstream_url: `${up.url}${location}` });
  gw = await startEngineGateway([
    { path: '/azure/llm/v1/chat/good', config: { targets: [azure('llm/v1/chat', 'gpt-3.5-turbo', at('/llm/v1/chat/good'), { header_name: 'api-key', header_value: 'azure-key', allow_override: true })] } },
    {
      path: '/azure/llm/v1/chat/good-no-allow-override',
      config: { targets: [azure('llm/v1/chat', 'gpt-3.5-turbo', at('/llm/v1/chat/good'), { header_name: 'api-key', header_value: 'azure-key', allow_override: false })] },
    },
    { path: '/azure/llm/v1/chat/bad_upstream_response', config: { targets: [azure('llm/v1/chat', 'gpt-3.5-turbo', at('/llm/v1/chat/bad_upstream_response'))] } },
    { path: '/azure/llm/v1/completions/good', config: { targets: [azure('llm/v1/completions', 'gpt-3.5-turbo-instruct', at('/llm/v1/completions/good'))] } },
    { path: '/azure/llm/v1/chat/unauthorized', config: { targets: [azure('llm/v1/chat', 'gpt-3.5-turbo', at('/llm/v1/chat/good'), { header_name: 'api-key', header_value: 'wrong-key' })] } },
    { path: '/azure/llm/v1/chat/bad_request', config: { targets: [azure('llm/v1/chat', 'gpt-3.5-turbo', at('/llm/v1/chat/bad_request'))] } },
    { path: '/azure/llm/v1/completions/bad_request', config: { targets: [azure('llm/v1/completions', 'gpt-3.5-turbo-instruct', at('/llm/v1/completions/bad_request'))] } },
    { path: '/azure/llm/v1/chat/internal_server_error', config: { targets: [azure('llm/v1/chat', 'gpt-3.5-turbo', at('/llm/v1/chat/internal_server_error'))] } },
    {
      // Kong: upstream_path "$(uri_captures.operation_path)", azure_deployment_id "$(uri_captures.azure_deployment)".
      path: '~/ai/openai/deployments/(?<azure_deployment>[^#?/]+)(?<operation_path>[^#?]+)$',
      config: {
        targets: [
          azure('preserve', 'gpt-3.5-turbo', {
            // Kong's options, templates resolved per request (a 400 before the templating fix), then the mock's
            // location in place of the Azure host; the URL these options build is checked on the driver below.
            upstream_url: `${up.url}/openai/deployments/azure-other-instance/other/operation`,
            upstream_path: '$(uri_captures.operation_path)',
            azure_deployment_id: '$(uri_captures.azure_deployment)',
          }),
        ],
      },
    },
    // Kong: preserve without upstream_path sends the client's path to the Azure host.
    { path: '~/override/path/completely$', config: { targets: [azure('preserve', 'gpt-3.5-turbo', { upstream_url: up.url })] } },
    { path: '~/override/path/incorrectly$', config: { targets: [azure('preserve', 'gpt-3.5-turbo', { upstream_url: up.url })] } },
  ]);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

const chatGood = (): Buffer => readFixture(`${CHAT_REQ}/good.json`);
const last = (): (typeof up.requests)[number] => up.requests[up.requests.length - 1]!;

async function goodChat(path: string, headers: Record<string, string> = {}): Promise<void> {
  const r = await specGet(gw.proxy, path, chatGood(), headers);
  assert.equal(r.status, 200, r.text);
  assertKongChat(r.json());
}

describe('05-azure_integration_spec.lua "azure general"', () => {
  test('"internal_server_error request": the provider\'s 500 page', async () => {
    assertInternalServerErrorPage(await specGet(gw.proxy, '/azure/llm/v1/chat/internal_server_error', chatGood()));
  });

  test('"unauthorized request": the provider\'s 401 passed through', async () => {
    assertInvalidApiKey(await specGet(gw.proxy, '/azure/llm/v1/chat/unauthorized', chatGood()));
  });
});

describe('05-azure_integration_spec.lua "azure llm/v1/chat"', () => {
  test('"good request": Kong\'s format; Azure\'s api-version on the provider call', async () => {
    await goodChat('/azure/llm/v1/chat/good');
    assert.equal(last().headers['api-key'], 'azure-key');
    assert.equal(new URL(last().url, 'http://mock').searchParams.get('api-version'), '2023-05-15');
  });

  test('"good request with client right auth"', async () => {
    await goodChat('/azure/llm/v1/chat/good', { 'api-key': 'azure-key' });
  });

  test('"good request with client wrong auth": allow_override lets the client\'s key through', async () => {
    assertInvalidApiKey(await specGet(gw.proxy, '/azure/llm/v1/chat/good', chatGood(), { 'api-key': 'wrong' }));
  });

  test('"good request with client right auth and no allow_override"', async () => {
    await goodChat('/azure/llm/v1/chat/good-no-allow-override', { 'api-key': 'azure-key' });
  });

  test('"good request with client wrong auth and no allow_override": the configured key wins', async () => {
    await goodChat('/azure/llm/v1/chat/good-no-allow-override', { 'api-key': 'wrong' });
    assert.equal(last().headers['api-key'], 'azure-key');
  });

  test('"bad upstream response": Kong\'s transformation-failed 500, named azure', async () => {
    const r = await specGet(gw.proxy, '/azure/llm/v1/chat/bad_upstream_response', chatGood());
    assertKongError(r, 500, "transformation failed from type azure://llm/v1/chat: 'choices' not in llm/v1/chat response");
  });

  test('"bad request": refused before any provider call', async () => {
    await assertNoPrompts(up, () => specGet(gw.proxy, '/azure/llm/v1/chat/bad_request', readFixture(`${CHAT_REQ}/bad_request.json`)));
  });
});

describe('05-azure_integration_spec.lua "azure llm/v1/completions"', () => {
  test('"good request": the provider\'s text_completion and X-Kong-LLM-Model', async () => {
    const r = await specGet(gw.proxy, '/azure/llm/v1/completions/good', readFixture(`${COMPLETIONS_REQ}/good.json`));
    assert.equal(r.status, 200);
    const json = r.json<{ id: string; model: string; object: string; choices: Array<{ text: string }> }>();
    assert.equal(json.id, 'cmpl-8TBeaJVQIhE9kHEJbk1RnKzgFxIqN');
    assert.equal(json.model, 'gpt-3.5-turbo-instruct');
    assert.equal(json.object, 'text_completion');
    assert.equal(r.headers['x-kong-llm-model'], 'azure/gpt-3.5-turbo-instruct');
    assert.equal(json.choices[0]!.text, '\n\nI am a language model AI created by OpenAI. I can answer questions');
  });

  test('"bad request": refused before any provider call', async () => {
    await assertNoPrompts(up, () => specGet(gw.proxy, '/azure/llm/v1/completions/bad_request', readFixture(`${COMPLETIONS_REQ}/bad_request.json`)));
  });
});

describe('05-azure_integration_spec.lua "azure preserve"', () => {
  test('"override path from path params": the deployment and operation path from the route\'s captures', async () => {
    const r = await specGet(gw.proxy, '/ai/openai/deployments/azure-other-instance/other/operation', chatGood());
    assert.equal(r.status, 200, r.text);
    assert.equal(pathOf(last()), '/openai/deployments/azure-other-instance/other/operation');
  });

  test('"override path completely": preserve sends the client\'s path', async () => {
    const r = await specGet(gw.proxy, '/override/path/completely', chatGood());
    assert.equal(r.status, 200, r.text);
    assert.equal(pathOf(last()), '/override/path/completely');
  });

  test('"override path incorrectly": the provider\'s 404 passed through', async () => {
    const r = await specGet(gw.proxy, '/override/path/incorrectly', chatGood());
    assert.equal(r.status, 404);
    assert.equal(pathOf(last()), '/override/path/incorrectly');
  });

  test('Kong\'s own preserve configs (no upstream_url) build the Azure URLs its mock answers', () => {
    const url = (options: Record<string, unknown>, clientPath: string): string =>
      azureDriver.toRequest(JSON.parse(chatGood().toString('utf8')) as Record<string, unknown>, makeCtx(azure('preserve', 'gpt-3.5-turbo', options), { clientPath })).url;
    // "override path from path params", with the captures resolved as the engine resolves them.
    assert.equal(
      url({ upstream_path: '/other/operation', azure_deployment_id: 'azure-other-instance' }, '/ai/openai/deployments/azure-other-instance/other/operation'),
      'https://001-kong-t.openai.azure.com/openai/deployments/azure-other-instance/other/operation?api-version=2023-05-15',
    );
    assert.equal(url({}, '/override/path/completely'), 'https://001-kong-t.openai.azure.com/override/path/completely?api-version=2023-05-15');
  });
});
