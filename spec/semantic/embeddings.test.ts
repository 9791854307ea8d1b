/**
 * The embeddings drivers on the wire: each provider's URL, body and answer shape, `embeddings.auth` as header,
 * query or body parameter, SigV4 for Bedrock, a GCP service-account token for Vertex, `upstream_url`, and the
 * errors (status, not JSON, wrong length) naming the call but never the key. The provider is a local HTTP server.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { EmbeddingsConfig } from '../../schemas/config';
import { defaultAttemptDeps } from '../../plugins/ai-proxy-advanced/engine/defaults';
import { EmbeddingsError } from '../../plugins/ai-proxy-advanced/errors';
import { createEmbedder, undiciCall } from '../../plugins/ai-proxy-advanced/semantic/embeddings/embedder';
import { azure } from '../../plugins/ai-proxy-advanced/semantic/embeddings/azure';
import { bedrock } from '../../plugins/ai-proxy-advanced/semantic/embeddings/bedrock';
import { gemini } from '../../plugins/ai-proxy-advanced/semantic/embeddings/gemini';
import { huggingface } from '../../plugins/ai-proxy-advanced/semantic/embeddings/huggingface';
import { mistral } from '../../plugins/ai-proxy-advanced/semantic/embeddings/mistral';
import { ollama } from '../../plugins/ai-proxy-advanced/semantic/embeddings/ollama';
import { openai } from '../../plugins/ai-proxy-advanced/semantic/embeddings/openai';
import { EngineUpstream, type RecordedRequest } from '../helpers/engine-upstream';

const VEC = [0.25, -0.5, 1, 2];
let up: EngineUpstream;

function answerFor(req: RecordedRequest): unknown {
  const p = req.url;
  if (p.startsWith('/token')) return { access_token: 'ya29.TOKEN', expires_in: 3600 };
  if (p.startsWith('/openai') || p.startsWith('/azure') || p.startsWith('/mistral')) return { data: [{ embedding: VEC }] };
  if (p.startsWith('/ollama')) return { embeddings: [VEC] };
  if (p.startsWith('/hf')) return [VEC];
  if (p.startsWith('/gemini')) return { embedding: { values: VEC } };
  if (p.startsWith('/vertex')) return { predictions: [{ embeddings: { values: VEC } }] };
  if (p.startsWith('/bedrock')) return { embedding: VEC, inputTextTokenCount: 3 };
  return {};
}

before(async () => {
  up = await EngineUpstream.start((req) => ({ kind: 'json', body: answerFor(req) }));
});
after(() => up.close());

const deps = (env: Record<string, string> = {}) => ({ call: undiciCall, signDeps: { ...defaultAttemptDeps.signDeps, env }, timeoutMs: 2000 });

async function embedVia(config: EmbeddingsConfig, env: Record<string, string> = {}): Promise<{ vector: Float32Array; req: RecordedRequest }> {
  const n = up.requests.length;
  const vector = await createEmbedder(config, 4, deps(env)).embed('hello world');
  const req = up.requests.slice(n).find((r) => !r.url.startsWith('/token'));
  assert.ok(req);
  return { vector, req };
}

describe('embeddings drivers', () => {
  test('openai: {input, model, dimensions} with the auth header', async () => {
    const { vector, req } = await embedVia({
      auth: { header_name: 'Authorization', header_value: 'Bearer sk-1' },
      model: { provider: 'openai', name: 'text-embedding-3-small', options: { upstream_url: `${up.url}/openai/v1/embeddings` } },
    } as EmbeddingsConfig);
    assert.deepEqual(Array.from(vector), VEC);
    assert.deepEqual(req.json, { input: 'hello world', model: 'text-embedding-3-small', dimensions: 4 });
    assert.equal(req.headers['authorization'], 'Bearer sk-1');
    assert.equal(req.method, 'POST');
  });

  test('auth as a query parameter and as a body parameter', async () => {
    const q = await embedVia({
      auth: { param_name: 'key', param_value: 'k-1', param_location: 'query' },
      model: { provider: 'gemini', name: 'text-embedding-004', options: { upstream_url: `${up.url}/gemini/v1beta/models/x:embedContent` } },
    } as EmbeddingsConfig);
    assert.match(q.req.url, /\?key=k-1$/);
    assert.deepEqual(q.req.json, { content: { parts: [{ text: 'hello world' }] }, outputDimensionality: 4 });
    const b = await embedVia({
      auth: { param_name: 'api_key', param_value: 'k-2', param_location: 'body' },
      model: { provider: 'mistral', name: 'mistral-embed', options: { upstream_url: `${up.url}/mistral/v1/embeddings` } },
    } as EmbeddingsConfig);
    assert.deepEqual(b.req.json, { input: ['hello world'], model: 'mistral-embed', encoding_format: 'float', api_key: 'k-2' });
  });

  test('azure, ollama and huggingface bodies', async () => {
    const az = await embedVia({ auth: { header_name: 'api-key', header_value: 'az' }, model: { provider: 'azure', name: 'te3', options: { upstream_url: `${up.url}/azure/x` } } } as EmbeddingsConfig);
    assert.deepEqual(az.req.json, { input: 'hello world', model: 'te3', dimensions: 4 });
    assert.equal(az.req.headers['api-key'], 'az');
    const ol = await embedVia({ model: { provider: 'ollama', name: 'nomic-embed-text', options: { upstream_url: `${up.url}/ollama/api/embed` } } } as EmbeddingsConfig);
    assert.deepEqual(ol.req.json, { model: 'nomic-embed-text', input: 'hello world', dimensions: 4 });
    const hf = await embedVia({ model: { provider: 'huggingface', name: 'bge', options: { upstream_url: `${up.url}/hf/models/bge`, huggingface: { wait_for_model: true } } } } as EmbeddingsConfig);
    assert.deepEqual(hf.req.json, { inputs: 'hello world', options: { wait_for_model: true } });
  });

  test('bedrock: Titan body, SigV4 with the configured AWS keys', async () => {
    const { req } = await embedVia({
      auth: { aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: 'SECRETKEY' },
      model: { provider: 'bedrock', name: 'amazon.titan-embed-text-v2:0', options: { upstream_url: `${up.url}/bedrock/model/x/invoke`, bedrock: { aws_region: 'eu-west-1' } } },
    } as EmbeddingsConfig);
    assert.deepEqual(req.json, { inputText: 'hello world', dimensions: 4 });
    assert.match(String(req.headers['authorization']), /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/);
    assert.ok(req.headers['x-amz-date']);
  });

  test('gemini on Vertex with a GCP service account: a token from the token endpoint as Bearer', async () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const sa = JSON.stringify({ type: 'service_account', client_email: 'x@p.iam.gserviceaccount.com', private_key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), private_key_id: 'k1' });
    const { req } = await embedVia({
      auth: { gcp_use_service_account: true, gcp_service_account_json: sa, gcp_oauth_token_url: `${up.url}/token` },
      model: { provider: 'gemini', name: 'text-embedding-005', options: { upstream_url: `${up.url}/vertex/predict`, gemini: { api_endpoint: 'us-central1-aiplatform.googleapis.com', project_id: 'p', location_id: 'us-central1' } } },
    } as EmbeddingsConfig);
    assert.equal(req.headers['authorization'], 'Bearer ya29.TOKEN');
    assert.deepEqual(req.json, { instances: [{ content: 'hello world' }], parameters: { outputDimensionality: 4 } });
  });

  test('provider URLs when upstream_url is not set', () => {
    const m = (provider: string, name: string, options: Record<string, unknown> = {}) => ({ provider, name, options }) as EmbeddingsConfig['model'];
    assert.equal(openai.defaultUrl(m('openai', 'x')), 'https://api.openai.com/v1/embeddings');
    assert.equal(mistral.defaultUrl(m('mistral', 'x')), 'https://api.mistral.ai/v1/embeddings');
    assert.equal(ollama.defaultUrl(m('ollama', 'x')), 'http://127.0.0.1:11434/api/embed');
    assert.equal(huggingface.defaultUrl(m('huggingface', 'BAAI/bge')), 'https://api-inference.huggingface.co/models/BAAI%2Fbge');
    assert.equal(azure.defaultUrl(m('azure', 'te3', { azure: { instance: 'inst', deployment_id: 'dep', api_version: '2024-02-01' } })), 'https://inst.openai.azure.com/openai/deployments/dep/embeddings?api-version=2024-02-01');
    assert.equal(gemini.defaultUrl(m('gemini', 'text-embedding-004')), 'https://generativelanguage.googleapis.com/v1beta/models/text-embedding-004:embedContent');
    assert.equal(
      gemini.defaultUrl(m('gemini', 'text-embedding-005', { gemini: { api_endpoint: 'us-central1-aiplatform.googleapis.com', project_id: 'p', location_id: 'us-central1' } })),
      'https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/google/models/text-embedding-005:predict',
    );
    assert.throws(() => gemini.defaultUrl(m('gemini', 'x', { gemini: { api_endpoint: 'evil.com/x?', project_id: 'p', location_id: 'l' } })), /hostname/);
    assert.equal(bedrock.defaultUrl(m('bedrock', 'amazon.titan-embed-text-v2:0', { bedrock: { aws_region: 'us-east-1' } })), 'https://bedrock-runtime.us-east-1.amazonaws.com/model/amazon.titan-embed-text-v2%3A0/invoke');
  });

  test('errors name the provider and URL (no query, no key): HTTP status, not JSON, wrong length, unreachable', async () => {
    const cfg = (path: string) =>
      ({ auth: { param_name: 'key', param_value: 'SECRET-KEY', param_location: 'query' }, model: { provider: 'openai', name: 'm', options: { upstream_url: `${up.url}${path}` } } }) as EmbeddingsConfig;
    const check = async (c: EmbeddingsConfig, pattern: RegExp): Promise<void> => {
      await assert.rejects(createEmbedder(c, 4, deps()).embed('x'), (e: unknown) => {
        assert.ok(e instanceof Error, String(e));
        assert.match(e.message, pattern);
        assert.ok(!e.message.includes('SECRET-KEY'), e.message);
        return true;
      });
    };
    up.set((req) => (req.url.startsWith('/status') ? { kind: 'json', status: 401, body: {} } : req.url.startsWith('/text') ? { kind: 'raw', status: 200, body: 'nope' } : { kind: 'json', body: { data: [{ embedding: [1, 2] }] } }));
    try {
      await check(cfg('/status'), /^embeddings call \(openai http:\/\/127\.0\.0\.1:\d+\/status\) answered HTTP 401$/);
      await check(cfg('/text'), /answered something that is not JSON/);
      await check(cfg('/short'), /returned a vector of 2 dimensions, but vectordb\.dimensions is 4/);
      await assert.rejects(createEmbedder({ model: { provider: 'openai', name: 'm', options: { upstream_url: 'http://127.0.0.1:9/v1/embeddings' } } } as EmbeddingsConfig, 4, deps()).embed('x'), EmbeddingsError);
    } finally {
      up.set((req) => ({ kind: 'json', body: answerFor(req) }));
    }
  });
});
