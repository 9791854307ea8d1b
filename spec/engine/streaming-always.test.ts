/**
 * `response_streaming: always` with a client that does not send `stream: true`, for every provider, end to end:
 * the local gateway drives the project's plugin server over its unix socket, the plugin asks a local provider
 * (speaking that provider's real stream wire format) for a stream, and the client receives the translated SSE.
 *
 * The local provider only streams when it was asked to, in the provider's own terms (`stream: true` in the body,
 * TGI's `parameters.stream`, Gemini's `:streamGenerateContent` URL); otherwise it answers a 400, as a real
 * provider answers JSON: either way the client would not get its stream. Issue 10: the OpenAI-compatible
 * providers sent `stream: body.stream ?? false`, so every one of them broke here.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ProviderName, TargetConfig } from '../../schemas/config';
import { getDriver } from '../../plugins/ai-proxy-advanced/providers';
import { startEngineGateway, type EngineGateway, type EngineRoute } from '../helpers/engine-gateway';
import { EngineUpstream, type RecordedRequest } from '../helpers/engine-upstream';
import { caseDirs, makeCtx, readFixture, readJsonFixture, streamInput, target, type StreamCase } from '../helpers/providers-fixtures';

/** Credentials each provider's driver needs to build its request (never real). */
const AUTH: Partial<Record<ProviderName, TargetConfig['auth']>> = {
  anthropic: { header_name: 'x-api-key', header_value: 'sk-ant-test' },
  bedrock: { aws_access_key_id: 'AKIDEXAMPLE', aws_secret_access_key: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  gemini: { param_name: 'key', param_value: 'gm-test', param_location: 'query' },
};
const BEARER: TargetConfig['auth'] = { header_name: 'Authorization', header_value: 'Bearer test-key' };

const CONTENT_TYPE: Partial<Record<ProviderName, string>> = {
  bedrock: 'application/vnd.amazon.eventstream',
  cohere: 'application/stream+json',
  ollama: 'application/x-ndjson',
  gemini: 'application/json',
};

/** One scenario: a target with `response_streaming: always`, the provider's stream bytes, the client's bytes. */
interface Scenario {
  name: string;
  target: TargetConfig;
  input: Buffer;
  contentType: string;
  expected: string;
  includeUsage: boolean;
  /** Did the plugin ask the provider for a stream, in this provider's terms? */
  askedForStream(req: RecordedRequest): boolean;
}

const bodyStream = (req: RecordedRequest): boolean => req.json?.['stream'] === true;

/**
 * How a driver asks for a stream. Bedrock names it in the URL (`/converse-stream`), which an `upstream_url` (the
 * only way to reach a local server, as Kong's bedrock.lua) replaces: its URL choice is covered by the unit test
 * below, and here it streams whatever it is asked.
 */
function askedForStream(t: TargetConfig): (req: RecordedRequest) => boolean {
  const o = t.model.options;
  if (t.model.provider === 'gemini') return (req) => req.url.includes(':streamGenerateContent');
  if (t.model.provider === 'bedrock') return () => true;
  if (t.model.provider === 'llama2' && o?.llama2_format === 'raw') {
    return (req) => (req.json?.['parameters'] as Record<string, unknown> | undefined)?.['stream'] === true;
  }
  return bodyStream;
}

let up: EngineUpstream;
let gw: EngineGateway;
const scenarios: Scenario[] = [];

/** Every provider stream fixture, pointed at the local provider. */
function fixtureScenarios(url: string): Scenario[] {
  return caseDirs('streams').map((name) => {
    const c = readJsonFixture<StreamCase>(`streams/${name}/case.json`);
    const provider = c.target.model.provider;
    const options: Record<string, unknown> = { ...c.target.model.options };
    if (provider === 'gemini') {
      // Vertex endpoint at the local provider: the URL carries the operation, so the stream ask is visible.
      delete options['upstream_url'];
      options['gemini'] = { api_endpoint: url, project_id: name, location_id: 'local' };
    } else {
      options['upstream_url'] = `${url}/p/${name}`;
    }
    if (provider === 'anthropic') options['anthropic_version'] = '2023-06-01';
    const t: TargetConfig = { ...c.target, model: { ...c.target.model, options }, auth: AUTH[provider] ?? BEARER };
    return {
      name,
      target: t,
      input: streamInput(c),
      contentType: name === 'gemini-sse-tools' ? 'text/event-stream' : (CONTENT_TYPE[provider] ?? 'text/event-stream'),
      expected: readFixture(`streams/${name}/expected.txt`).toString('utf8'),
      includeUsage: c.include_usage ?? false,
      askedForStream: askedForStream(t),
    };
  });
}

/** The providers that speak OpenAI's format (and Hugging Face chat): Kong's OpenAI SSE fixture passes through. */
function openAiScenarios(url: string): Scenario[] {
  const input = readFixture('kong-oss/unit/streaming-chunk-formats/text-event-stream/input.bin');
  const expected = readFixture('streams/mistral-openai-passthrough/expected.txt').toString('utf8');
  const options: Array<[ProviderName, Record<string, unknown>]> = [
    ['openai', {}],
    ['azure', { azure_instance: 'inst', azure_deployment_id: 'dep' }],
    ['mistral', { mistral_format: 'openai' }],
    ['llama2', { llama2_format: 'openai' }],
    ['vllm', {}],
    ['deepseek', {}],
    ['xai', {}],
    ['cerebras', {}],
    ['dashscope', {}],
    ['databricks', { databricks: { workspace_instance_id: 'w' } }],
    ['huggingface', {}],
  ];
  return options.map(([provider, o]) => {
    const name = `${provider}-openai-format`;
    const t: TargetConfig = { ...target(provider, 'llm/v1/chat', 'm-1', { ...o, upstream_url: `${url}/p/${name}` }), auth: BEARER };
    return { name, target: t, input, contentType: 'text/event-stream', expected, includeUsage: false, askedForStream: bodyStream };
  });
}

before(async () => {
  up = await EngineUpstream.start();
  scenarios.push(...fixtureScenarios(up.url), ...openAiScenarios(up.url));
  const byName = new Map(scenarios.map((s) => [s.name, s]));
  up.set((req) => {
    // /p/<name>/... for upstream_url targets, /v1/projects/<name>/... for the Vertex ones.
    const name = /^\/(?:p|v1\/projects)\/([^/?:]+)/.exec(req.url)?.[1];
    const s = name === undefined ? undefined : byName.get(name);
    if (!s) return { kind: 'json', status: 404, body: { error: `no scenario for ${req.url}` } };
    if (!s.askedForStream(req)) return { kind: 'json', status: 400, body: { error: 'this provider was not asked for a stream' } };
    // Two writes cut through the middle, as TCP segments may.
    const mid = Math.floor(s.input.length / 2);
    return { kind: 'stream', contentType: s.contentType, frames: [s.input.subarray(0, mid), s.input.subarray(mid)] };
  });
  const routes: EngineRoute[] = scenarios.map((s) => ({ path: `/always/${s.name}`, config: { response_streaming: 'always', targets: [s.target] } }));
  gw = await startEngineGateway(routes);
});

after(async () => {
  await gw?.close();
  await up?.close();
});

describe('response_streaming: always, client without stream: true, through the gateway and the plugin server', () => {
  for (const name of [...caseDirs('streams'), ...['openai', 'azure', 'mistral', 'llama2', 'vllm', 'deepseek', 'xai', 'cerebras', 'dashscope', 'databricks', 'huggingface'].map((p) => `${p}-openai-format`)]) {
    test(name, { timeout: 20_000 }, async () => {
      const s = scenarios.find((x) => x.name === name);
      assert.ok(s, `scenario ${name}`);
      const completions = s.target.route_type === 'llm/v1/completions';
      const body: Record<string, unknown> = completions ? { prompt: 'Say hello' } : { messages: [{ role: 'user', content: 'Say hello' }] };
      if (s.includeUsage) body['stream_options'] = { include_usage: true };
      const before = up.requests.length;
      const res = await fetch(`${gw.proxy}/always/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      const seen = up.requests.slice(before);
      assert.equal(seen.length, 1, 'one provider call');
      assert.ok(s.askedForStream(seen[0]!), `the provider was asked for a stream: ${seen[0]!.method} ${seen[0]!.url} ${seen[0]!.body.slice(0, 300)}`);
      assert.equal(res.status, 200, text);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(text, s.expected);
    });
  }
});

describe('URL-named streams ask for the stream operation whenever the engine streams', () => {
  test('bedrock /converse-stream and gemini :streamGenerateContent follow ctx.stream, not the client body', () => {
    const bedrock = target('bedrock', 'llm/v1/chat', 'anthropic.claude-3-sonnet-20240229-v1:0', { bedrock: { aws_region: 'us-east-1' } });
    const gemini = target('gemini', 'llm/v1/chat', 'gemini-1.5-pro');
    const chat = { messages: [{ role: 'user', content: 'hi' }] };
    assert.match(getDriver('bedrock').toRequest(chat, makeCtx(bedrock, { stream: true })).url, /\/converse-stream$/);
    assert.match(getDriver('bedrock').toRequest(chat, makeCtx(bedrock, { stream: false })).url, /\/converse$/);
    assert.match(getDriver('gemini').toRequest(chat, makeCtx(gemini, { stream: true })).url, /:streamGenerateContent$/);
    assert.match(getDriver('gemini').toRequest(chat, makeCtx(gemini, { stream: false })).url, /:generateContent$/);
  });
});
