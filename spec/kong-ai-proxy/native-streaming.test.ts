/**
 * Kong's spec/03-plugins/38-ai-proxy/09-streaming_integration_spec.lua native-format cases, restated against
 * the local gateway with each Kong config as one ai-proxy-advanced target: the mock provider writes what Kong's
 * mock locations write ("/gemini/llm/v1/chat/functions/good": a JSON array in three writes;
 * "/bedrock/llm/v1/chat/functions/good": Kong's three base64 event-stream chunks), the client sends Kong's
 * native request fixtures to Kong's paths. Kong checks the status, X-Kong-LLM-Model and a marker only the native
 * answer has; we also check the bytes are the provider's, one for one, and the tokens logged.
 * Difference: Kong's test sets AWS_REGION in the environment; the Bedrock target names its region instead.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../helpers/gateway-harness';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream } from '../helpers/engine-upstream';
import { readFixture } from '../helpers/providers-fixtures';

/** Log entries come after the answer (the log phase, a file write): up to 10 s on a loaded machine. */
const LOG_TRIES = 500;

/** Kong's Gemini answer: one function call, safety ratings, usage 47/3; written as `%s\n\n` in three parts. */
const GEMINI_ANSWER = {
  candidates: [
    {
      content: { role: 'model', parts: [{ functionCall: { name: 'add', args: { a: 2, b: 12 } } }] },
      finishReason: 'STOP',
      safetyRatings: ['HATE_SPEECH', 'DANGEROUS_CONTENT', 'HARASSMENT', 'SEXUALLY_EXPLICIT'].map((c) => ({
        category: `HARM_CATEGORY_${c}`,
        probability: 'NEGLIGIBLE',
        probabilityScore: 0.1,
        severity: 'HARM_SEVERITY_NEGLIGIBLE',
        severityScore: 0.09,
      })),
    },
  ],
  usageMetadata: {
    promptTokenCount: 47,
    candidatesTokenCount: 3,
    totalTokenCount: 50,
    promptTokensDetails: [{ modality: 'TEXT', tokenCount: 47 }],
    candidatesTokensDetails: [{ modality: 'TEXT', tokenCount: 3 }],
  },
  modelVersion: 'gemini-1.5-pro-001',
  createTime: '2025-02-20T21:58:56.381597Z',
  responseId: 'oKW3Z52lF4762PgP4P6i4Ak',
};
const geminiText = `[${JSON.stringify(GEMINI_ANSWER, null, 2).replace(/\n/g, '\r\n')}`;
const split = geminiText.indexOf('"finishReason"');
const GEMINI_WRITES = [geminiText.slice(0, split), geminiText.slice(split), ']'].map((s) => `${s}\n\n`);
const BEDROCK_WRITES = [1, 2, 3].map((i) => Buffer.from(readFixture(`kong-oss/bedrock/chunks/chunk-${i}.txt`).toString('ascii'), 'base64'));

let up: EngineUpstream;
let gw: EngineGateway;
const stats = { log_payloads: false, log_statistics: true };

before(async () => {
  up = await EngineUpstream.start((req) =>
    req.url.startsWith('/gemini/')
      ? { kind: 'stream', contentType: 'application/json', frames: GEMINI_WRITES }
      : { kind: 'stream', contentType: 'application/vnd.amazon.eventstream', frames: BEDROCK_WRITES },
  );
  gw = await startEngineGateway([
    {
      path: '/gemini-native/llm/v1/chat/functions/good',
      config: {
        llm_format: 'gemini',
        targets: [
          {
            route_type: 'llm/v1/chat',
            logging: stats,
            model: { name: 'gemini-1.5-flash', provider: 'gemini', options: { max_tokens: 512, temperature: 0.6, upstream_url: `${up.url}/gemini/llm/v1/chat/functions/good`, input_cost: 20, output_cost: 20 } },
            auth: { header_name: 'x-goog-api-key', header_value: '123', allow_override: false },
          },
        ],
      },
    },
    {
      path: '/bedrock-native/llm/v1/chat/functions/good',
      config: {
        llm_format: 'bedrock',
        targets: [
          {
            route_type: 'llm/v1/chat',
            logging: stats,
            model: {
              name: 'aws-titan-v1:0',
              provider: 'bedrock',
              options: { max_tokens: 512, temperature: 0.6, upstream_url: `${up.url}/bedrock/llm/v1/chat/functions/good`, input_cost: 20, output_cost: 20, bedrock: { aws_region: 'us-east-1' } },
            },
            auth: { allow_override: false, aws_access_key_id: 'mock-key', aws_secret_access_key: 'mock-secret' },
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

async function post(path: string, fixture: string): Promise<{ status: number; model: string | null; body: Buffer }> {
  const r = await fetch(`${gw.proxy}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json' },
    body: readFixture(fixture),
    signal: AbortSignal.timeout(10_000),
  });
  return { status: r.status, model: r.headers.get('x-kong-llm-model'), body: Buffer.from(await r.arrayBuffer()) };
}

async function usage(route: string): Promise<Record<string, number>> {
  const log = await eventually(() => gw.serialized(route).find((e) => (e.ai as { proxy?: unknown } | undefined)?.proxy !== undefined), LOG_TRIES);
  return (log.ai as { proxy: { usage: Record<string, number> } }).proxy.usage;
}

describe('09-streaming_integration_spec.lua', () => {
  test('"good stream request gemini with function calls and native format"', async () => {
    const r = await post('/gemini-native/llm/v1/chat/functions/good/models/gemini-1.5-flash:streamGenerateContent', 'kong-oss/native/gemini/request/with-functions-and-chatter.json');
    assert.equal(r.status, 200);
    assert.equal(r.model, 'gemini/gemini-1.5-flash');
    assert.ok(r.body.toString().includes('safetyRatings'), "didn't find gemini native response marker, is it being transformer?");
    assert.equal(r.body.toString(), GEMINI_WRITES.join(''), 'every byte the provider wrote');
    const u = await usage('/gemini-native/');
    assert.deepEqual([u.prompt_tokens, u.completion_tokens], [47, 3]);
    const sent = up.requests.find((q) => q.url.startsWith('/gemini/'));
    assert.deepEqual(sent?.json, JSON.parse(readFixture('kong-oss/native/gemini/request/with-functions-and-chatter.json').toString()));
  });

  test('"good stream request bedrock with function calls and native format"', async () => {
    const r = await post('/bedrock-native/llm/v1/chat/functions/good/model/aws-titan-v1:0/converse-stream', 'kong-oss/native/bedrock/request/with-functions-and-chatter.json');
    assert.equal(r.status, 200);
    assert.equal(r.model, 'bedrock/aws-titan-v1:0');
    assert.ok(r.body.toString('latin1').includes('contentBlockIndex'), "didn't find bedrock native response marker, is it being transformer?");
    assert.deepEqual(r.body, Buffer.concat(BEDROCK_WRITES), 'the binary event stream, byte for byte');
    const u = await usage('/bedrock-native/');
    assert.deepEqual([u.prompt_tokens, u.completion_tokens], [478, 44], 'the metadata event of chunk 3');
  });
});
