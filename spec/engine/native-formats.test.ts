/**
 * `llm_format` native pass-through through the real stack (local gateway, plugin server over its socket),
 * providers simulated by local servers speaking their own wire formats (Kong's fixtures where Kong has them):
 * every format buffered and streamed, byte for byte both ways, with the analytics tokens read from the native
 * answer; failover among native targets; the checks a native request still gets (own model, streaming deny,
 * hostile model ids in the path).
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { TargetConfig } from '../../schemas/config';
import { eventually } from '../helpers/gateway-harness';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, type Behaviour, type RecordedRequest } from '../helpers/engine-upstream';
import { readFixture, readJsonFixture, streamInput, type StreamCase } from '../helpers/providers-fixtures';

/** Log entries come after the answer (the log phase, a file write): up to 10 s on a loaded machine. */
const LOG_TRIES = 500;

const stats = { log_statistics: true, log_payloads: false };
const GEMINI_MODEL = 'gemini-1.5-flash';
const BEDROCK_MODEL = 'anthropic.claude-3-sonnet-20240229-v1:0';

/** The provider answers (buffered) of each format, as the real APIs send them. */
const ANSWERS = {
  gemini: readFixture('kong-oss/gemini/llm-v1-chat/responses/good.json'),
  bedrock: Buffer.from(JSON.stringify({ output: { message: { role: 'assistant', content: [{ text: 'Two.' }] } }, stopReason: 'end_turn', usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18 }, metrics: { latencyMs: 120 } })),
  anthropic: Buffer.from(JSON.stringify({ id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-3-5-sonnet-20241022', content: [{ type: 'text', text: 'Two.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 14, output_tokens: 4 } })),
  cohere: Buffer.from(JSON.stringify({ id: 'c1', finish_reason: 'COMPLETE', message: { role: 'assistant', content: [{ type: 'text', text: 'Two.' }] }, usage: { billed_units: { input_tokens: 5, output_tokens: 2 }, tokens: { input_tokens: 71, output_tokens: 2 } } })),
  huggingface: Buffer.from(JSON.stringify({ generated_text: 'Two.', details: { finish_reason: 'eos_token', generated_tokens: 2 } })),
} as const;

/** The provider streams of each format (the translator fixtures' inputs) and the usage they report. */
const STREAMS = {
  gemini: readJsonFixture<StreamCase>('streams/gemini-chat/case.json'),
  bedrock: readJsonFixture<StreamCase>('streams/bedrock-chat/case.json'),
  anthropic: readJsonFixture<StreamCase>('streams/anthropic-chat/case.json'),
  cohere: readJsonFixture<StreamCase>('streams/cohere-chat/case.json'),
  huggingface: readJsonFixture<StreamCase>('streams/huggingface-completions/case.json'),
} as const;
const STREAM_TYPES = {
  gemini: 'application/json',
  bedrock: 'application/vnd.amazon.eventstream',
  anthropic: 'text/event-stream',
  cohere: 'text/event-stream',
  huggingface: 'text/event-stream',
} as const;

type Format = keyof typeof ANSWERS;

/** One native API per format, deciding stream or not as the real one does (path or body). */
function nativeApi(format: Format, isStream: (r: RecordedRequest) => boolean) {
  return (req: RecordedRequest): Behaviour => {
    if (isStream(req)) return { kind: 'stream', contentType: STREAM_TYPES[format], frames: [streamInput(STREAMS[format])] };
    return { kind: 'raw', status: 200, body: ANSWERS[format].toString('utf8'), headers: { 'content-type': 'application/json' } };
  };
}

const ups = {} as Record<Format, EngineUpstream>;
let spare: EngineUpstream;
let gw: EngineGateway;

function targets(): Record<Format, TargetConfig> {
  return {
    gemini: {
      route_type: 'llm/v1/chat',
      logging: stats,
      // Vertex mode with a plain-http endpoint: the driver builds the whole path, so the test sees the operation.
      model: { provider: 'gemini', name: GEMINI_MODEL, options: { gemini: { api_endpoint: ups.gemini.url, project_id: 'p1', location_id: 'us-central1' }, input_cost: 1, output_cost: 2 } },
      auth: { header_name: 'x-goog-api-key', header_value: 'gemini-key', allow_override: false },
    },
    bedrock: {
      route_type: 'llm/v1/chat',
      logging: stats,
      model: { provider: 'bedrock', name: BEDROCK_MODEL, options: { bedrock: { aws_region: 'us-east-1' }, upstream_url: `${ups.bedrock.url}/model/m/converse` } },
      auth: { aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: 'secret', allow_override: false },
    },
    anthropic: {
      route_type: 'llm/v1/chat',
      logging: stats,
      model: { provider: 'anthropic', name: 'claude-3-5-sonnet-20241022', options: { anthropic_version: '2023-06-01', upstream_url: `${ups.anthropic.url}/v1/messages` } },
      auth: { header_name: 'x-api-key', header_value: 'anthropic-key' },
    },
    cohere: {
      route_type: 'llm/v1/chat',
      logging: stats,
      model: { provider: 'cohere', name: 'command-a-03-2025', options: { upstream_url: `${ups.cohere.url}/v2/chat` } },
      auth: { header_name: 'Authorization', header_value: 'Bearer cohere-key' },
    },
    huggingface: {
      route_type: 'llm/v1/chat',
      logging: stats,
      model: { provider: 'huggingface', name: 'mistralai/Mistral-7B-Instruct-v0.2', options: { upstream_url: ups.huggingface.url } },
      auth: { header_name: 'Authorization', header_value: 'Bearer hf-key' },
    },
  };
}

before(async () => {
  const [g, b, a, c, h, s] = await Promise.all([0, 1, 2, 3, 4, 5].map(() => EngineUpstream.start()));
  Object.assign(ups, { gemini: g, bedrock: b, anthropic: a, cohere: c, huggingface: h });
  spare = s!;
  const t = targets();
  const bedrockStream: TargetConfig = { ...t.bedrock, model: { ...t.bedrock.model, options: { ...t.bedrock.model.options, upstream_url: `${ups.bedrock.url}/model/m/converse-stream` } } };
  const unnamed = (x: TargetConfig): TargetConfig => ({ ...x, model: { ...x.model, name: null } });
  gw = await startEngineGateway([
    { path: '/gemini', config: { llm_format: 'gemini', targets: [t.gemini] } },
    { path: '/bedrock-stream', config: { llm_format: 'bedrock', targets: [bedrockStream] } },
    { path: '/bedrock', config: { llm_format: 'bedrock', targets: [t.bedrock] } },
    { path: '/anthropic', config: { llm_format: 'anthropic', targets: [t.anthropic] } },
    { path: '/cohere', config: { llm_format: 'cohere', targets: [t.cohere] } },
    { path: '/huggingface', config: { llm_format: 'huggingface', targets: [t.huggingface] } },
    { path: '/any-gemini', config: { llm_format: 'gemini', targets: [unnamed(t.gemini)] } },
    { path: '/any-bedrock', config: { llm_format: 'bedrock', targets: [unnamed(t.bedrock)] } },
    { path: '~/captured/(?<model>[\\w.-]+)/(?<operation>\\w+)$', config: { llm_format: 'gemini', targets: [unnamed(t.gemini)] } },
    { path: '/no-stream', config: { llm_format: 'gemini', response_streaming: 'deny', targets: [t.gemini] } },
    {
      path: '/failover',
      config: {
        llm_format: 'gemini',
        balancer: { algorithm: 'priority', failover_criteria: ['http_500', 'non_idempotent'] },
        targets: [
          { ...t.gemini, weight: 100 },
          { ...t.gemini, weight: 50, model: { ...t.gemini.model, options: { ...t.gemini.model.options, gemini: { api_endpoint: spare.url, project_id: 'p2', location_id: 'europe-west4' } } } },
        ],
      },
    },
  ]);
});
after(async () => {
  await gw?.close();
  await Promise.all([...Object.values(ups), spare].map((u) => u?.close()));
});
beforeEach(() => {
  for (const u of [...Object.values(ups), spare]) u.requests.length = 0;
  ups.gemini.set(nativeApi('gemini', (r) => r.url.includes(':streamGenerateContent')));
  spare.set(nativeApi('gemini', (r) => r.url.includes(':streamGenerateContent')));
  // upstream_url names the operation for Bedrock (as Kong's 09-streaming spec does): one route per operation.
  ups.bedrock.set(nativeApi('bedrock', (r) => r.url.endsWith('/converse-stream')));
  ups.anthropic.set(nativeApi('anthropic', (r) => r.json?.stream === true));
  ups.cohere.set(nativeApi('cohere', (r) => r.json?.stream === true));
  ups.huggingface.set(nativeApi('huggingface', (r) => r.url.endsWith('/generate_stream')));
});

/** The native request of each format: client path after the route, body, and whether it asks for a stream. */
function request(format: Format, stream: boolean): { path: string; body: string } {
  switch (format) {
    case 'gemini':
      return {
        path: `/gemini/v1beta/models/${GEMINI_MODEL}:${stream ? 'streamGenerateContent' : 'generateContent'}`,
        body: readFixture('kong-oss/native/gemini/request/with-functions-and-chatter.json').toString('utf8'),
      };
    case 'bedrock':
      return {
        path: `/${stream ? 'bedrock-stream' : 'bedrock'}/model/${encodeURIComponent(BEDROCK_MODEL)}/${stream ? 'converse-stream' : 'converse'}`,
        body: readFixture('kong-oss/native/bedrock/request/with-functions-and-chatter.json').toString('utf8'),
      };
    case 'anthropic':
      return { path: '/anthropic/v1/messages', body: JSON.stringify({ model: 'claude-3-5-sonnet-20241022', max_tokens: 64, system: 'Be brief.', messages: [{ role: 'user', content: 'What is 1 + 1?' }], ...(stream ? { stream: true } : {}) }) };
    case 'cohere':
      return { path: '/cohere/v2/chat', body: JSON.stringify({ model: 'command-a-03-2025', messages: [{ role: 'user', content: [{ type: 'text', text: 'What is 1 + 1?' }] }], ...(stream ? { stream: true } : {}) }) };
    case 'huggingface':
      return { path: `/huggingface/${stream ? 'generate_stream' : 'generate'}`, body: JSON.stringify({ inputs: 'What is 1 + 1?', parameters: { max_new_tokens: 8 } }) };
  }
}

interface Answer {
  status: number;
  headers: Headers;
  bytes: Buffer;
}

async function send(path: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  const r = await fetch(`${gw.proxy}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(10_000) });
  return { status: r.status, headers: r.headers, bytes: Buffer.from(await r.arrayBuffer()) };
}

const withAi = (route: string) => gw.serialized(route).filter((e) => (e.ai as { proxy?: unknown } | undefined)?.proxy !== undefined);

/** The `ai.proxy.usage` of the request `send` makes on `route` (the route's next log entry with one). */
async function usageLogged(route: string, send: () => Promise<void>): Promise<Record<string, number>> {
  const before = withAi(route).length;
  await send();
  const log = await eventually(() => withAi(route)[before], LOG_TRIES);
  return (log.ai as { proxy: { usage: Record<string, number> } }).proxy.usage;
}

const EXPECTED_URL: Record<Format, (stream: boolean) => string> = {
  gemini: (s) => `/v1/projects/p1/locations/us-central1/publishers/google/models/${GEMINI_MODEL}:${s ? 'streamGenerateContent' : 'generateContent'}`,
  bedrock: (s) => `/model/m/${s ? 'converse-stream' : 'converse'}`,
  anthropic: () => '/v1/messages',
  cohere: () => '/v2/chat',
  huggingface: (s) => (s ? '/generate_stream' : '/generate'),
};
/** What each buffered answer reports (Kong's adapters: usageMetadata, usage.inputTokens, ...). */
const BUFFERED_USAGE: Record<Format, [number, number]> = { gemini: [2, 11], bedrock: [11, 7], anthropic: [14, 4], cohere: [5, 2], huggingface: [0, 0] };

describe('llm_format: each native API, buffered and streamed, through the gateway', () => {
  for (const format of Object.keys(ANSWERS) as Format[]) {
    const route = format === 'bedrock' ? '/bedrock/' : `/${format}/`;
    test(`${format} buffered: the body goes and the answer comes back byte for byte; tokens from the native answer`, async () => {
      const { path, body } = request(format, false);
      let r: Answer = { status: 0, headers: new Headers(), bytes: Buffer.alloc(0) };
      const usage = await usageLogged(route, async () => {
        r = await send(path, body);
      });
      assert.equal(r.status, 200, r.bytes.toString());
      assert.deepEqual(r.bytes, ANSWERS[format], 'the provider answer, untranslated');
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      const seen = ups[format].requests;
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.body, body, 'the native body, untouched');
      assert.equal(seen[0]!.url.split('?')[0], EXPECTED_URL[format](false));
      assert.equal(r.headers.get('x-kong-llm-model'), `${format}/${targets()[format].model.name}`);
      assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], BUFFERED_USAGE[format]);
    });

    test(`${format} streamed: the provider's stream reaches the client as sent, with its type; tokens from the stream`, async () => {
      const { path, body } = request(format, true);
      let r: Answer = { status: 0, headers: new Headers(), bytes: Buffer.alloc(0) };
      const usage = await usageLogged(format === 'bedrock' ? '/bedrock-stream/' : route, async () => {
        r = await send(path, body);
      });
      assert.equal(r.status, 200, r.bytes.toString());
      assert.deepEqual(r.bytes, streamInput(STREAMS[format]), 'the provider stream, untranslated');
      assert.equal(r.headers.get('content-type'), STREAM_TYPES[format]);
      const seen = format === 'bedrock' ? ups.bedrock.requests : ups[format].requests;
      assert.equal(seen.length, 1);
      assert.equal(seen[0]!.body, body);
      assert.equal(seen[0]!.url.split('?')[0], EXPECTED_URL[format](true));
      const expected = STREAMS[format].expected_usage;
      // A provider that reports no prompt count (Hugging Face) gets Kong's estimate of this request's prompt (its
      // OpenAI view: 'What is 1 + 1?', 5 words x 1.8 = 9), not the fixture's ('Say hello').
      const prompt = format === 'huggingface' ? 9 : expected.prompt_tokens;
      assert.deepEqual([usage.prompt_tokens, usage.completion_tokens], [prompt, expected.completion_tokens]);
    });
  }

  test('bedrock: the native body is signed with SigV4 for the model in the URL', async () => {
    const { path, body } = request('bedrock', false);
    assert.equal((await send(path, body)).status, 200);
    const auth = String(ups.bedrock.requests[0]!.headers.authorization);
    assert.match(auth, /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
  });

  test('gemini: the client query (alt=sse) goes along, the key is the config\'s', async () => {
    const { path, body } = request('gemini', true);
    assert.equal((await send(`${path}?alt=sse`, body, { 'x-goog-api-key': 'client-key' })).status, 200);
    const seen = ups.gemini.requests[0]!;
    assert.match(seen.url, /\?alt=sse$/);
    assert.equal(seen.headers['x-goog-api-key'], 'gemini-key');
  });
});

describe('llm_format: failover and checks', () => {
  test('a native target answering 500 fails over to the next; the client gets the healthy one\'s bytes', async () => {
    ups.gemini.set({ kind: 'json', status: 500, body: { error: { code: 500, message: 'internal', status: 'INTERNAL' } } });
    const { body } = request('gemini', false);
    const r = await send(`/failover/v1beta/models/${GEMINI_MODEL}:generateContent`, body);
    assert.equal(r.status, 200);
    assert.deepEqual(r.bytes, ANSWERS.gemini);
    assert.equal(ups.gemini.requests.length, 1);
    assert.equal(spare.requests.length, 1);
    assert.equal(spare.requests[0]!.body, body, 'the second target got the same native body');
    assert.match(spare.requests[0]!.url, /\/projects\/p2\/locations\/europe-west4\//);
    const log = await eventually(() => gw.serialized('/failover/')[0], LOG_TRIES);
    assert.equal((log.ai as { proxy: { tried_targets: unknown[] } }).proxy.tried_targets.length, 2);
  });

  test('a native stream fails over too, before its first event', async () => {
    ups.gemini.set({ kind: 'json', status: 500, body: { error: { message: 'down' } } });
    const { body } = request('gemini', true);
    const r = await send(`/failover/v1beta/models/${GEMINI_MODEL}:streamGenerateContent`, body);
    assert.equal(r.status, 200);
    assert.deepEqual(r.bytes, streamInput(STREAMS.gemini));
    assert.equal(spare.requests.length, 1);
  });

  test('a provider error is passed through untouched', async () => {
    ups.anthropic.set({ kind: 'json', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } } });
    const r = await send('/anthropic/v1/messages', JSON.stringify({ model: 'claude-3-5-sonnet-20241022', messages: [{ role: 'user', content: 'hi' }] }));
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.bytes.toString()), { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } });
  });

  test('the model in the path must be the target\'s (Kong: "cannot use own model")', async () => {
    const { body } = request('gemini', false);
    const r = await send('/gemini/v1beta/models/gemini-ultra:generateContent', body);
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.bytes.toString()), { error: { message: `cannot use own model - must be: ${GEMINI_MODEL}` } });
    assert.equal(ups.gemini.requests.length, 0);
  });

  test('a target without a model name takes the path\'s, percent-decoded and encoded again as one segment', async () => {
    const { body } = request('bedrock', false);
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-haiku';
    const r = await send(`/any-bedrock/model/${encodeURIComponent(arn)}/converse`, body);
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-kong-llm-model'), `bedrock/${arn}`);
  });

  test('a route\'s named captures give the model and operation, as Kong\'s adapters read them first', async () => {
    const { body } = request('gemini', true);
    const r = await send('/captured/gemini-1.5-pro/streamGenerateContent', body);
    assert.equal(r.status, 200, r.bytes.toString());
    assert.equal(r.headers.get('x-kong-llm-model'), 'gemini/gemini-1.5-pro');
    assert.match(ups.gemini.requests[0]!.url, /\/models\/gemini-1\.5-pro:streamGenerateContent$/);
  });

  test('hostile model ids in the path are refused before any provider is called', async () => {
    const { body: gemini } = request('gemini', false);
    const { body: bedrock } = request('bedrock', false);
    const cases: Array<[string, string]> = [
      ['/any-gemini/v1beta/models/..:generateContent', gemini],
      ['/any-gemini/v1beta/models/%2e%2e:generateContent', gemini],
      ['/any-gemini/v1beta/models/a%3Fb:generateContent', gemini],
      ['/any-gemini/v1beta/models/%E0%A4%A:generateContent', gemini],
      [`/any-gemini/v1beta/models/${'x'.repeat(300)}:generateContent`, gemini],
      ['/any-bedrock/model/%2e%2e/converse', bedrock],
      ['/any-bedrock/model/a%2f..%2fb/converse', bedrock],
      ['/any-bedrock/model/a%23b/converse', bedrock],
      ['/any-bedrock/model/a%0ab/converse', bedrock],
    ];
    // The gateway normalises `%2e%2e` segments of the path first (as nginx does): those no longer name a model.
    for (const [path, body] of cases) {
      const r = await send(path, body);
      assert.equal(r.status, 400, `${path}: ${r.bytes.toString()}`);
    }
    assert.equal(ups.gemini.requests.length + ups.bedrock.requests.length, 0);
  });

  test('a native body without a prompt gets Kong\'s 400', async () => {
    const r = await send(`/gemini/v1beta/models/${GEMINI_MODEL}:generateContent`, JSON.stringify({ generationConfig: { temperature: 1 } }));
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.bytes.toString()), { error: { message: "request body doesn't contain valid prompts" } });
  });

  test('response_streaming deny refuses a native stream path with Kong\'s 400', async () => {
    const { body } = request('gemini', true);
    const r = await send(`/no-stream/v1beta/models/${GEMINI_MODEL}:streamGenerateContent`, body);
    assert.equal(r.status, 400);
    assert.deepEqual(JSON.parse(r.bytes.toString()), { error: { message: 'response streaming is not enabled for this LLM' } });
  });
});
