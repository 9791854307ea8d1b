/**
 * Behaviour of the translated drivers beyond the golden pairs: tools, multimodal parts, model limits, URLs and
 * headers, embeddings, error pass-through and translation failures. Kong OSS request fixtures where they exist
 * (kong-oss/openai/llm-v1-chat/requests, provider responses), small literal bodies otherwise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, InvalidRequestError, TranslationError, UnsupportedFeatureError } from '../../plugins/ai-proxy-advanced/errors';
import type { ProviderDriver } from '../../plugins/ai-proxy-advanced/providers/provider';
import { DRIVERS } from '../../plugins/ai-proxy-advanced/providers';
import { makeCtx, readFixture, readJsonFixture, target } from '../helpers/providers-fixtures';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const d = (p: keyof typeof DRIVERS): ProviderDriver => DRIVERS[p]!;
const REQ = 'kong-oss/openai/llm-v1-chat/requests';
const body = (req: { body: unknown }): Json => JSON.parse(JSON.stringify(req.body)) as Json;
const json = (o: unknown): Buffer => Buffer.from(JSON.stringify(o));

describe('anthropic', () => {
  const chat = makeCtx(target('anthropic', 'llm/v1/chat', 'claude-3-5-haiku', { anthropic_version: '2023-06-01' }));

  for (const [file, expected] of [
    ['tool_choice_auto', { type: 'auto' }],
    ['tool_choice_none', { type: 'none' }],
    ['tool_choice_required', { type: 'any' }],
    ['tool_choice_object_function', { type: 'tool', name: 'my_function' }],
  ] as const) {
    it(`maps Kong's ${file} request to Anthropic tool_choice ${JSON.stringify(expected)} and input_schema tools`, () => {
      const req = readJsonFixture<Json>(`${REQ}/${file}.json`);
      const b = body(d('anthropic').toRequest(req, chat));
      assert.deepEqual(b['tool_choice'], expected);
      const fns = ((req['tools'] ?? []) as Json[]).map((t) => t['function'] as Json);
      assert.deepEqual(b['tools'] ?? [], fns.map((f) => JSON.parse(JSON.stringify({ name: f['name'], description: f['description'], input_schema: f['parameters'] }))));
      assert.ok(b['messages'].every((m: Json) => m['role'] === 'user' || m['role'] === 'assistant'));
    });
  }

  it('sends anthropic-version from the options, no secret headers, and the model from config', () => {
    const req = d('anthropic').toRequest({ model: 'client-model', messages: [{ role: 'user', content: 'hi' }] }, chat);
    assert.equal(req.url, 'https://api.anthropic.com/v1/messages');
    assert.equal(req.headers['anthropic-version'], '2023-06-01');
    assert.equal(req.headers['x-api-key'], undefined);
    assert.equal(body(req)['model'], 'claude-3-5-haiku');
  });

  it('turns an assistant tool call and its result into tool_use and tool_result blocks', () => {
    const b = body(d('anthropic').toRequest({
      messages: [
        { role: 'user', content: 'weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'w', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'c1', content: '20C' },
      ],
    }, chat));
    assert.deepEqual(b['messages'][1], { role: 'assistant', content: [{ type: 'tool_use', id: 'c1', name: 'w', input: { city: 'Paris' } }] });
    assert.deepEqual(b['messages'][2], { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'c1', content: '20C' }] });
  });

  it('keeps every system message, joined, and converts image parts to Anthropic image blocks', () => {
    const b = body(d('anthropic').toRequest({
      messages: [
        { role: 'system', content: 'A' },
        { role: 'system', content: 'B' },
        { role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0K' } }] },
      ],
    }, chat));
    assert.equal(b['system'], 'A\nB');
    assert.deepEqual(b['messages'][0]['content'][1], { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0K' } });
  });

  it('lets configured max_tokens and temperature win over the request (Kong merge_config_defaults)', () => {
    const ctx = makeCtx(target('anthropic', 'llm/v1/chat', 'c', { max_tokens: 100, temperature: 0.1 }));
    const b = body(d('anthropic').toRequest({ messages: [{ role: 'user', content: 'x' }], max_tokens: 900, temperature: 1 }, ctx));
    assert.equal(b['max_tokens'], 100);
    assert.equal(b['temperature'], 0.1);
    const b2 = body(d('anthropic').toRequest({ messages: [{ role: 'user', content: 'x' }], max_tokens: 900 }, makeCtx(target('anthropic', 'llm/v1/chat', 'c'))));
    assert.equal(b2['max_tokens'], 900);
  });

  it('returns tool calls from tool_use blocks with JSON arguments, and usage', () => {
    const out = d('anthropic').fromResponse(200, {}, json({
      id: 'msg_1', model: 'claude', stop_reason: 'tool_use', usage: { input_tokens: 5, output_tokens: 7 },
      content: [{ type: 'text', text: 'ok' }, { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } }],
    }), chat);
    const m = (out.body as Json)['choices'][0]['message'];
    assert.deepEqual(m['tool_calls'], [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }]);
    assert.deepEqual(out.usage, { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
  });

  // Kong spec/03-plugins/38-ai-proxy/03-anthropic_integration_spec.lua "no usage response" / "malformed usage response".
  it("answers Kong's usage when Anthropic reports none or a malformed one, and counts no estimated tokens", () => {
    const none = d('anthropic').fromResponse(200, {}, readFixture('kong-oss/anthropic/llm-v1-chat/responses/no_usage_response.json'), chat);
    assert.equal((none.body as Json)['usage'], 'no usage data returned from upstream');
    assert.deepEqual(none.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    const bad = d('anthropic').fromResponse(200, {}, readFixture('kong-oss/anthropic/llm-v1-chat/responses/malformed_usage_response.json'), chat);
    assert.deepEqual((bad.body as Json)['usage'], {});
    assert.deepEqual(bad.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
    const half = d('anthropic').fromResponse(200, {}, json({ content: [{ type: 'text', text: 'x' }], usage: { input_tokens: 4 } }), chat);
    assert.deepEqual((half.body as Json)['usage'], { prompt_tokens: 4 });
  });

  it('fails translation of a 200 without content (Kong bad_upstream_response)', () => {
    assert.throws(() => d('anthropic').fromResponse(200, {}, readFixture('kong-oss/anthropic/llm-v1-chat/responses/bad_upstream_response.json'), chat), TranslationError);
    assert.throws(() => d('anthropic').fromResponse(200, {}, Buffer.from('<html>'), chat), /failed to decode anthropic response/);
  });

  it('passes provider errors to the client untouched (Kong unauthorized and 500 HTML fixtures)', () => {
    for (const [status, file, type] of [[401, 'unauthorized.json', 'application/json'], [500, 'internal_server_error.html', 'text/html']] as const) {
      const raw = readFixture(`kong-oss/anthropic/llm-v1-chat/responses/${file}`);
      const e = d('anthropic').fromError(status, { 'content-type': type, 'set-cookie': 'x' }, raw, chat);
      assert.equal(e.status, status);
      assert.deepEqual(e.headers, { 'content-type': type });
      assert.equal(Buffer.from(e.body).toString(), raw.toString());
    }
  });

  it('refuses route types it cannot translate, naming both', () => {
    assert.throws(() => d('anthropic').toRequest({}, makeCtx(target('anthropic', 'llm/v1/embeddings', 'c'))), (e: unknown) => e instanceof UnsupportedFeatureError && /llm\/v1\/embeddings.*anthropic/.test(e.message));
  });
});

describe('gemini', () => {
  const pub = makeCtx(target('gemini', 'llm/v1/chat', 'gemini-1.5-flash'));
  const vertexTarget = target('gemini', 'llm/v1/chat', 'gemini-1.5-pro', { gemini: { api_endpoint: 'us-central1-aiplatform.googleapis.com', project_id: 'proj', location_id: 'us-central1' } });

  it('uses the public API path, and streamGenerateContent when streaming', () => {
    assert.equal(d('gemini').toRequest({ messages: [{ role: 'user', content: 'x' }] }, pub).url, 'https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:generateContent');
    assert.equal(d('gemini').toRequest({ messages: [{ role: 'user', content: 'x' }] }, makeCtx(pub.target, { stream: true })).url, 'https://generativelanguage.googleapis.com/v1beta/models/gemini-1.5-flash:streamGenerateContent');
  });

  it('uses the Vertex path when api_endpoint, project_id and location_id are set', () => {
    const req = d('gemini').toRequest({ messages: [{ role: 'user', content: 'x' }] }, makeCtx(vertexTarget));
    assert.equal(req.url, 'https://us-central1-aiplatform.googleapis.com/v1/projects/proj/locations/us-central1/publishers/google/models/gemini-1.5-pro:generateContent');
  });

  it("turns Kong's multimodal request into text and fileData parts", () => {
    const b = body(d('gemini').toRequest(readJsonFixture(`${REQ}/good_multi_modal.json`), pub));
    assert.deepEqual(b['contents'][0]['parts'][0], { text: "What's in this image?" });
    assert.deepEqual(Object.keys(b['contents'][0]['parts'][1]['fileData']), ['fileUri', 'mimeType']);
    assert.deepEqual(b['systemInstruction'], { parts: [{ text: 'You are a helpful assistant.' }] });
  });

  it('turns a base64 image into inlineData and refuses unknown part types', () => {
    const b = body(d('gemini').toRequest({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpeg;base64,/9j/4AAQ' } }] }] }, pub));
    assert.deepEqual(b['contents'][0]['parts'][0], { inlineData: { data: '/9j/4AAQ', mimeType: 'image/jpeg' } });
    assert.throws(() => d('gemini').toRequest({ messages: [{ role: 'user', content: [{ type: 'audio', audio: {} }] }] }, pub), /cannot transform part of type 'audio'/);
  });

  it('refuses system prompts on gemini-1.0 models (Kong gemini.lua)', () => {
    const ctx = makeCtx(target('gemini', 'llm/v1/chat', 'gemini-1.0-pro'));
    assert.throws(() => d('gemini').toRequest({ messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }] }, ctx), InvalidRequestError);
  });

  it('maps tools to function_declarations, tool calls to functionCall, results to a named functionResponse', () => {
    const b = body(d('gemini').toRequest({
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object' } } }],
      tool_choice: 'required',
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', tool_calls: [{ id: 'c9', type: 'function', function: { name: 'f', arguments: '{"x":1}' } }] },
        { role: 'tool', tool_call_id: 'c9', content: 'r' },
      ],
    }, pub));
    assert.deepEqual(b['tools'], [{ function_declarations: [{ name: 'f', parameters: { type: 'object' } }] }]);
    assert.deepEqual(b['tool_config'], { functionCallingConfig: { mode: 'ANY' } });
    assert.deepEqual(b['contents'][1], { role: 'model', parts: [{ functionCall: { name: 'f', args: { x: 1 } } }] });
    assert.equal(b['contents'][2]['parts'][0]['functionResponse']['name'], 'f');
  });

  it('answers a SAFETY stop as an empty message with finish_reason "content_filter" (Kong fails_safety fixture; Kong says "safety")', () => {
    const out = d('gemini').fromResponse(200, {}, readFixture('kong-oss/gemini/llm-v1-chat/responses/fails_safety.json'), pub);
    assert.deepEqual((out.body as Json)['choices'][0], { index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' });
    assert.equal(out.usage.prompt_tokens, 319);
  });

  it('fails translation when Gemini returns no candidates', () => {
    assert.throws(() => d('gemini').fromResponse(200, {}, json({ promptFeedback: {} }), pub), /no generation candidates/);
  });

  it('embeds with batchEmbedContents (public) and predict (Vertex)', () => {
    const e = makeCtx(target('gemini', 'llm/v1/embeddings', 'text-embedding-004', { embeddings_dimensions: 256 }));
    const req = d('gemini').toRequest({ input: ['a', 'b'] }, e);
    assert.equal(req.url, 'https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:batchEmbedContents');
    assert.deepEqual(body(req)['requests'][1], { model: 'models/text-embedding-004', content: { parts: [{ text: 'b' }] }, outputDimensionality: 256 });
    const out = d('gemini').fromResponse(200, {}, json({ embeddings: [{ values: [0.1] }, { values: [0.2] }] }), e);
    assert.deepEqual((out.body as Json)['data'][1], { object: 'embedding', index: 1, embedding: [0.2] });
    const v = makeCtx({ ...vertexTarget, route_type: 'llm/v1/embeddings' });
    const vreq = d('gemini').toRequest({ input: 'a' }, v);
    assert.match(vreq.url, /:predict$/);
    assert.deepEqual(body(vreq), { instances: [{ content: 'a' }] });
    const vout = d('gemini').fromResponse(200, {}, json({ predictions: [{ embeddings: { values: [1, 2], statistics: { token_count: 3 } } }] }), v);
    assert.equal(vout.usage.prompt_tokens, 3);
  });
});

describe('bedrock', () => {
  const ctx = (model: string) => makeCtx(target('bedrock', 'llm/v1/chat', model, { bedrock: { aws_region: 'us-east-1' } }));
  const sys = { messages: [{ role: 'system', content: 's' }, { role: 'user', content: 'u' }] };

  it('refuses system prompts for the models Kong lists (Titan, Cohere command-text, Mistral 7B, Mixtral)', () => {
    for (const m of ['amazon.titan-text-express-v1', 'cohere.command-text-v14', 'cohere.command-light-text-v14', 'mistral.mistral-7b-instruct-v0:2', 'mistral.mixtral-8x7b-instruct-v0:1']) {
      assert.throws(() => d('bedrock').toRequest(sys, ctx(m)), /system prompts are unsupported/, m);
    }
    assert.deepEqual(body(d('bedrock').toRequest(sys, ctx('anthropic.claude-3-haiku-20240307-v1:0')))['system'], [{ text: 's' }]);
  });

  it('maps tools, tool_choice, tool calls and results to Converse toolConfig, toolUse and toolResult', () => {
    const b = body(d('bedrock').toRequest({
      tools: [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } }],
      tool_choice: { type: 'function', function: { name: 'f' } },
      messages: [
        { role: 'user', content: 'q' },
        { role: 'assistant', content: 'let me see', tool_calls: [{ id: 't1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }, { id: 't2', type: 'function', function: { name: 'f', arguments: '{}' } }] },
        { role: 'tool', tool_call_id: 't1', content: '{"r":2}' },
        { role: 'tool', tool_call_id: 't2', content: 'plain' },
      ],
    }, ctx('anthropic.claude')));
    assert.deepEqual(b['toolConfig'], { tools: [{ toolSpec: { name: 'f', description: 'd', inputSchema: { json: { type: 'object' } } } }], toolChoice: { tool: { name: 'f' } } });
    assert.equal(b['messages'][1]['content'].length, 3);
    assert.deepEqual(b['messages'][2]['content'][0], { toolResult: { toolUseId: 't1', content: [{ json: { r: 2 } }] } });
    assert.deepEqual(b['messages'][3]['content'][0], { toolResult: { toolUseId: 't2', content: [{ text: 'plain' }] } });
  });

  it('maps stop reasons and usage from a Converse answer', () => {
    const out = d('bedrock').fromResponse(200, {}, json({
      output: { message: { role: 'assistant', content: [{ toolUse: { toolUseId: 'x', name: 'f', input: { a: 1 } } }] } },
      stopReason: 'tool_use', usage: { inputTokens: 3, outputTokens: 4, totalTokens: 7 },
    }), ctx('m'));
    const c = (out.body as Json)['choices'][0];
    assert.equal(c['finish_reason'], 'tool_calls');
    assert.deepEqual(c['message']['tool_calls'][0], { id: 'x', type: 'function', function: { name: 'f', arguments: '{"a":1}' } });
    assert.deepEqual(out.usage, { prompt_tokens: 3, completion_tokens: 4, total_tokens: 7 });
  });

  it('embeds with Titan (one input) and Cohere Embed (many) through invoke', () => {
    const titan = makeCtx(target('bedrock', 'llm/v1/embeddings', 'amazon.titan-embed-text-v2:0', { bedrock: { aws_region: 'us-east-1', embeddings_normalize: true } }));
    const req = d('bedrock').toRequest({ input: 'hello', dimensions: 256 }, titan);
    assert.equal(req.url, 'https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke');
    assert.deepEqual(body(req), { inputText: 'hello', dimensions: 256, normalize: true });
    assert.throws(() => d('bedrock').toRequest({ input: ['a', 'b'] }, titan), /one input per request/);
    const out = d('bedrock').fromResponse(200, {}, json({ embedding: [0.5], inputTextTokenCount: 2 }), titan);
    assert.deepEqual(out.usage, { prompt_tokens: 2, completion_tokens: 0, total_tokens: 2 });
    const cohere = makeCtx(target('bedrock', 'llm/v1/embeddings', 'cohere.embed-english-v3', { bedrock: { aws_region: 'us-east-1' } }));
    assert.deepEqual(body(d('bedrock').toRequest({ input: ['a', 'b'] }, cohere)), { texts: ['a', 'b'], input_type: 'search_document' });
  });

  it('refuses STS assume-role by name rather than ignoring it', () => {
    const c = makeCtx(target('bedrock', 'llm/v1/chat', 'm', { bedrock: { aws_region: 'us-east-1', aws_assume_role_arn: 'arn:aws:iam::1:role/r' } }));
    assert.throws(() => d('bedrock').toRequest(sys, c), /aws_assume_role_arn/);
  });
});

describe('cohere', () => {
  it('rejects tools (v1 chat has no OpenAI tools) and embeds through /v2/embed', () => {
    const chat = makeCtx(target('cohere', 'llm/v1/chat', 'command'));
    assert.throws(() => d('cohere').toRequest({ messages: [{ role: 'user', content: 'x' }], tools: [] }, chat), UnsupportedFeatureError);
    const e = makeCtx(target('cohere', 'llm/v1/embeddings', 'embed-english-v3.0', { cohere: { embedding_input_type: 'search_query' } }));
    const req = d('cohere').toRequest({ input: 'x' }, e);
    assert.equal(req.url, 'https://api.cohere.com/v2/embed');
    assert.deepEqual(body(req), { model: 'embed-english-v3.0', texts: ['x'], input_type: 'search_query', embedding_types: ['float'] });
    const out = d('cohere').fromResponse(200, {}, json({ embeddings: { float: [[1, 2]] }, meta: { billed_units: { input_tokens: 1 } } }), e);
    assert.deepEqual((out.body as Json)['data'], [{ object: 'embedding', index: 0, embedding: [1, 2] }]);
  });

  it('fails translation on a 200 without text or generations (Kong bad_upstream_response)', () => {
    const chat = makeCtx(target('cohere', 'llm/v1/chat', 'command'));
    assert.throws(() => d('cohere').fromResponse(200, {}, readFixture('kong-oss/cohere/llm-v1-chat/responses/bad_upstream_response.json'), chat), /'text' or 'generations' missing/);
  });
});

describe('huggingface', () => {
  const comp = makeCtx(target('huggingface', 'llm/v1/completions', 'mistralai/Mistral-7B-Instruct-v0.2', { max_tokens: 64, huggingface: { wait_for_model: true } }));

  it("builds Kong's text-generation body from the completions fixture", () => {
    const req = d('huggingface').toRequest(readJsonFixture('kong-oss/huggingface/llm-v1-completions/requests/good.json'), comp);
    assert.equal(req.url, 'https://api-inference.huggingface.co/models/mistralai/Mistral-7B-Instruct-v0.2');
    assert.deepEqual(body(req), { inputs: 'What are you?', parameters: { max_new_tokens: 64 }, options: { use_cache: false, wait_for_model: true } });
  });

  // Kong spec/03-plugins/38-ai-proxy/10-huggingface_integration_spec.lua completions "good request".
  it("answers the completions fixture in Kong's shape, with OpenAI's text too", () => {
    const out = d('huggingface').fromResponse(200, {}, readFixture('kong-oss/huggingface/llm-v1-completions/responses/good.json'), comp);
    const b = out.body as Json;
    assert.equal(b['object'], 'llm/v1/completions');
    assert.equal(b['model'], 'mistralai/Mistral-7B-Instruct-v0.2');
    const text = 'I am a language model AI created by Mistral AI';
    assert.deepEqual(b['choices'], [{ message: { content: text }, text, index: 0, finish_reason: 'stop' }]);
    assert.deepEqual(b['usage'], {});
    assert.deepEqual(out.usage, { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });

  it('sends chat in OpenAI format to {base}/v1/chat/completions and reads the chat fixture', () => {
    const chat = makeCtx(target('huggingface', 'llm/v1/chat', 'mistralai/Mistral-7B-Instruct-v0.2'));
    const req = d('huggingface').toRequest(readJsonFixture('kong-oss/huggingface/llm-v1-chat/requests/good.json'), chat);
    assert.equal(req.url, 'https://api-inference.huggingface.co/models/mistralai/Mistral-7B-Instruct-v0.2/v1/chat/completions');
    assert.equal(body(req)['model'], 'mistralai/Mistral-7B-Instruct-v0.2');
    const out = d('huggingface').fromResponse(200, {}, readFixture('kong-oss/huggingface/llm-v1-chat/responses/good.json'), chat);
    assert.match((out.body as Json)['choices'][0]['message']['content'], /1 \+ 1 is 2/);
  });

  it('turns a 200 carrying an error (model loading, timeout) into a translation error', () => {
    for (const f of ['bad_response_model_load', 'bad_response_timeout']) {
      assert.throws(() => d('huggingface').fromResponse(200, {}, readFixture(`kong-oss/huggingface/llm-v1-chat/responses/${f}.json`), comp), /API error: Model/);
    }
  });

  it('keeps a client-chosen model inside /models/: segments encoded, dot and empty segments refused', () => {
    const chatOf = (model: string) => d('huggingface').toRequest({ messages: [{ role: 'user', content: 'hi' }] }, makeCtx(target('huggingface', 'llm/v1/chat', model)));
    assert.equal(chatOf('org/name?x=1#y').url, 'https://api-inference.huggingface.co/models/org/name%3Fx%3D1%23y/v1/chat/completions');
    for (const bad of ['../../x', 'org/../../admin', 'org//name', '/abs']) {
      assert.throws(() => chatOf(bad), (err: unknown) => err instanceof InvalidRequestError && /Hugging Face model id/.test((err as Error).message), bad);
    }
  });

  it('keeps a model from the body of a native TGI request inside /models/ too, and takes at most org/name', () => {
    const generate = (model: string) => d('huggingface').native!.toRequest({ inputs: 'hi' }, makeCtx(target('huggingface', 'llm/v1/chat', ''), { model }));
    assert.equal(generate('org/na me?x#y').url, 'https://api-inference.huggingface.co/models/org/na%20me%3Fx%23y/generate');
    assert.equal(generate('gpt2').url, 'https://api-inference.huggingface.co/models/gpt2/generate');
    for (const bad of ['org/name/extra', 'org/name/../../x', '../generate', 'org/..', 'org/.']) {
      assert.throws(() => generate(bad), (err: unknown) => err instanceof InvalidRequestError && /Hugging Face model id/.test((err as Error).message), bad);
    }
  });

  it('puts the operation at the end of upstream_url\'s path (its query and fragment stay theirs) and never reads upstream_path', () => {
    const ctx = (route: 'llm/v1/chat' | 'llm/v1/completions', options: Record<string, unknown>) => makeCtx(target('huggingface', route, 'org/m', options), { stream: true });
    const chat = (options: Record<string, unknown>) => d('huggingface').toRequest({ messages: [{ role: 'user', content: 'hi' }] }, ctx('llm/v1/chat', options)).url;
    const completions = (options: Record<string, unknown>) => d('huggingface').toRequest({ prompt: 'hi' }, ctx('llm/v1/completions', options)).url;
    const generateStream = (options: Record<string, unknown>) => d('huggingface').native!.toRequest({ inputs: 'hi' }, ctx('llm/v1/chat', options)).url;
    const tgi = { upstream_url: 'http://tgi.internal:8080/v1/base/?route=a#frag' };
    assert.equal(chat(tgi), 'http://tgi.internal:8080/v1/base/v1/chat/completions?route=a#frag');
    assert.equal(generateStream(tgi), 'http://tgi.internal:8080/v1/base/generate_stream?route=a#frag');
    assert.equal(completions(tgi), 'http://tgi.internal:8080/v1/base/?route=a#frag');
    assert.equal(chat({ upstream_url: 'http://tgi.internal:8080' }), 'http://tgi.internal:8080/v1/chat/completions');
    // Kong's huggingface.lua reads upstream_url and the model name only.
    assert.equal(chat({ upstream_path: '/elsewhere' }), 'https://api-inference.huggingface.co/models/org/m/v1/chat/completions');
    assert.equal(completions({ upstream_path: '/elsewhere' }), 'https://api-inference.huggingface.co/models/org/m');
  });

  it('embeds through feature extraction and refuses token-level output', () => {
    const e = makeCtx(target('huggingface', 'llm/v1/embeddings', 'sentence-transformers/all-MiniLM-L6-v2'));
    assert.deepEqual(body(d('huggingface').toRequest({ input: ['a', 'b'] }, e)), { inputs: ['a', 'b'], options: { use_cache: false, wait_for_model: false } });
    assert.equal(((d('huggingface').fromResponse(200, {}, json([[1, 2], [3, 4]]), e).body as Json)['data'] as unknown[]).length, 2);
    assert.throws(() => d('huggingface').fromResponse(200, {}, json([[[1], [2]]]), e), /token-level/);
  });
});

describe('self-hosted formats', () => {
  it('needs upstream_url and llama2_format for llama2, naming them', () => {
    assert.throws(() => d('llama2').toRequest({ prompt: 'x' }, makeCtx(target('llama2', 'llm/v1/completions', 'l', { llama2_format: 'raw' }))), (e: unknown) => e instanceof ConfigError && /upstream_url/.test(e.message));
    assert.throws(() => d('llama2').toRequest({ prompt: 'x' }, makeCtx(target('llama2', 'llm/v1/completions', 'l', { upstream_url: 'http://h/' }))), /llama2_format/);
  });

  it('refuses prompt and messages together (Kong to_ollama / to_raw)', () => {
    const ctx = makeCtx(target('llama2', 'llm/v1/chat', 'l', { llama2_format: 'ollama', upstream_url: 'http://h/api/chat' }));
    assert.throws(() => d('llama2').toRequest({ prompt: 'x', messages: [] }, ctx), /at the same time/);
  });

  it('refuses routes Mistral ollama format has no transformer for', () => {
    const ctx = makeCtx(target('mistral', 'llm/v1/embeddings', 'm', { mistral_format: 'ollama', upstream_url: 'http://h/' }));
    assert.throws(() => d('mistral').toRequest({ input: 'x' }, ctx), /mistral_format ollama/);
  });

  it('fills the Ollama API path for a bare upstream_url and converts image parts to images', () => {
    const t = target('ollama', 'llm/v1/chat', 'llava', { upstream_url: 'http://127.0.0.1:11434' });
    const ctx = makeCtx(t);
    const req = d('ollama').toRequest({ messages: [{ role: 'user', content: [{ type: 'text', text: 'what?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] }] }, ctx);
    assert.equal(req.url, 'http://127.0.0.1:11434/api/chat');
    assert.deepEqual(body(req)['messages'][0], { role: 'user', content: 'what?', images: ['AAAA'] });
    assert.deepEqual(body(req)['options'], {}, 'Kong sends an options block whenever model.options exists');
    const bare = makeCtx({ route_type: 'llm/v1/chat', model: { provider: 'ollama', name: 'llava' } });
    assert.throws(() => d('ollama').toRequest({ messages: [] }, bare), /upstream_url/);
  });

  it('reports finish_reason "length" when Ollama stops at the configured max_tokens', () => {
    const ctx = makeCtx(target('ollama', 'llm/v1/chat', 'l', { upstream_url: 'http://h', max_tokens: 5 }));
    const out = d('ollama').fromResponse(200, {}, json({ model: 'l', message: { role: 'assistant', content: 'a b c d e' }, done: true, eval_count: 5, prompt_eval_count: 2 }), ctx);
    assert.equal((out.body as Json)['choices'][0]['finish_reason'], 'length');
  });
});

describe('provider strings are never read as prototype keys', () => {
  it('passes a Bedrock stopReason or a Cohere finish_reason named like an Object method on as an unknown reason', () => {
    const bedrock = makeCtx(target('bedrock', 'llm/v1/chat', 'anthropic.claude-3-sonnet-20240229-v1:0', { bedrock: { aws_region: 'us-east-1' } }));
    const answer = { output: { message: { role: 'assistant', content: [{ text: 'hi' }] } }, stopReason: 'constructor' };
    const b = d('bedrock').fromResponse(200, {}, Buffer.from(JSON.stringify(answer)), bedrock).body as { choices: Array<{ finish_reason: unknown }> };
    assert.equal(b.choices[0]!.finish_reason, 'constructor');
    const cohere = makeCtx(target('cohere', 'llm/v1/chat', 'command-r'));
    const v2 = { id: 'x', message: { role: 'assistant', content: [{ type: 'text', text: 'hi' }] }, finish_reason: 'toString' };
    const c = d('cohere').fromResponse(200, {}, Buffer.from(JSON.stringify(v2)), cohere).body as { choices: Array<{ finish_reason: unknown }> };
    assert.equal(c.choices[0]!.finish_reason, 'tostring');
  });
});
