/**
 * translator-kit/url.ts builds and parses each distinct URL once (per-request URL work was a hot spot of the
 * plugin server's CPU): the remembered answers must equal a fresh build's for every input that changes the
 * URL, stay right past the memo's bound, and an invalid URL must still fail every time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../plugins/ai-proxy-advanced/errors';
import { parseUrl, upstreamUrl } from '../../plugins/ai-proxy-advanced/providers/translator-kit/url';
import { azureDriver, cerebrasDriver, deepseekDriver, openaiDriver } from '../../plugins/ai-proxy-advanced/providers/openai';
import { geminiUrl } from '../../plugins/ai-proxy-advanced/providers/gemini';
import { hfUrl } from '../../plugins/ai-proxy-advanced/providers/huggingface';
import { resolveModelTemplates, type TemplateSources } from '../../plugins/ai-proxy-advanced/engine/templating';
import type { ModelConfig, TargetConfig } from '../../schemas/config';
import { makeCtx, target } from '../helpers/providers-fixtures';

const chat = { messages: [{ role: 'user', content: 'hi' }] };

describe('upstream URLs built once per distinct input', () => {
  it('every input that changes the URL gives its own answer, however often it is asked', () => {
    const cases: Array<[Record<string, unknown>, string, { urlIsBase?: boolean; query?: Record<string, string> }, string]> = [
      [{ upstream_url: 'http://h:8080//v1/chat' }, '/ignored', {}, 'http://h:8080/v1/chat'],
      [{ upstream_url: 'http://h:8080' }, '/v1/chat/completions', { urlIsBase: true }, 'http://h:8080/v1/chat/completions'],
      [{ upstream_url: 'http://h:8080' }, '/v1/embeddings', { urlIsBase: true }, 'http://h:8080/v1/embeddings'],
      [{ upstream_url: 'http://h:8080' }, '/v1/embeddings', {}, 'http://h:8080/'],
      [{ upstream_url: 'http://u:p@h/x' }, '/', {}, 'http://u:p@h/x'],
      [{ upstream_url: 'http://h/x' }, '/', { query: { 'api-version': '1' } }, 'http://h/x?api-version=1'],
      [{ upstream_url: 'http://h/x' }, '/', { query: { 'api-version': '2' } }, 'http://h/x?api-version=2'],
      [{}, '/v1/chat/completions', {}, 'https://api.example.com/v1/chat/completions'],
      [{ upstream_path: '/other' }, '/v1/chat/completions', {}, 'https://api.example.com/other'],
    ];
    for (let round = 0; round < 3; round++) {
      for (const [options, path, opts, want] of cases) {
        const ctx = makeCtx(target('openai', 'llm/v1/chat', 'm', options));
        assert.equal(upstreamUrl(ctx, 'https://api.example.com:443', path, opts), want, JSON.stringify([options, path, opts]));
      }
    }
  });

  it('preserve sends the client path of each request; a base is evaluated once per options object and only when needed', () => {
    const t = target('openai', 'preserve', 'm', { upstream_url: 'http://h/ignored' });
    assert.equal(upstreamUrl(makeCtx(t, { clientPath: '/a' }), 'https://b', '/'), 'http://h/a');
    assert.equal(upstreamUrl(makeCtx(t, { clientPath: '/b' }), 'https://b', '/'), 'http://h/b');
    // A base computed from options (Azure's instance) is remembered with the URL of its options object.
    let calls = 0;
    const base = (host: string) => () => (calls++, `https://${host}`);
    const ctx = makeCtx(target('openai', 'llm/v1/chat', 'm'));
    for (let i = 0; i < 3; i++) assert.equal(upstreamUrl(ctx, base('one'), '/p'), 'https://one/p');
    assert.equal(calls, 1);
    assert.equal(upstreamUrl(ctx, base('one'), '/q'), 'https://one/q', 'another path is another URL');
    assert.equal(calls, 2);
    // Another target (its own options object) evaluates its own base.
    assert.equal(upstreamUrl(makeCtx(target('openai', 'llm/v1/chat', 'm')), base('two'), '/p'), 'https://two/p');
    assert.equal(calls, 3);
    // A target naming its URL never evaluates the base (it could throw: Azure without azure_instance).
    const named = makeCtx(target('openai', 'llm/v1/chat', 'm', { upstream_url: 'http://h/v1' }));
    assert.equal(upstreamUrl(named, () => assert.fail('base evaluated'), '/p'), 'http://h/v1');
  });

  it("a templated model.name leaves the config's options in place: the target's URL is built once", () => {
    const sources = (x: string): TemplateSources => ({ header: (n) => (n === 'x' ? x : undefined), queryArg: () => undefined, uriCapture: () => undefined });
    const config: ModelConfig = { provider: 'openai', name: '$(headers.x)', options: { max_tokens: 5, gemini: { project_id: 'p' } } };
    let calls = 0;
    for (const name of ['m1', 'm2', 'm1']) {
      const model = resolveModelTemplates(config, sources(name));
      assert.equal(model.name, name);
      assert.equal(model.options, config.options, 'the same object');
      assert.equal(upstreamUrl(makeCtx({ route_type: 'llm/v1/chat', model }), () => (calls++, 'https://b'), '/p'), 'https://b/p');
    }
    assert.equal(calls, 1);
    // A templated option is resolved into a new object (per request); the config's stays as written.
    const withUrl: ModelConfig = { provider: 'openai', name: 'm', options: { upstream_url: 'http://h/$(headers.x)', max_tokens: 5 } };
    const resolved = resolveModelTemplates(withUrl, sources('v1'));
    assert.notEqual(resolved.options, withUrl.options);
    assert.deepEqual(resolved.options, { upstream_url: 'http://h/v1', max_tokens: 5 });
    assert.equal(withUrl.options?.upstream_url, 'http://h/$(headers.x)');
  });

  it('targets without options: each provider its own URL, whatever the route type and path share', () => {
    const bare = (provider: 'openai' | 'deepseek' | 'cerebras', name: string | null): TargetConfig => ({ route_type: 'llm/v1/chat', model: { provider, name } });
    for (let round = 0; round < 2; round++) {
      assert.equal(openaiDriver.toRequest(chat, makeCtx(bare('openai', 'm'))).url, 'https://api.openai.com/v1/chat/completions');
      assert.equal(deepseekDriver.toRequest(chat, makeCtx(bare('deepseek', 'm'))).url, 'https://api.deepseek.com/v1/chat/completions');
      // The same route type, path and options (none) as DeepSeek's: only the provider tells them apart.
      assert.equal(cerebrasDriver.toRequest(chat, makeCtx(bare('cerebras', 'm'))).url, 'https://api.cerebras.ai/v1/chat/completions');
      // Gemini's path carries the model, here the client's (no model.name): each request its own.
      for (const model of ['gemini-a', 'gemini-b']) {
        const ctx = makeCtx({ route_type: 'llm/v1/chat', model: { provider: 'gemini', name: null } }, {}, model);
        assert.equal(geminiUrl(ctx, 'generateContent'), `https://generativelanguage.googleapis.com/v1beta/models/${model}:generateContent`);
      }
    }
  });

  it('client-chosen parts of a path (models) and provider queries (api-version) stay right past the per-target bound', () => {
    const gemini = target('gemini', 'llm/v1/chat', 'ignored');
    const azure = target('azure', 'llm/v1/chat', 'd', { azure_instance: 'inst', azure_deployment_id: 'dep' });
    for (let i = 0; i < 200; i++) {
      const model = `m-${i % 70}`;
      assert.equal(geminiUrl(makeCtx(gemini, { model }), 'generateContent'), `https://generativelanguage.googleapis.com/v1beta/models/${model}:generateContent`);
      const v = `2024-${i % 50}`;
      assert.equal(
        azureDriver.toRequest(chat, makeCtx(azure, { clientQuery: { 'api-version': v } })).url,
        `https://inst.openai.azure.com/openai/deployments/dep/chat/completions?api-version=${v}`,
      );
    }
  });

  it("Hugging Face's default URL is the request's model, per request", () => {
    const t: TargetConfig = { route_type: 'llm/v1/chat', model: { provider: 'huggingface', name: null } };
    for (let i = 0; i < 3; i++) {
      for (const model of ['org/a', 'org/b', 'c']) {
        assert.equal(hfUrl(makeCtx(t, {}, model), '/v1/chat/completions'), `https://api-inference.huggingface.co/models/${model}/v1/chat/completions`);
        assert.equal(hfUrl(makeCtx(t, {}, model), ''), `https://api-inference.huggingface.co/models/${model}`);
      }
    }
    // With upstream_url, the operation goes at the end of its path, before its query, for each operation asked.
    const own = makeCtx(target('huggingface', 'llm/v1/completions', 'm', { upstream_url: 'http://tgi:8080/base/?k=v' }));
    for (let i = 0; i < 2; i++) {
      assert.equal(hfUrl(own, '/generate'), 'http://tgi:8080/base/generate?k=v');
      assert.equal(hfUrl(own, '/generate_stream'), 'http://tgi:8080/base/generate_stream?k=v');
      assert.equal(hfUrl(own, ''), 'http://tgi:8080/base/?k=v');
    }
  });

  it('pass-through operations (ids, actions) are joined per request, never remembered: each request gets its own resource', () => {
    // A target with upstream_url is memoised; the client's operation (`/files/{id}/content`) varies per request.
    const ctx = makeCtx(target('openai', 'llm/v1/files', 'm', { upstream_url: 'http://h:8080' }));
    const url = (rest: string, resource = 'files') =>
      upstreamUrl(ctx, () => 'https://b', '/v1/files', { urlIsBase: true, operation: { from: 'files', resource, rest } });
    assert.equal(url('/file-abc/content'), 'http://h:8080/v1/files/file-abc/content');
    assert.equal(url('/file-xyz/content'), 'http://h:8080/v1/files/file-xyz/content');
    assert.equal(url(''), 'http://h:8080/v1/files');
    assert.equal(url('/t1', 'threads'), 'http://h:8080/v1/threads/t1');
    assert.equal(url('/file-abc/content'), 'http://h:8080/v1/files/file-abc/content', 'the first resource again');
    // With a provider query over the URL's own, the operation still goes at the end of the path.
    const azure = makeCtx(target('azure', 'llm/v1/files', 'm', { upstream_url: 'http://h:8080/openai/files?x=1#f' }));
    const azureUrl = (rest: string) =>
      upstreamUrl(azure, () => 'https://b', '/openai/files', { urlIsBase: true, query: { 'api-version': 'p' }, operation: { from: 'files', resource: 'files', rest } });
    assert.equal(azureUrl('/file-1/content'), 'http://h:8080/openai/files/file-1/content?x=1&api-version=p#f');
    assert.equal(azureUrl(''), 'http://h:8080/openai/files?x=1&api-version=p#f');
  });

  it('two providers sharing one options object each get their own URL (the memo is keyed by provider too)', () => {
    const options = {};
    const shared = (provider: 'deepseek' | 'cerebras'): TargetConfig => ({ route_type: 'llm/v1/chat', model: { provider, name: 'm', options } });
    for (let i = 0; i < 2; i++) {
      assert.equal(deepseekDriver.toRequest(chat, makeCtx(shared('deepseek'))).url, 'https://api.deepseek.com/v1/chat/completions');
      assert.equal(cerebrasDriver.toRequest(chat, makeCtx(shared('cerebras'))).url, 'https://api.cerebras.ai/v1/chat/completions');
    }
  });

  it('a long URL (client input in it) is built and parsed per request, never held; short ones are remembered', () => {
    const short = 'http://h/x?q=1';
    assert.equal(parseUrl(short), parseUrl(short), 'a short URL is parsed once');
    const long = `http://h/x?q=${'a'.repeat(5000)}`;
    assert.notEqual(parseUrl(long), parseUrl(long), 'a long URL is parsed per call');
    assert.equal(parseUrl(long).search.length, 5003);
    const gemini = target('gemini', 'llm/v1/chat', 'ignored');
    const model = 'g'.repeat(3000);
    assert.equal(geminiUrl(makeCtx(gemini, { model }), 'generateContent'), `https://generativelanguage.googleapis.com/v1beta/models/${model}:generateContent`);
  });

  it('past the bound (templated URLs, client query strings) answers stay right; invalid URLs fail every time', () => {
    for (let i = 0; i < 3000; i++) {
      const ctx = makeCtx(target('openai', 'llm/v1/chat', 'm', { upstream_url: `http://h${i % 1500}/v1` }));
      assert.equal(upstreamUrl(ctx, 'https://b', '/'), `http://h${i % 1500}/v1`);
      assert.equal(parseUrl(`http://h/x?q=${i % 1500}`).search, `?q=${i % 1500}`);
    }
    const bad = makeCtx(target('openai', 'llm/v1/chat', 'm', { upstream_url: 'not a url' }));
    for (let i = 0; i < 2; i++) assert.throws(() => upstreamUrl(bad, 'https://b', '/'), ConfigError);
    for (let i = 0; i < 2; i++) assert.throws(() => parseUrl('nope'), TypeError);
    const p = parseUrl('https://[::1]:8443/a/b?c=d');
    assert.deepEqual({ ...p }, { origin: 'https://[::1]:8443', protocol: 'https:', hostname: '[::1]', port: '8443', pathname: '/a/b', search: '?c=d' });
    assert.ok(Object.isFrozen(p), 'a remembered answer cannot be changed by one caller for the next');
  });
});
