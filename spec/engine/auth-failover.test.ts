import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AuthConfig, FailoverCriterion } from '../../schemas/config';
import { applyAuth } from '../../plugins/ai-proxy-advanced/engine/auth';
import { FailoverPolicy, type AttemptFailure } from '../../plugins/ai-proxy-advanced/engine/failover';
import { parseRetryAfter } from '../../plugins/ai-proxy-advanced/engine/health';
import type { ClientRequest } from '../../plugins/ai-proxy-advanced/engine/pdk';
import type { UpstreamRequest } from '../../plugins/ai-proxy-advanced/providers/provider';
import { classifyUndiciError } from '../../plugins/ai-proxy-advanced/engine/upstream';

function client(headers: Record<string, string> = {}, query: Record<string, string> = {}): ClientRequest {
  return {
    body: Buffer.alloc(0),
    headers: new Map(Object.entries(headers).map(([k, v]) => [k, [v]])),
    path: '/',
    rawQuery: new URLSearchParams(query).toString(),
    query,
    method: 'POST',
    uriCaptures: {},
  };
}

function req(): UpstreamRequest {
  return { method: 'POST', url: 'http://127.0.0.1:1/v1/chat/completions', headers: {}, body: { prompt: 'x' } };
}

describe('generic auth with allow_override, as Kong (openai.lua configure_request)', () => {
  const header: AuthConfig = { header_name: 'Authorization', header_value: 'Bearer conf-key' };

  test('the configured header is set, replacing a client value unless allow_override is true', () => {
    const r1 = req();
    applyAuth(r1, header, client({ authorization: 'Bearer client-key' }));
    assert.equal(r1.headers.authorization, 'Bearer conf-key');
    const r2 = req();
    applyAuth(r2, { ...header, allow_override: true }, client({ authorization: 'Bearer client-key' }));
    assert.equal(r2.headers.authorization, undefined, 'the client value (forwarded) wins');
    const r3 = req();
    applyAuth(r3, { ...header, allow_override: true }, client());
    assert.equal(r3.headers.authorization, 'Bearer conf-key');
  });

  test('header values are sent verbatim as Kong does, a bare key in Authorization included', () => {
    const r1 = req();
    applyAuth(r1, { header_name: 'Authorization', header_value: 'sk-bare' }, client());
    assert.equal(r1.headers.authorization, 'sk-bare');
    const r2 = req();
    applyAuth(r2, { header_name: 'api-key', header_value: 'sk-bare' }, client());
    assert.equal(r2.headers['api-key'], 'sk-bare');
    const r3 = req();
    applyAuth(r3, { header_name: 'Authorization', header_value: 'Basic abc' }, client());
    assert.equal(r3.headers.authorization, 'Basic abc');
  });

  test('a query parameter is set the same way', () => {
    const q: AuthConfig = { param_name: 'key', param_value: 'conf', param_location: 'query' };
    const r1 = req();
    r1.url += '?key=client';
    applyAuth(r1, q, client({}, { key: 'client' }));
    assert.equal(new URL(r1.url).searchParams.get('key'), 'conf');
    const r2 = req();
    r2.url += '?key=client';
    applyAuth(r2, { ...q, allow_override: true }, client({}, { key: 'client' }));
    assert.equal(new URL(r2.url).searchParams.get('key'), 'client');
  });

  test('a body parameter is injected unless the client sent one and override is allowed', () => {
    const b: AuthConfig = { param_name: 'api_key', param_value: 'conf', param_location: 'body' };
    const r1 = req();
    (r1.body as Record<string, unknown>).api_key = 'client';
    applyAuth(r1, b, client());
    assert.equal((r1.body as Record<string, unknown>).api_key, 'conf');
    const r2 = req();
    (r2.body as Record<string, unknown>).api_key = 'client';
    applyAuth(r2, { ...b, allow_override: true }, client());
    assert.equal((r2.body as Record<string, unknown>).api_key, 'client');
  });
});

describe('failover_criteria with nginx proxy_next_upstream meaning', () => {
  const connectRefused: AttemptFailure = { kind: 'error', sent: false };
  const resetAfterSend: AttemptFailure = { kind: 'error', sent: true };
  const http = (status: number): AttemptFailure => ({ kind: 'http', status, sent: true });
  const p = (...c: FailoverCriterion[]) => new FailoverPolicy(c);

  test('defaults to error and timeout: only failures before sending fail over for POST', () => {
    const d = new FailoverPolicy(undefined);
    assert.equal(d.shouldFailover(connectRefused, 'POST'), true);
    assert.equal(d.shouldFailover({ kind: 'timeout', sent: false }, 'POST'), true);
    assert.equal(d.shouldFailover(resetAfterSend, 'POST'), false);
    assert.equal(d.shouldFailover({ kind: 'timeout', sent: true }, 'POST'), false);
    assert.equal(d.shouldFailover(resetAfterSend, 'GET'), true, 'idempotent methods are retried after send');
  });

  test('each http_* criterion fails over only with non_idempotent for POST, and never without being listed', () => {
    for (const s of [500, 502, 503, 504, 403, 404, 429]) {
      const c = `http_${s}` as FailoverCriterion;
      assert.equal(p(c).shouldFailover(http(s), 'POST'), false, `${c} alone`);
      assert.equal(p(c, 'non_idempotent').shouldFailover(http(s), 'POST'), true, `${c} + non_idempotent`);
      assert.equal(p('error', 'timeout', 'non_idempotent').shouldFailover(http(s), 'POST'), false, `${s} without ${c}`);
    }
    assert.equal(p('http_500', 'non_idempotent').shouldFailover(http(401), 'POST'), false, 'no criterion covers 401');
    assert.equal(p('invalid_header', 'non_idempotent').shouldFailover({ kind: 'invalid_header', sent: true }, 'POST'), true);
  });

  test('undici errors map to nginx failure kinds and whether the request was sent', () => {
    assert.deepEqual(classifyUndiciError({ code: 'ECONNREFUSED' }).failure, { kind: 'error', sent: false });
    assert.deepEqual(classifyUndiciError({ code: 'UND_ERR_CONNECT_TIMEOUT' }).failure, { kind: 'timeout', sent: false });
    assert.deepEqual(classifyUndiciError({ code: 'UND_ERR_HEADERS_TIMEOUT' }).failure, { kind: 'timeout', sent: true });
    assert.deepEqual(classifyUndiciError({ code: 'HPE_INVALID_CONSTANT' }).failure, { kind: 'invalid_header', sent: true });
    assert.deepEqual(classifyUndiciError({ code: 'UND_ERR_SOCKET' }).failure, { kind: 'error', sent: true });
  });
});

describe('Retry-After', () => {
  test('delta seconds and HTTP dates become milliseconds, capped; junk is ignored', () => {
    assert.equal(parseRetryAfter('3', 0), 3000);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6000);
    assert.equal(parseRetryAfter('999999', 0), 60_000, 'capped at RETRY_AFTER_CAP_MS (issue 11)');
    assert.equal(parseRetryAfter('soon', 0), undefined);
    assert.equal(parseRetryAfter(undefined, 0), undefined);
    assert.equal(parseRetryAfter('0', 0), undefined);
  });
});
