/**
 * Which route types are served is decided from the config, never at request time: realtime (a WebSocket
 * upgrade no external plugin server can relay) and every (provider, route_type) pair no driver serves are
 * refused by validateConfig, `npm run validate` and the plugin itself, naming `targets[i].route_type` (the
 * Admin API case is in spec/gateway/ai-proxy-advanced-schema.test.ts). The table behind it is the drivers'
 * own list. Also the pure parts of pass-through requests: client paths, provider URLs, multipart.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { validateConfig, type TargetConfig } from '../../schemas';
import { PROVIDERS, ROUTE_TYPES } from '../../schemas/definition/enums';
import { REALTIME_REFUSAL, SERVED_ROUTE_TYPES } from '../../schemas/definition/route-support';
import { AiProxyAdvanced } from '../../plugins/ai-proxy-advanced/handler';
import { DRIVERS } from '../../plugins/ai-proxy-advanced/providers';
import { mayStream, operationOf, passThroughRoute } from '../../plugins/ai-proxy-advanced/engine/route-types';
import { validConfig } from '../helpers/filled-config';
import { boundaryOf, readMultipartForm, withModelPart, withModelValue } from '../../plugins/ai-proxy-advanced/engine/route-types/multipart';
import { passThroughUsage } from '../../plugins/ai-proxy-advanced/providers/openai/pass-through';
import type { TranslateContext } from '../../plugins/ai-proxy-advanced/providers/provider';
import { InvalidRequestError } from '../../plugins/ai-proxy-advanced/errors';
import { FakePdk } from '../helpers/engine-pdk';
import { REPO_ROOT } from '../helpers/schema-fixtures';

const REALTIME = { targets: [{ route_type: 'realtime/v1/realtime', model: { provider: 'openai', name: 'gpt-4o-realtime-preview' } }] };

describe('route types decided at config time', () => {
  test("the served table is exactly what each provider's driver serves", () => {
    for (const p of PROVIDERS) {
      const driver = DRIVERS[p];
      assert.ok(driver, p);
      assert.deepEqual([...driver.routeTypes].sort(), [...SERVED_ROUTE_TYPES[p]].sort(), p);
    }
  });

  test('realtime is refused for every provider, with any llm_format, at targets[i].route_type', () => {
    for (const provider of ['openai', 'azure', 'gemini'] as const) {
      for (const llm_format of ['openai', 'gemini'] as const) {
        const r = validateConfig({ llm_format, targets: [{ route_type: 'llm/v1/chat', model: { provider: 'openai', name: 'gpt-4o' } }, { ...REALTIME.targets[0], model: { provider, name: 'x', options: { azure_instance: 'i', azure_deployment_id: 'd' } } }] });
        assert.equal(r.ok, false);
        // A native llm_format also refuses other providers and route types (native_format_targets, Kong's own
        // check); the realtime refusal is named whatever else is wrong.
        if (!r.ok && llm_format === 'openai') assert.deepEqual(r.errors, [{ path: 'targets[1].route_type', message: REALTIME_REFUSAL }]);
        if (!r.ok) assert.ok(r.errors.some((e) => e.path === 'targets[1].route_type' && e.message === REALTIME_REFUSAL), JSON.stringify(r.errors));
      }
    }
  });

  test('pairs no driver serves are refused naming both; every served pair is accepted', () => {
    const refused = (t: TargetConfig) => {
      const r = validateConfig({ targets: [t] });
      return r.ok ? undefined : r.errors;
    };
    assert.deepEqual(refused({ route_type: 'llm/v1/files', model: { provider: 'anthropic', options: { anthropic_version: '2023-06-01' } } }), [
      { path: 'targets[0].route_type', message: "route_type 'llm/v1/files' is not served for provider 'anthropic' by this version of ai-proxy-advanced (served: llm/v1/chat, llm/v1/completions)" },
    ]);
    assert.match(refused({ route_type: 'audio/v1/audio/speech', model: { provider: 'xai' } })?.[0]?.message ?? '', /'audio\/v1\/audio\/speech' is not served for provider 'xai'/);
    assert.match(refused({ route_type: 'llm/v1/multimodal-embeddings', model: { provider: 'openai' } })?.[0]?.message ?? '', /multimodal-embeddings/);
    for (const provider of ['openai', 'azure'] as const) {
      for (const route_type of ROUTE_TYPES) {
        const t: TargetConfig = { route_type, model: { provider, options: { azure_instance: 'i', azure_deployment_id: 'd' } } };
        const served = SERVED_ROUTE_TYPES[provider].includes(route_type);
        assert.equal(refused(t) === undefined, served, `${provider} ${route_type}`);
      }
    }
    // Formats that lack a route type their provider has.
    assert.deepEqual(refused({ route_type: 'llm/v1/embeddings', model: { provider: 'llama2', options: { llama2_format: 'raw', upstream_url: 'http://l:1/x' } } }), [
      { path: 'targets[0].route_type', message: "route_type 'llm/v1/embeddings' is not served for provider 'llama2' with llama2_format 'raw'" },
    ]);
    assert.match(refused({ route_type: 'llm/v1/embeddings', model: { provider: 'mistral', options: { mistral_format: 'ollama', upstream_url: 'http://m:1/x' } } })?.[0]?.message ?? '', /mistral_format 'ollama'/);
    assert.equal(refused({ route_type: 'llm/v1/embeddings', model: { provider: 'llama2', options: { llama2_format: 'ollama', upstream_url: 'http://l:1/x' } } }), undefined);
    // A native llm_format is chat only (Kong OSS ai-proxy schema.lua: "native provider options in llm_format can
    // only be used with the 'llm/v1/chat' route_type"), checked by native_format_targets, not by this table.
    const native = validateConfig({ llm_format: 'gemini', targets: [{ route_type: 'llm/v1/files', model: { provider: 'gemini', name: 'g' } }] });
    assert.deepEqual(native.ok ? [] : native.errors, [
      { path: 'targets[0].route_type', message: "native provider options in llm_format can only be used with the 'llm/v1/chat' route_type" },
    ]);
  });

  test('npm run validate refuses a realtime route, naming the field in the file', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'aipa-routetypes-'));
    try {
      const file = path.join(dir, 'kong.json');
      writeFileSync(file, JSON.stringify({ _format_version: '3.0', plugins: [{ name: 'ai-proxy-advanced', config: REALTIME }] }));
      const r = spawnSync(process.execPath, [path.join(REPO_ROOT, 'dist', 'schemas', 'cli.js'), file], {
        encoding: 'utf8',
        env: { ...process.env, AI_PROXY_ADVANCED_PLUGIN_NAME: '' },
        timeout: 20_000,
      });
      assert.equal(r.status, 1);
      assert.equal(r.stdout.trim().split('\n')[0], `plugins[0].config.targets[0].route_type: ${REALTIME_REFUSAL}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the plugin given a realtime config (as Kong hands it over) answers every request with the field named', async () => {
    const plugin = new AiProxyAdvanced({ __plugin_id: 'rt-1', ...REALTIME } as never);
    const kong = new FakePdk({ body: '{}', path: '/realtime' });
    await plugin.access(kong as never);
    assert.equal(kong.exited?.status, 500);
    assert.match(kong.exited?.body ?? '', /invalid ai-proxy-advanced config: targets\[0\]\.route_type: route_type 'realtime\/v1\/realtime' is a WebSocket upgrade/);
  });
});

describe('pass-through requests, pure parts', () => {
  const files = passThroughRoute('llm/v1/files')!;
  const assistants = passThroughRoute('llm/v1/assistants')!;

  test('the client path names the resource; ids become one encoded segment each', () => {
    assert.deepEqual(operationOf(files, '/files'), { resource: 'files', rest: '' });
    assert.deepEqual(operationOf(files, '/openai/files/file-abc/content'), { resource: 'files', rest: '/file-abc/content' });
    assert.deepEqual(operationOf(files, '/files/files/file%20x'), { resource: 'files', rest: '/file%20x' });
    assert.deepEqual(operationOf(files, '/my-uploads'), { resource: 'files', rest: '' });
    assert.deepEqual(operationOf(assistants, '/a/threads/thread_1/runs'), { resource: 'threads', rest: '/thread_1/runs' });
    for (const bad of ['/files/..', '/files/.', '/files/%2e%2e', '/files/a%2Fb', '/files/a%5Cb', '/files/%zz', `/files/${'x'.repeat(300)}`]) {
      assert.throws(() => operationOf(files, bad), InvalidRequestError, bad);
    }
    assert.throws(() => operationOf(files, '/files/a/b/c'), /more than 2 segments after 'files'/);
  });

  test('only creating a response streams; ids, actions, GET and forms never do', () => {
    const config = validConfig({ targets: [{ route_type: 'llm/v1/responses', model: { provider: 'openai' } }], response_streaming: 'always' });
    const json = { raw: Buffer.from('{}'), json: {} };
    assert.equal(mayStream(config, { method: 'POST', path: '/api/responses' }, json), true);
    assert.equal(mayStream(config, { method: 'POST', path: '/my-route' }, json), true);
    assert.equal(mayStream(config, { method: 'POST', path: '/api/responses/resp_1/cancel' }, json), false);
    assert.equal(mayStream(config, { method: 'POST', path: '/api/responses/a%2Fb' }, json), false);
    assert.equal(mayStream(config, { method: 'GET', path: '/api/responses' }, json), false);
    assert.equal(mayStream(config, { method: 'POST', path: '/api/responses' }, { ...json, form: { boundary: 'b', fields: new Map() } }), false);
    const files = validConfig({ targets: [{ route_type: 'llm/v1/files', model: { provider: 'openai' } }] });
    assert.equal(mayStream(files, { method: 'POST', path: '/files' }, json), false);
    const mixed = validConfig({ targets: [{ route_type: 'llm/v1/files', model: { provider: 'openai' } }, { route_type: 'llm/v1/chat', model: { provider: 'openai' } }] });
    assert.equal(mayStream(mixed, { method: 'POST', path: '/x' }, json), true);
  });

  function ctx(provider: 'openai' | 'azure', routeType: TargetConfig['route_type'], rest = '', resource?: string): TranslateContext {
    const target: TargetConfig = {
      route_type: routeType,
      model: { provider, name: 'm', options: { azure_instance: 'inst', azure_deployment_id: 'dep', azure_api_version: '2025-03-01-preview' } },
    };
    const route = passThroughRoute(routeType)!;
    return {
      target,
      provider,
      routeType,
      model: 'm',
      stream: false,
      clientPath: '/x',
      clientQuery: {},
      clientMethod: 'GET',
      passThrough: { operation: { from: route.resource, resource: resource ?? route.resource, rest }, body: undefined },
    };
  }

  test('provider URLs: OpenAI under /v1, Azure by deployment or from the host, with api-version', () => {
    const url = (c: TranslateContext) => DRIVERS[c.provider]!.toRequest({}, c).url;
    assert.equal(url(ctx('openai', 'llm/v1/files', '/file-1/content')), 'https://api.openai.com/v1/files/file-1/content');
    assert.equal(url(ctx('openai', 'llm/v1/assistants', '/t1/runs', 'threads')), 'https://api.openai.com/v1/threads/t1/runs');
    assert.equal(url(ctx('openai', 'video/v1/videos/generations')), 'https://api.openai.com/v1/videos');
    assert.equal(url(ctx('azure', 'llm/v1/files')), 'https://inst.openai.azure.com/openai/files?api-version=2025-03-01-preview');
    assert.equal(url(ctx('azure', 'llm/v1/responses', '/resp_1')), 'https://inst.openai.azure.com/openai/v1/responses/resp_1?api-version=2025-03-01-preview');
    assert.equal(url(ctx('azure', 'audio/v1/audio/speech')), 'https://inst.openai.azure.com/openai/deployments/dep/audio/speech?api-version=2025-03-01-preview');
    assert.equal(url(ctx('azure', 'image/v1/images/edits')), 'https://inst.openai.azure.com/openai/deployments/dep/images/edits?api-version=2025-03-01-preview');
    const del = DRIVERS.openai!.toRequest({}, { ...ctx('openai', 'llm/v1/files', '/f'), clientMethod: 'DELETE' });
    assert.equal(del.method, 'DELETE');
    assert.equal(del.body, undefined);
  });

  test('a model part is added before the closing delimiter; a name that would break the part is refused', async () => {
    const form = new FormData();
    form.append('file', new Blob(['abc']), 'a.wav');
    const req = new Request('http://x/', { method: 'POST', body: form });
    const raw = Buffer.from(await req.arrayBuffer());
    const ct = req.headers.get('content-type') as string;
    const boundary = ct.split('boundary=')[1] as string;
    const out = withModelPart(raw, boundary, 'whisper-1');
    const back = await new Response(out, { headers: { 'content-type': ct } }).formData();
    assert.equal(back.get('model'), 'whisper-1');
    assert.equal(await (back.get('file') as Blob).text(), 'abc');
    assert.throws(() => withModelPart(raw, boundary, 'a\r\nContent-Type: x'), InvalidRequestError);
    assert.throws(() => withModelPart(Buffer.from('no delimiter'), boundary, 'm'), InvalidRequestError);
  });

  test('a Content-Type is read one way: strict RFC 9110 parameters, exactly one RFC 2046 boundary, else a 400', async () => {
    const ok: Array<[string, string]> = [
      ['multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW', '----WebKitFormBoundary7MA4YWxkTrZu0gW'],
      ['Multipart/Form-Data;charset=utf-8; BOUNDARY=abc', 'abc'],
      ['multipart/form-data ; boundary=abc ;', 'abc'],
      ['multipart/form-data; boundary="a b:c=d?"', 'a b:c=d?'],
      ['multipart/form-data; name="quoted, value"; boundary=abc', 'abc'],
    ];
    for (const [ct, b] of ok) assert.equal(boundaryOf(ct), b, ct);
    const refused = [
      'multipart/form-data',
      'text/plain; boundary=abc',
      'multipart/form-data, boundary=abc',
      // Undici takes the first boundary; a parser taking the last, or searching for `boundary=`, another one.
      'multipart/form-data; boundary=abc; boundary=xyz',
      'multipart/form-data; boundary=abc; Boundary=abc',
      'multipart/form-data; x="; boundary=evil"; boundary=good',
      'multipart/form-data; x="\\"; boundary=evil"; boundary=good',
      'multipart/form-data; boundary="a\\bc"',
      'multipart/form-data; boundary="abc',
      'multipart/form-data; boundary="abc"x',
      'multipart/form-data; boundary=a b',
      'multipart/form-data; boundary = abc',
      'multipart/form-data; boundary=',
      'multipart/form-data; boundary=""',
      'multipart/form-data; boundary="abc "',
      'multipart/form-data; boundary=abc!',
      `multipart/form-data; boundary=${'b'.repeat(71)}`,
    ];
    for (const ct of refused) {
      assert.throws(() => boundaryOf(ct), (e: unknown) => e instanceof InvalidRequestError && /without a valid boundary/.test((e as Error).message), ct);
      await assert.rejects(readMultipartForm(Buffer.from('--abc--\r\n'), ct), InvalidRequestError, ct);
    }
    // What is accepted, undici reads with the same boundary, and a model part written with it is read back.
    const ct = 'multipart/form-data; boundary="a b:c"';
    const raw = Buffer.from('--a b:c\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nx\r\n--a b:c--\r\n');
    const form = await readMultipartForm(raw, ct);
    assert.equal(form.boundary, 'a b:c');
    assert.equal(form.fields.get('purpose'), 'x');
    const back = await new Response(withModelPart(raw, form.boundary, 'whisper-1'), { headers: { 'content-type': ct } }).formData();
    assert.equal(back.get('model'), 'whisper-1');
  });

  test('a form that named an alias gets model.name in every model field, other parts byte for byte', async () => {
    const B = 'XyZ';
    const part = (head: string, body: string): string => `--${B}\r\n${head}\r\n\r\n${body}\r\n`;
    const raw = Buffer.from(
      part('Content-Disposition: form-data; name="purpose"', 'model') +
        part('Content-Disposition: form-data; name="model"', 'fast') +
        part('Content-Disposition: form-data; name="model_x"', 'fast') +
        part('Content-Disposition: form-data; name="model"; filename="model.bin"\r\nContent-Type: application/octet-stream', 'fast') +
        part('content-disposition: form-data; name="model"', 'fast') +
        `--${B}--\r\n`,
      'latin1',
    );
    const out = withModelValue(raw, B, 'gpt-4o-transcribe');
    // Undici's parser (readMultipartForm) takes only quoted names and no preamble: the forms that get here.
    const want = raw.toString('latin1').replaceAll('name="model"\r\n\r\nfast', 'name="model"\r\n\r\ngpt-4o-transcribe');
    assert.equal(out.toString('latin1'), want);
    const back = await new Response(out, { headers: { 'content-type': `multipart/form-data; boundary=${B}` } }).formData();
    assert.deepEqual(back.getAll('model').filter((v) => typeof v === 'string'), ['gpt-4o-transcribe', 'gpt-4o-transcribe']);
    assert.equal(back.get('model_x'), 'fast');
    assert.throws(() => withModelValue(raw, B, 'a"b'), InvalidRequestError);
    assert.throws(() => withModelValue(Buffer.from(part('Content-Disposition: form-data; name="file"', 'x') + `--${B}--`), B, 'm'), InvalidRequestError);
  });

  test('usage in either naming', () => {
    assert.deepEqual(passThroughUsage({ input_tokens: 3, output_tokens: 4, total_tokens: 7, input_tokens_details: { cached_tokens: 1 } }), {
      prompt_tokens: 3,
      completion_tokens: 4,
      total_tokens: 7,
      prompt_tokens_details: { cached_tokens: 1 },
    });
    assert.deepEqual(passThroughUsage({ prompt_tokens: 2, completion_tokens: 5 }), { prompt_tokens: 2, completion_tokens: 5, total_tokens: 7 });
    assert.deepEqual(passThroughUsage(undefined), { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 });
  });
});
