/**
 * Property-based fuzzing (fast-check) of what a client and an operator control (issue 11):
 *  - request bodies, content types and templated header / query values, through the local gateway and the real
 *    plugin server, against a healthy provider: never a 5xx, never a crash (the next request is still served);
 *  - plugin configs: either refused by validateConfig with errors that name a field, or served: the plugin
 *    answers a request without the generic "unexpected error" 500.
 * Runs are bounded for `npm test`; AIPA_FUZZ_RUNS=<n> runs more (e.g. 2000 before a release). A failure prints
 * fast-check's seed and shrunk counterexample; replay it with AIPA_FUZZ_SEED=<seed>.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import { validateConfig, type PluginConfig } from '../../schemas';
import { PROVIDERS, ROUTE_TYPES, ALGORITHMS, FAILOVER_CRITERIA } from '../../schemas/definition/enums';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { closeUpstreamAgents } from '../../plugins/ai-proxy-advanced/engine/upstream';
import { closeStreamEndpoint } from '../../plugins/ai-proxy-advanced/engine/stream-endpoint';
import { resolveModelTemplates } from '../../plugins/ai-proxy-advanced/engine/templating';
import { InvalidRequestError } from '../../plugins/ai-proxy-advanced/errors';
import { azureDriver } from '../../plugins/ai-proxy-advanced/providers/openai';
import { makeCtx } from '../helpers/providers-fixtures';
import { FakePdk } from '../helpers/engine-pdk';
import { startEngineGateway, type EngineGateway } from '../helpers/engine-gateway';
import { EngineUpstream, openAiChatStream, chatCompletion } from '../helpers/engine-upstream';

const RUNS = Number(process.env.AIPA_FUZZ_RUNS ?? '60');
const SEED = process.env.AIPA_FUZZ_SEED === undefined ? undefined : Number(process.env.AIPA_FUZZ_SEED);
const params = <T>(runs: number): fc.Parameters<T> => ({ numRuns: runs, ...(SEED === undefined ? {} : { seed: SEED }) });

/** Deeply nested JSON text (beyond what fc.json builds) at a random depth. */
const nestedJson = fc.integer({ min: 1, max: 6000 }).map((d) => `{"messages":[{"role":"user","content":"x"}],"x":${'['.repeat(d)}${']'.repeat(d)}}`);

/** Chat-like bodies with hostile values in every field the plugin reads. */
const chatish = fc.record(
  {
    model: fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('gpt-4o-mini'), fc.anything()),
    messages: fc.oneof(
      fc.array(fc.record({ role: fc.constantFrom('user', 'system', 'assistant', 'tool', 'x'), content: fc.oneof(fc.string({ unit: 'binary' }), fc.anything()) }), { maxLength: 4 }),
      fc.anything(),
    ),
    prompt: fc.oneof(fc.string(), fc.anything()),
    stream: fc.oneof(fc.boolean(), fc.anything()),
    stream_options: fc.anything(),
    max_tokens: fc.oneof(fc.integer(), fc.double(), fc.string()),
    input: fc.anything(),
    __proto__: fc.anything(),
  },
  { requiredKeys: [] },
).map((o) => JSON.stringify(o));

const body = fc.oneof(
  { weight: 4, arbitrary: chatish },
  { weight: 2, arbitrary: fc.json({ maxDepth: 6 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 300 }) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')) },
  { weight: 1, arbitrary: nestedJson },
);

/** Printable header values (HTTP forbids the rest before the gateway sees it) with URL/path-breaking characters. */
const headerValue = fc.string({ unit: fc.constantFrom('a', 'Z', '0', '-', '.', '/', '\\', '?', '#', '@', ':', '%', ' ', '"', '..', '[', ']', '~'), maxLength: 40 });
const queryValue = fc.string({ unit: 'binary', maxLength: 30 });

describe('fuzzed requests through the local gateway and the real plugin server', () => {
  let api: EngineUpstream;
  let gw: EngineGateway;
  before(async () => {
    api = await EngineUpstream.start((r) => {
      const model = typeof r.json?.model === 'string' ? r.json.model : 'm';
      if (r.json?.stream === true) return { kind: 'stream', frames: openAiChatStream(model, ['ok']) };
      return { kind: 'json', body: chatCompletion(model) };
    });
    const t = (name: string | undefined, upstreamUrl: string) => ({
      route_type: 'llm/v1/chat' as const,
      model: { provider: 'openai' as const, ...(name === undefined ? {} : { name }), options: { upstream_url: upstreamUrl } },
      auth: { header_name: 'Authorization', header_value: 'Bearer sk-fuzz' },
    });
    gw = await startEngineGateway([
      { path: '/fixed', config: { targets: [t('gpt-4o-mini', `${api.url}/v1/chat/completions`)], max_request_body_size: 65536 } },
      { path: '/own', config: { targets: [t(undefined, `${api.url}/v1/chat/completions`)] } },
      { path: '/tmpl', config: { targets: [t('$(query_params.m)', `http://127.0.0.1:${api.port}$(headers.x-path)`)] } },
      { path: '/seg', config: { targets: [t('$(headers.x-model)', `${api.url}/d/$(headers.x-seg)/v1/chat/completions?v=$(query_params.v)`)] } },
    ]);
  });
  after(async () => {
    await gw.close();
    await api.close();
  });

  async function send(path: string, payload: string, headers: Record<string, string> = {}): Promise<number> {
    const r = await fetch(`${gw.proxy}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: payload, signal: AbortSignal.timeout(20_000) });
    await r.arrayBuffer();
    return r.status;
  }

  test('random bodies on a fixed and an own-model route: never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(body, fc.constantFrom('/fixed', '/own'), fc.constantFrom('application/json', 'application/json; charset=utf-8', 'text/plain', 'multipart/form-data; boundary=x'), async (payload, path, ct) => {
        const status = await send(path, payload, { 'content-type': ct });
        assert.ok(status < 500, `${path} answered ${status}`);
      }),
      params(RUNS),
    );
  });

  test('random template values: never a 5xx, and no request leaves the configured host and port', async () => {
    const before = api.requests.length;
    let served = 0;
    await fc.assert(
      fc.asyncProperty(headerValue, headerValue, headerValue, queryValue, queryValue, async (xPath, xSeg, xModel, m, v) => {
        const q = `?m=${encodeURIComponent(m)}&v=${encodeURIComponent(v)}`;
        const chat = JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] });
        for (const [path, headers] of [['/tmpl', { 'x-path': xPath }], ['/seg', { 'x-seg': xSeg, 'x-model': xModel }]] as const) {
          const status = await send(path + q, chat, headers);
          assert.ok(status < 500, `${path} answered ${status}`);
          if (status === 200) served++;
        }
      }),
      params(RUNS),
    );
    // Everything that was served went to the one configured upstream (it recorded it); nothing else listens.
    assert.equal(api.requests.length - before, served);
  });

  test('the plugin server is still serving after the fuzzing', async () => {
    assert.equal(await send('/fixed', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] })), 200);
  });
});

describe('fuzzed plugin configs: refused naming a field, or served', () => {
  let api: EngineUpstream;
  before(async () => {
    api = await EngineUpstream.start();
  });
  after(async () => {
    await api.close();
    await closeUpstreamAgents();
    await closeStreamEndpoint();
  });

  const junk = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(-1), fc.array(fc.string(), { maxLength: 2 }));
  // Half the configs carry junk in some fields (refusals), half only well-typed values (mostly accepted).
  const orJunk = <T>(junky: boolean, a: fc.Arbitrary<T>, weight = 5): fc.Arbitrary<unknown> =>
    junky ? fc.oneof({ weight, arbitrary: a as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: junk }) : a;
  let junkyNow = false;
  const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(orJunk(junkyNow, a), { nil: undefined });

  const target = (url: string, junky: boolean) =>
    fc.record(
      {
        // Weighted towards what most configs use: since route types and native formats are decided at config
        // time, a uniform draw over every (provider, route_type) pair left some runs with no valid config at all.
        route_type: orJunk(junky, fc.oneof({ weight: 4, arbitrary: fc.constant('llm/v1/chat') }, { weight: 2, arbitrary: fc.constantFrom(...ROUTE_TYPES) })),
        weight: maybe(fc.integer({ min: -5, max: 70000 })),
        model: fc.record(
          {
            provider: orJunk(junky, fc.oneof({ weight: 3, arbitrary: fc.constant('openai') }, { weight: 2, arbitrary: fc.constantFrom(...PROVIDERS) }), 8),
            name: maybe(fc.constantFrom('gpt-4o-mini', '$(headers.x-model)', '$(query_params.m)', '', 'a/b')),
            options: fc.record(
              {
                // Always a local URL: a fuzzed config must never reach a real provider.
                upstream_url: fc.oneof(
                  { weight: 6, arbitrary: fc.constantFrom(`${url}/v1/chat/completions`, `${url}$(headers.x-path)`, `${url}/$(headers.x-seg)/chat`, `http://127.0.0.1:$(headers.p)/x`) },
                  { weight: 1, arbitrary: fc.constantFrom('not a url', 'ftp://127.0.0.1/x', '') },
                ),
                max_tokens: maybe(fc.integer({ min: -1, max: 100000 })),
                temperature: maybe(fc.double({ min: -1, max: 6, noNaN: true })),
                anthropic_version: maybe(fc.constantFrom('2023-06-01', '$(headers.v)')),
                azure_instance: maybe(fc.constantFrom('inst', '$(headers.i)')),
                azure_api_version: maybe(fc.constant('2024-02-01')),
                azure_deployment_id: maybe(fc.constantFrom('dep', '$(headers.d)')),
                llama2_format: maybe(fc.constantFrom('raw', 'openai', 'ollama')),
                mistral_format: maybe(fc.constantFrom('openai', 'ollama')),
                input_cost: maybe(fc.double({ min: -1, max: 100, noNaN: true })),
              },
              { requiredKeys: ['upstream_url'] },
            ),
          },
          { requiredKeys: ['provider', 'options'] },
        ),
        auth: maybe(fc.record({ header_name: fc.constant('Authorization'), header_value: fc.constant('Bearer sk-fuzz') })),
      },
      { requiredKeys: ['route_type', 'model'] },
    );

  /** `maybe` reads `junkyNow` while the arbitraries are built (eagerly, here), not while values are drawn. */
  const config = (url: string, junky: boolean) => {
    junkyNow = junky;
    try {
      return configOf(url, junky);
    } finally {
      junkyNow = false;
    }
  };
  const configOf = (url: string, junky: boolean) =>
    fc.record(
      {
        targets: orJunk(junky, fc.array(target(url, junky), { minLength: 1, maxLength: 3 }), 6),
        balancer: maybe(
          fc.record(
            {
              algorithm: maybe(fc.constantFrom(...ALGORITHMS)),
              retries: maybe(fc.integer({ min: -1, max: 40000 })),
              failover_criteria: maybe(fc.subarray([...FAILOVER_CRITERIA])),
              connect_timeout: maybe(fc.integer({ min: -1, max: 5000 })),
              read_timeout: maybe(fc.integer({ min: 1, max: 5000 })),
              max_fails: maybe(fc.integer({ min: -1, max: 10 })),
              hash_on_header: maybe(fc.constantFrom('X-User', '')),
            },
            { requiredKeys: [] },
          ),
        ),
        response_streaming: maybe(fc.constantFrom('allow', 'deny', 'always')),
        max_request_body_size: maybe(fc.integer({ min: -1, max: 1 << 20 })),
        model_name_header: maybe(fc.boolean()),
      },
      { requiredKeys: ['targets'] },
    );

  test('validateConfig names a field for every refusal; an accepted config answers without an unexpected 500', async () => {
    const arbitrary = fc.oneof({ weight: 3, arbitrary: config(api.url, false) }, { weight: 1, arbitrary: config(api.url, true) });
    // The generator must produce valid configs, or the serving half below tests nothing. Checked on a sample large
    // enough not to depend on luck (a few percent of drawn configs are valid: every field can be drawn out of range).
    const sample = fc.sample(arbitrary, { numRuns: 500, ...(SEED === undefined ? {} : { seed: SEED }) });
    assert.ok(sample.filter((raw) => validateConfig(raw).ok).length > 0, 'the generator must produce some valid configs');
    await fc.assert(
      fc.asyncProperty(arbitrary, async (raw) => {
        const r = validateConfig(raw);
        if (!r.ok) {
          assert.ok(r.errors.length > 0);
          for (const e of r.errors) assert.ok(e.path !== '' || /'[a-z_.]+'/.test(e.message), `refusal without a field: ${JSON.stringify(e)}`);
          return;
        }
        const p = new AiProxyAdvanced({ ...(raw as Omit<PluginConfig, '__plugin_id'>), __plugin_id: randomUUID() });
        const kong = new FakePdk({ body: { messages: [{ role: 'user', content: 'hi' }] }, headers: { 'x-path': '/v1/chat/completions', 'x-seg': 'v1', 'x-model': 'gpt-4o-mini', v: '1', i: 'inst', d: 'dep', p: '1' } });
        await p.access(kong);
        if (kong.exited) {
          const text = kong.exited.body;
          assert.ok(!text.includes('An unexpected error occurred'), `unexpected 500 for ${JSON.stringify(raw)}: ${kong.logged.join(' | ')}`);
        } else {
          // Streamed delivery: the plugin pointed Kong at its stream endpoint.
          assert.equal(kong.upstream.scheme, 'http');
        }
      }),
      params(RUNS * 2),
    );
  });
});

describe('fuzzed whole-path upstream_path templates (Kong 05-azure "override path from path params")', () => {
  test('a value is refused with a 400 or lands under the configured Azure deployment, on the Azure host', () => {
    const template = { provider: 'azure' as const, name: 'gpt-4o', options: { azure_instance: 'inst', azure_deployment_id: 'dep', upstream_path: '$(uri_captures.op)' } };
    fc.assert(
      fc.property(headerValue, (op) => {
        let options;
        try {
          options = resolveModelTemplates(template, { header: () => undefined, queryArg: () => undefined, uriCapture: () => op }).options;
        } catch (err) {
          assert.ok(err instanceof InvalidRequestError, String(err));
          return;
        }
        const target = { route_type: 'preserve' as const, model: { ...template, options } };
        const url = new URL(azureDriver.toRequest({ messages: [] }, makeCtx(target, { clientPath: '/x' })).url);
        assert.equal(url.origin, 'https://inst.openai.azure.com');
        // An empty value is no upstream_path: preserve then sends the client's path, to the same host.
        if (op === '') return assert.equal(url.pathname, '/x');
        assert.ok(url.pathname.startsWith('/openai/deployments/dep/'), url.pathname);
        assert.ok(!url.pathname.split('/').includes('..'), url.pathname);
      }),
      params(RUNS * 10),
    );
  });
});
