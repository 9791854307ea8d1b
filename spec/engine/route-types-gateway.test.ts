/**
 * The OpenAI API's other route types (responses, files, batches, assistants, audio, images, video) through the
 * real stack: the local gateway drives the project's plugin server over its unix socket, the plugin calls a
 * local server speaking those APIs (spec/helpers/openai-api-upstream.ts), the official openai SDK is the client
 * where it has the call, and a log-phase probe reads the analytics Kong's log plugins would get.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import OpenAI, { toFile } from 'openai';
import type { TargetConfig } from '../../schemas/config';
import { eventually } from '../helpers/gateway-harness';
import { send } from '../helpers/gateway-upstream';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { FILE_CONTENT, OpenAiApiUpstream, SPEECH_BYTES } from '../helpers/openai-api-upstream';

const KEY = 'sk-gateway-SECRET';
let up: OpenAiApiUpstream;
let down: OpenAiApiUpstream;
let gw: EngineGateway;

function target(route_type: TargetConfig['route_type'], path: string, name?: string, extra: Partial<TargetConfig> = {}, url = up.url): TargetConfig {
  return {
    route_type,
    model: { provider: 'openai', ...(name ? { name } : {}), options: { upstream_url: `${url}${path}`, max_tokens: 512, temperature: 1.0 } },
    auth: { header_name: 'Authorization', header_value: `Bearer ${KEY}` },
    logging: { log_statistics: true, log_payloads: false },
    ...extra,
  };
}

function sdk(routePath: string): OpenAI {
  return new OpenAI({ apiKey: 'sk-client-ignored', baseURL: `${gw.proxy}${routePath}`, maxRetries: 0 });
}

const last = () => up.requests.at(-1);

before(async () => {
  [up, down] = await Promise.all([OpenAiApiUpstream.start(), OpenAiApiUpstream.start()]);
  down.failWith = 500;
  gw = await startEngineGateway([
    { path: '/resp', config: { targets: [target('llm/v1/responses', '/v1/responses', 'gpt-4o')] } },
    { path: '/anyresp', config: { targets: [target('llm/v1/responses', '/v1/responses')] } },
    {
      path: '/failresp',
      config: {
        targets: [target('llm/v1/responses', '/v1/responses', 'gpt-4o', { weight: 100 }, down.url), target('llm/v1/responses', '/v1/responses', 'gpt-4o', { weight: 50 })],
        balancer: { algorithm: 'priority', failover_criteria: ['http_500', 'non_idempotent'] },
      },
    },
    { path: '/files', config: { targets: [target('llm/v1/files', '/v1/files')] } },
    { path: '/alwaysfiles', config: { targets: [target('llm/v1/files', '/v1/files')], response_streaming: 'always' } },
    { path: '/alwaysresp', config: { targets: [target('llm/v1/responses', '/v1/responses', 'gpt-4o')], response_streaming: 'always' } },
    { path: '/denyresp', config: { targets: [target('llm/v1/responses', '/v1/responses', 'gpt-4o')], response_streaming: 'deny' } },
    { path: '/batches', config: { targets: [target('llm/v1/batches', '/v1/batches')] } },
    { path: '/assist', config: { targets: [target('llm/v1/assistants', '/v1/assistants', 'gpt-4o')] } },
    { path: '/audio', config: { targets: [target('audio/v1/audio/transcriptions', '/v1/audio/transcriptions', 'whisper-1')], max_request_body_size: 4096 } },
    { path: '/speech', config: { targets: [target('audio/v1/audio/speech', '/v1/audio/speech', 'tts-1')] } },
    { path: '/images', config: { targets: [target('image/v1/images/generations', '/v1/images/generations', 'gpt-image-1')] } },
    { path: '/videos', config: { targets: [target('video/v1/videos/generations', '/v1/videos', 'sora-2')] } },
    {
      path: '/azfiles',
      config: {
        targets: [
          {
            route_type: 'llm/v1/files',
            model: { provider: 'azure', options: { azure_instance: 'inst', azure_deployment_id: 'dep', azure_api_version: '2025-01-01-preview', upstream_url: `${up.url}/openai/files` } },
            auth: { header_name: 'api-key', header_value: KEY },
          },
        ],
      },
    },
  ]);
});

after(async () => {
  await gw?.close();
  await up?.close();
  await down?.close();
});

function usageOf(routePath: string): Promise<Record<string, unknown>> {
  return eventually(() => {
    const log = gw.serialized(routePath).at(-1) as { ai?: { proxy?: { usage?: Record<string, unknown> } } } | undefined;
    return log?.ai?.proxy?.usage;
  });
}

describe('llm/v1/responses', () => {
  test('the SDK creates a response: configured key and tuning sent, usage from input/output tokens in analytics', async () => {
    const client = sdk('/resp');
    const { data, response } = await client.responses.create({ model: 'gpt-4o', input: 'Say hello' }).withResponse();
    assert.equal(data.output_text, 'Hello there!');
    assert.equal(response.headers.get('x-kong-llm-model'), 'openai/gpt-4o');
    const sent = last();
    assert.equal(sent?.method, 'POST');
    assert.equal(sent?.path, '/v1/responses');
    assert.equal(sent?.headers.authorization, `Bearer ${KEY}`);
    assert.equal(sent?.json?.max_output_tokens, 512, 'max_tokens becomes the Responses API limit');
    assert.equal(sent?.json?.max_tokens, undefined);
    assert.equal(sent?.json?.input, 'Say hello');
    const usage = await usageOf('/resp');
    assert.equal(usage.prompt_tokens, 36);
    assert.equal(usage.completion_tokens, 87);
    assert.equal(usage.total_tokens, 123);
  });

  test('the SDK streams a response: typed events pass through, no [DONE], usage from response.completed', async () => {
    const before = gw.serialized('/resp').length;
    const stream = await sdk('/resp').responses.create({ model: 'gpt-4o', input: 'Say hello', stream: true });
    const types: string[] = [];
    let text = '';
    for await (const ev of stream) {
      types.push(ev.type);
      if (ev.type === 'response.output_text.delta') text += ev.delta;
    }
    assert.deepEqual(types, ['response.created', 'response.in_progress', 'response.output_text.delta', 'response.output_text.delta', 'response.output_text.delta', 'response.completed']);
    assert.equal(text, 'Hello there!');
    assert.equal(last()?.json?.stream, true);
    const log = await eventually(() => gw.serialized('/resp')[before] as { ai?: { proxy?: { usage?: Record<string, unknown>; meta?: Record<string, unknown> } } } | undefined);
    assert.equal(log.ai?.proxy?.meta?.request_mode, 'stream');
    assert.equal(log.ai?.proxy?.usage?.total_tokens, 123);
  });

  test('raw SSE keeps each event line and sends no [DONE]', async () => {
    const r = await fetch(`${gw.proxy}/resp/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'hi', stream: true }) });
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
    const body = await r.text();
    assert.match(body, /^event: response.created\ndata: \{/);
    assert.ok(!body.includes('[DONE]'));
    assert.equal(last()?.json?.model, 'gpt-4o', 'the configured model was added');
  });

  test('another model is refused before any provider call; GET and DELETE reach /v1/responses/{id}', async () => {
    const n = up.requests.length;
    await assert.rejects(sdk('/resp').responses.create({ model: 'gpt-4.1', input: 'x' }), (e: unknown) => e instanceof OpenAI.BadRequestError && /cannot use own model - must be: gpt-4o/.test(e.message));
    assert.equal(up.requests.length, n);
    const got = await sdk('/resp').responses.retrieve('resp_123');
    assert.equal(got.id, 'resp_123');
    assert.equal(last()?.method, 'GET');
    assert.equal(last()?.path, '/v1/responses/resp_123');
    await sdk('/resp').responses.delete('resp_123');
    assert.equal(last()?.method, 'DELETE');
  });

  test('a target without a model takes the request model', async () => {
    const r = await sdk('/anyresp').responses.create({ model: 'gpt-4.1-mini', input: 'x' }).withResponse();
    assert.equal(r.response.headers.get('x-kong-llm-model'), 'openai/gpt-4.1-mini');
    assert.equal(last()?.json?.model, 'gpt-4.1-mini');
  });

  test('response_streaming: always streams a response the client did not ask to stream; deny refuses one', async () => {
    const r = await fetch(`${gw.proxy}/alwaysresp/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'hi' }) });
    assert.match(r.headers.get('content-type') ?? '', /text\/event-stream/);
    assert.match(await r.text(), /event: response.completed/);
    assert.equal(last()?.json?.stream, true, 'the provider was asked for the stream');
    const n = up.requests.length;
    const d = await fetch(`${gw.proxy}/denyresp/responses`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ input: 'hi', stream: true }) });
    assert.equal(d.status, 400);
    assert.match(await d.text(), /response streaming is not enabled/);
    assert.equal(up.requests.length, n);
  });

  test('a failing provider fails over to the next target, as for chat', async () => {
    const n = down.requests.length;
    const data = await sdk('/failresp').responses.create({ input: 'x' } as Parameters<OpenAI['responses']['create']>[0] & { stream?: false });
    assert.equal(data.output_text, 'Hello there!');
    assert.equal(down.requests.length, n + 1, 'the first target was tried');
    assert.equal(last()?.path, '/v1/responses');
    // The target names the model; the client sends none.
    const stream = await sdk('/failresp').responses.create({ input: 'x', stream: true } as Parameters<OpenAI['responses']['create']>[0] & { stream: true });
    let text = '';
    for await (const ev of stream) if (ev.type === 'response.output_text.delta') text += ev.delta;
    assert.equal(text, 'Hello there!', 'a stream fails over before its first event too');
    assert.equal(down.requests.length, n + 2);
  });
});

describe('files, batches, assistants', () => {
  test('upload (multipart, bytes unchanged), list, content and delete through the SDK', async () => {
    const client = sdk('/files');
    const file = await client.files.create({ file: await toFile(Buffer.from(FILE_CONTENT), 'batch.jsonl'), purpose: 'batch' });
    assert.equal(file.id, 'file-abc123');
    const sent = last();
    assert.equal(sent?.path, '/v1/files');
    assert.match(String(sent?.headers['content-type']), /^multipart\/form-data; boundary=/);
    assert.ok(sent?.raw.includes(FILE_CONTENT), 'the file bytes reached the provider');
    assert.ok(!sent?.raw.includes('name="model"'), 'files carry no model');
    const list = await client.files.list();
    assert.equal(list.data[0]?.id, 'file-abc123');
    const content = await client.files.content('file-abc123');
    assert.equal(await content.text(), FILE_CONTENT);
    assert.equal(last()?.path, '/v1/files/file-abc123/content');
    await client.files.delete('file-abc123');
    assert.equal(last()?.method, 'DELETE');
    assert.equal(last()?.path, '/v1/files/file-abc123');
  });

  test('an id that would leave its segment is refused with a 400, the provider never called', async () => {
    const n = up.requests.length;
    // Sent as written (fetch would resolve dot segments itself).
    for (const id of ['a%2Fb', 'a%5Cb', '%00x']) {
      const r = await send(`${gw.proxy}/files/files/${id}`);
      assert.equal(r.status, 400, id);
      assert.match(r.json().error.message, /path segment/);
    }
    assert.equal((await send(`${gw.proxy}/files/files/a/b/c`)).status, 400, 'more segments than the API has');
    assert.equal(up.requests.length, n);
    // Kong (and the local gateway) normalise dot segments before the plugin sees the path: they stay in /v1/files.
    for (const id of ['..', '%2e%2e']) {
      assert.equal((await send(`${gw.proxy}/files/files/${id}`)).status, 200);
      assert.equal(last()?.path, '/v1/files');
    }
    const m = up.requests.length;
    const r = await fetch(`${gw.proxy}/files/files`, { method: 'PUT' });
    assert.equal(r.status, 400);
    assert.match(await r.text(), /method PUT is not allowed for route_type llm\/v1\/files/);
    assert.equal(up.requests.length, m);
    const odd = await fetch(`${gw.proxy}/files/files/file%20x`);
    assert.equal(odd.status, 200);
    assert.equal(last()?.path, '/v1/files/file%20x', 'an id is sent percent-encoded');
  });

  test('response_streaming: always leaves a file listing a plain answer', async () => {
    const r = await fetch(`${gw.proxy}/alwaysfiles/files`);
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(((await r.json()) as { object: string }).object, 'list');
  });

  test('batches and assistants (threads share the route type)', async () => {
    const b = await sdk('/batches').batches.create({ input_file_id: 'file-abc123', endpoint: '/v1/chat/completions', completion_window: '24h' });
    assert.equal(b.id, 'batch_abc123');
    await sdk('/batches').batches.cancel('batch_abc123');
    assert.equal(last()?.path, '/v1/batches/batch_abc123/cancel');
    const a = await sdk('/assist').beta.assistants.create({ model: 'gpt-4o', instructions: 'You are a tutor.' });
    assert.equal(a.id, 'asst_abc123');
    assert.equal(last()?.path, '/v1/assistants');
    assert.equal(last()?.headers['openai-beta'], 'assistants=v2', "the SDK's beta header is forwarded");
    const t = await sdk('/assist').beta.threads.create();
    assert.equal(t.id, 'thread_abc123');
    assert.equal(last()?.path, '/v1/threads');
    await sdk('/assist').beta.threads.runs.create('thread_abc123', { assistant_id: 'asst_abc123' });
    assert.equal(last()?.path, '/v1/threads/thread_abc123/runs');
  });

  test('Azure files go to /openai/files with api-key and api-version', async () => {
    const r = await fetch(`${gw.proxy}/azfiles/files?api-version=2024-10-21`);
    assert.equal(r.status, 200);
    assert.equal(last()?.path, '/openai/files');
    assert.match(last()?.url ?? '', /api-version=2024-10-21/);
    assert.equal(last()?.headers['api-key'], KEY);
  });
});

describe('audio, images, video', () => {
  test('a transcription upload gets the configured model added; another model is refused; usage counted', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.from('RIFF....WAVEfmt ')], { type: 'audio/wav' }), 'a.wav');
    const r = await fetch(`${gw.proxy}/audio/audio/transcriptions`, { method: 'POST', body: form });
    assert.equal(r.status, 200);
    assert.match(((await r.json()) as { text: string }).text, /wildest idea/);
    const sent = last();
    const parsed = await new Response(sent?.raw, { headers: { 'content-type': String(sent?.headers['content-type']) } }).formData();
    assert.equal(parsed.get('model'), 'whisper-1');
    assert.equal(await (parsed.get('file') as Blob).text(), 'RIFF....WAVEfmt ');
    assert.equal((await usageOf('/audio')).total_tokens, 59);
    const bad = await sdk('/audio').audio.transcriptions.create({ model: 'gpt-4o-transcribe', file: await toFile(Buffer.from('x'), 'a.wav') }).then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(bad instanceof OpenAI.BadRequestError && /cannot use own model - must be: whisper-1/.test(bad.message));
    const ok = await sdk('/audio').audio.transcriptions.create({ model: 'whisper-1', file: await toFile(Buffer.from('x'), 'a.wav') });
    assert.match(ok.text, /wildest/);
  });

  test('a multipart body over max_request_body_size is a 413, and a form without boundary a 400', async () => {
    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc(8000, 1)]), 'big.wav');
    const r = await fetch(`${gw.proxy}/audio/audio/transcriptions`, { method: 'POST', body: form });
    assert.equal(r.status, 413);
    const nb = await fetch(`${gw.proxy}/audio/audio/transcriptions`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' });
    assert.equal(nb.status, 400);
  });

  test('a Content-Type whose boundary parsers could read differently is a 400, the provider never called', async () => {
    // Valid under `good` (what undici reads: the first boundary, or the one after the quoted value), with the
    // configured model: before, forwarded as sent to a provider that may read `evil` (last one, or a plain search).
    const form = (b: string): string => `--${b}\r\nContent-Disposition: form-data; name="model"\r\n\r\nwhisper-1\r\n--${b}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nx\r\n--${b}--\r\n`;
    const n = up.requests.length;
    for (const ct of ['multipart/form-data; boundary=good; boundary=evil', 'multipart/form-data; x="; boundary=evil"; boundary=good']) {
      const r = await fetch(`${gw.proxy}/audio/audio/transcriptions`, { method: 'POST', headers: { 'content-type': ct }, body: form('good') });
      assert.equal(r.status, 400, ct);
      assert.match(((await r.json()) as { error: { message: string } }).error.message, /without a valid boundary/, ct);
    }
    assert.equal(up.requests.length, n);
    const ok = await fetch(`${gw.proxy}/audio/audio/transcriptions`, { method: 'POST', headers: { 'content-type': 'multipart/form-data; boundary=good' }, body: form('good') });
    assert.equal(ok.status, 200);
    assert.equal(up.requests.length, n + 1);
  });

  test('speech answers the provider audio bytes with their content type', async () => {
    const res = await sdk('/speech').audio.speech.create({ model: 'tts-1', voice: 'alloy', input: 'Hello' });
    assert.equal(res.headers.get('content-type'), 'audio/mpeg');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), SPEECH_BYTES);
  });

  test('image generation and video creation pass through with the model enforced', async () => {
    const img = await sdk('/images').images.generate({ prompt: 'a cat' });
    assert.equal(img.data?.[0]?.b64_json, 'iVBORw0KGgo=');
    assert.equal(last()?.json?.model, 'gpt-image-1');
    assert.equal((await usageOf('/images')).total_tokens, 100);
    const v = await fetch(`${gw.proxy}/videos/videos`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'a cat' }) });
    assert.equal(v.status, 200);
    assert.equal(last()?.json?.model, 'sora-2');
    const poll = await fetch(`${gw.proxy}/videos/videos/video_123`);
    assert.equal(((await poll.json()) as { status: string }).status, 'completed');
    assert.equal(last()?.path, '/v1/videos/video_123');
  });
});
