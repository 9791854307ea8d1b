/**
 * translator-kit/url.ts builds and parses each distinct URL once (per-request URL work was a hot spot of the
 * plugin server's CPU): the remembered answers must equal a fresh build's for every input that changes the
 * URL, stay right past the memo's bound, and an invalid URL must still fail every time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../plugins/ai-proxy-advanced/errors';
import { parseUrl, upstreamUrl } from '../../plugins/ai-proxy-advanced/providers/translator-kit/url';
import { makeCtx, target } from '../helpers/providers-fixtures';

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

  it('preserve sends the client path of each request; a base computed from options is built every time', () => {
    const t = target('openai', 'preserve', 'm', { upstream_url: 'http://h/ignored' });
    assert.equal(upstreamUrl(makeCtx(t, { clientPath: '/a' }), 'https://b', '/'), 'http://h/a');
    assert.equal(upstreamUrl(makeCtx(t, { clientPath: '/b' }), 'https://b', '/'), 'http://h/b');
    let host = 'one';
    const ctx = makeCtx(target('openai', 'llm/v1/chat', 'm'));
    assert.equal(upstreamUrl(ctx, () => `https://${host}`, '/p'), 'https://one/p');
    host = 'two';
    assert.equal(upstreamUrl(ctx, () => `https://${host}`, '/p'), 'https://two/p');
  });

  it('pass-through operations (ids, actions) are part of the memo key: each request gets its own resource', () => {
    // A target with upstream_url is memoised; the client's operation (`/files/{id}/content`) varies per request.
    const ctx = makeCtx(target('openai', 'llm/v1/files', 'm', { upstream_url: 'http://h:8080' }));
    const url = (rest: string, resource = 'files') =>
      upstreamUrl(ctx, () => 'https://b', '/v1/files', { urlIsBase: true, operation: { from: 'files', resource, rest } });
    assert.equal(url('/file-abc/content'), 'http://h:8080/v1/files/file-abc/content');
    assert.equal(url('/file-xyz/content'), 'http://h:8080/v1/files/file-xyz/content');
    assert.equal(url(''), 'http://h:8080/v1/files');
    assert.equal(url('/t1', 'threads'), 'http://h:8080/v1/threads/t1');
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
