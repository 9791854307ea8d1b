/**
 * Kong's spec/03-plugins/38-ai-proxy/01-unit_spec.lua cases whose failure a client sees: Kong tests the functions
 * (merge_model_options, is_compatible, gemini's part transformer) directly; in Kong's plugin each error ends as
 * normalize-request.lua `bail(400, err)`, so here each is restated as the 400 a client gets through the local
 * gateway (the project's plugin server over its unix socket, one ai-proxy-advanced target per Kong config), and
 * each success as the request the provider receives.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { chatCompletion, EngineUpstream, type RecordedRequest } from '../helpers/engine-upstream';
import { fixtureAnswer } from '../helpers/kong-openai-mock';
import { specGet, type SpecResponse } from '../helpers/kong-spec-client';

let up: EngineUpstream;
let gw: EngineGateway;
const seen: RecordedRequest[] = [];

/**
 * Kong's fake request: these headers, URI captures and query arguments. uri_cap_1 names the Azure instance (a
 * host), so its value here is a DNS label: Kong's `cap_value_here_1` is refused on purpose (README "templates").
 */
const HEADERS = { from_header_1: 'header_value_here_1', from_header_2: 'header_value_here_2' };
const CAPTURES = '/cap-value-here-1/cap_value_here_2';
const QUERY = '?arg_1=arg_value_here_1&arg_2=arg_value_here_2';
const CAPTURE_ROUTE = (name: string): string => `~/unit/${name}/(?<uri_cap_1>[^/]+)/(?<uri_cap_2>[^/]+)$`;

/** Kong's SAMPLE_LLM_V1_CHAT and SAMPLE_DOUBLE_FORMAT. */
const SAMPLE_LLM_V1_CHAT = { messages: [{ role: 'system', content: 'You are a mathematician.' }, { role: 'assistant', content: 'What is 1 + 1?' }] };
const SAMPLE_DOUBLE_FORMAT = { ...SAMPLE_LLM_V1_CHAT, prompt: 'Hi world' };

function azure(name: string, options: Record<string, unknown>): TargetConfig {
  return {
    route_type: 'llm/v1/chat',
    auth: { header_name: 'api-key', header_value: 'azure-key' },
    model: { name, provider: 'azure', options: { max_tokens: 256, temperature: 1.0, ...options } },
  };
}

before(async () => {
  up = await EngineUpstream.start((req) => {
    seen.push(req);
    if (req.url.includes(':generateContent')) return fixtureAnswer('kong-oss/gemini/llm-v1-chat/responses/good.json');
    const model = typeof req.json?.['model'] === 'string' ? req.json['model'] : 'unknown';
    if (typeof req.json?.['prompt'] === 'string') {
      return { kind: 'json', body: { id: 'cmpl-1', object: 'text_completion', model, choices: [{ text: 'hi', index: 0, finish_reason: 'stop' }] } };
    }
    return { kind: 'json', body: chatCompletion(model) };
  });
  const route = (path: string, target: TargetConfig): { path: string; config: { targets: TargetConfig[] } } => ({ path, config: { targets: [target] } });
  gw = await startEngineGateway([
    route(
      CAPTURE_ROUTE('resolves'),
      azure('$(headers.from_header_1)', {
        azure_instance: '$(uri_captures.uri_cap_1)',
        azure_deployment_id: '$(headers.from_header_1)',
        azure_api_version: '$(query_params.arg_1)',
        upstream_url: `${up.url}/$(uri_captures.uri_cap_1)/chat`,
        bedrock: { aws_region: '$(uri_captures.uri_cap_1)' },
      }),
    ),
    route(CAPTURE_ROUTE('model-name'), azure('$(uri_captures.uri_cap_2)', { azure_instance: 'string-1', azure_deployment_id: 'string-2', azure_api_version: 'string-3', upstream_url: `${up.url}/azure` })),
    route(
      CAPTURE_ROUTE('missing-capture'),
      azure('gpt-3.5-turbo', { azure_instance: '$(uri_captures.uri_cap_3)', azure_deployment_id: '$(headers.from_header_1)', azure_api_version: '$(query_params.arg_1)' }),
    ),
    route(
      CAPTURE_ROUTE('missing-nested-capture'),
      azure('gpt-3.5-turbo', {
        azure_instance: '$(uri_captures.uri_cap_1)',
        azure_deployment_id: '$(headers.from_header_1)',
        azure_api_version: '$(query_params.arg_1)',
        bedrock: { aws_region: '$(uri_captures.uri_cap_3)' },
      }),
    ),
    // Kong's fake config has no deployment id (its unit test skips the schema); the schema requires one.
    route(CAPTURE_ROUTE('unparsable'), azure('gpt-3.5-turbo', { azure_instance: '$(uri_captures_uri_cap_1)', azure_deployment_id: 'string-2' })),
    route('/unit/completions', {
      route_type: 'llm/v1/completions',
      auth: { header_name: 'Authorization', header_value: 'Bearer openai-key' },
      model: { name: 'gpt-3.5-turbo-instruct', provider: 'openai', options: { upstream_url: `${up.url}/v1/completions` } },
    }),
    route('/unit/chat', {
      route_type: 'llm/v1/chat',
      auth: { header_name: 'Authorization', header_value: 'Bearer openai-key' },
      model: { name: 'gpt-4', provider: 'openai', options: { upstream_url: `${up.url}/v1/chat/completions` } },
    }),
    route('/unit/gemini', {
      route_type: 'llm/v1/chat',
      auth: { header_name: 'x-goog-api-key', header_value: 'gemini-key' },
      model: { name: 'gemini-1.5-pro', provider: 'gemini', options: { upstream_url: `${up.url}/v1beta/models/gemini-1.5-pro:generateContent` } },
    }),
  ]);
});
after(async () => {
  await gw?.close();
  await up?.close();
});

/** Kong's client:get with a JSON body. */
const send = (path: string, body: unknown, headers: Record<string, string> = {}): Promise<SpecResponse> => specGet(gw.proxy, path, JSON.stringify(body), headers);

/** A client-visible 400 in Kong's shape, without any provider call. */
async function assertKong400(path: string, body: unknown, message: string, headers: Record<string, string> = {}): Promise<void> {
  const before = seen.length;
  const r = await send(path, body, headers);
  assert.equal(r.status, 400, r.text);
  assert.deepEqual(r.json(), { error: { message } });
  assert.equal(r.headers['x-ai-proxy-error-code'], 'AIPA_ERR_INVALID_REQUEST');
  assert.equal(seen.length, before, 'the provider was not called');
}

describe('01-unit_spec.lua, merge_model_options through the gateway', () => {
  test('"resolves referenceable plugin configuration from request context": model, URL and api-version', async () => {
    const before = seen.length;
    const r = await send(`/unit/resolves${CAPTURES}${QUERY}`, SAMPLE_LLM_V1_CHAT, HEADERS);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-kong-llm-model'], 'azure/header_value_here_1');
    const sent = seen.slice(before);
    assert.equal(sent.length, 1);
    const url = new URL(sent[0]!.url, up.url);
    assert.equal(url.pathname, '/cap-value-here-1/chat', 'upstream_url from a URI capture');
    assert.equal(url.searchParams.get('api-version'), 'arg_value_here_1', 'azure_api_version from a query argument');
    assert.equal(sent[0]!.json?.['model'], 'header_value_here_1', 'model.name from a header');
  });

  test('"resolves referenceable model name from request context": $(uri_captures.uri_cap_2)', async () => {
    const r = await send(`/unit/model-name${CAPTURES}`, SAMPLE_LLM_V1_CHAT, HEADERS);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.headers['x-kong-llm-model'], 'azure/cap_value_here_2');
    assert.equal(r.json()['model'], 'cap_value_here_2');
  });

  test('Kong\'s own capture value "cap_value_here_1" is no host name: refused for azure_instance (deliberate)', async () => {
    await assertKong400(
      `/unit/resolves/cap_value_here_1/cap_value_here_2${QUERY}`,
      SAMPLE_LLM_V1_CHAT,
      "template '$(uri_captures.uri_cap_1)' in model.options.azure_instance: the value must be a DNS label (letters, digits and inner hyphens, at most 63)",
      HEADERS,
    );
  });

  test('"returns appropriate error when referenceable plugin configuration is missing ...": an option\'s capture', async () => {
    await assertKong400(`/unit/missing-capture${CAPTURES}${QUERY}`, SAMPLE_LLM_V1_CHAT, 'uri_captures key uri_cap_3 was not provided', HEADERS);
  });

  test('"returns appropriate error when referenceable plugin configuration is missing ...": a nested option\'s capture', async () => {
    await assertKong400(`/unit/missing-nested-capture${CAPTURES}${QUERY}`, SAMPLE_LLM_V1_CHAT, 'uri_captures key uri_cap_3 was not provided', HEADERS);
  });

  test('"returns appropriate error when referenceable plugin configuration is missing ...": an unparsable expression', async () => {
    await assertKong400(`/unit/unparsable${CAPTURES}${QUERY}`, SAMPLE_LLM_V1_CHAT, "cannot parse expression for field '$(uri_captures_uri_cap_1)'", HEADERS);
  });
});

describe('01-unit_spec.lua, is_compatible through the gateway', () => {
  test('"llm/v1/chat message is compatible with llm/v1/chat route"', async () => {
    const r = await send('/unit/chat', SAMPLE_LLM_V1_CHAT);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json()['object'], 'chat.completion');
  });

  test('"llm/v1/chat message is not compatible with llm/v1/completions route"', async () => {
    await assertKong400('/unit/completions', SAMPLE_LLM_V1_CHAT, '[llm/v1/chat] message format is not compatible with [llm/v1/completions] route type');
  });

  test('"double-format message is denied"', async () => {
    await assertKong400('/unit/completions', SAMPLE_DOUBLE_FORMAT, 'request matches multiple LLM request formats');
  });
});

describe('01-unit_spec.lua "gemini multimodal", through the gateway', () => {
  /** One user message with the given content parts. */
  const parts = (...content: unknown[]): unknown => ({ messages: [{ role: 'user', content }] });
  // Kong's gemini to_format wraps its transformer's reason: "error transforming to gemini://llm/v1/chat: <reason>".
  const transforming = (reason: string): string => `error transforming to gemini://llm/v1/chat: ${reason}`;

  test('"transforms a text type prompt to gemini GOOD"', async () => {
    const before = seen.length;
    const r = await send('/unit/gemini', parts({ type: 'text', text: 'What is in this picture?' }));
    assert.equal(r.status, 200, r.text);
    const contents = seen.slice(before).at(-1)?.json?.['contents'] as Array<{ parts: unknown[] }>;
    assert.deepEqual(contents[0]?.parts, [{ text: 'What is in this picture?' }]);
  });

  test('"transforms a text type prompt to gemini BAD MISSING TEXT FIELD"', async () => {
    await assertKong400('/unit/gemini', parts({ type: 'text', bad_text_field: 'What is in this picture?' }), transforming("message part type is 'text' but is missing .text block"));
  });

  test('"transforms an image_url type prompt when data is a URL to gemini GOOD"', async () => {
    const before = seen.length;
    const r = await send('/unit/gemini', parts({ type: 'image_url', image_url: { url: 'https://example.local/image.jpg' } }));
    assert.equal(r.status, 200, r.text);
    const contents = seen.slice(before).at(-1)?.json?.['contents'] as Array<{ parts: unknown[] }>;
    assert.deepEqual(contents[0]?.parts, [{ fileData: { fileUri: 'https://example.local/image.jpg', mimeType: 'image/generic' } }]);
  });

  test('"transforms an image_url type prompt when data is a URL to gemini BAD MISSING IMAGE FIELD"', async () => {
    await assertKong400(
      '/unit/gemini',
      parts({ type: 'image_url', image_url: 'https://example.local/image.jpg' }),
      transforming("message part type is 'image_url' but is missing .image_url.url block"),
    );
  });

  test('"fails to transform a non-mapped multimodal entity type"', async () => {
    await assertKong400('/unit/gemini', parts({ type: 'doesnt_exist', doesnt_exist: 'https://example.local/video.mp4' }), transforming("cannot transform part of type 'doesnt_exist' to Gemini format"));
  });
});
