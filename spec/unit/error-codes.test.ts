/**
 * docs/errors.md, plugins/ai-proxy-advanced/errors.ts and the responses agree: every error class has a distinct
 * code documented with its class, status and body shape; every documented code has a class; and the response
 * errorResponse builds for each carries the code where the table says (body and header).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as errors from '../../plugins/ai-proxy-advanced/errors';
import { ERROR_CODE_HEADER, errorResponse, upstreamFailureError } from '../../plugins/ai-proxy-advanced/engine/responses';

const ROOT = path.resolve(__dirname, '../../..');

interface Row {
  code: string;
  cls: string;
  status: number;
  body: string;
}

function documented(): Row[] {
  const doc = readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
  const rows: Row[] = [];
  for (const line of doc.split('\n')) {
    const m = /^\| `(AIPA_ERR_[A-Z_]+)` \| `([A-Za-z]+)` \| (\d{3}) \| (openai|kong-ai|kong) \|/.exec(line);
    if (m) rows.push({ code: m[1]!, cls: m[2]!, status: Number(m[3]), body: m[4]! });
  }
  return rows;
}

function errorClasses(): Map<string, errors.AiProxyError> {
  const out = new Map<string, errors.AiProxyError>();
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value !== 'function' || value === errors.AiProxyError) continue;
    if (!(value.prototype instanceof errors.AiProxyError)) continue;
    const Ctor = value as unknown as new (m: string, d?: unknown) => errors.AiProxyError;
    out.set(name, new Ctor('the message', { retryAfterMs: 2500 }));
  }
  return out;
}

test('every error class has a distinct code documented in docs/errors.md with its status and body, and every documented code has its class', () => {
  const rows = documented();
  const classes = errorClasses();
  assert.equal(rows.length, classes.size, `docs/errors.md lists ${rows.length} codes, errors.ts has ${classes.size} classes`);
  const seen = new Set<string>();
  for (const [name, err] of classes) {
    assert.ok(!seen.has(err.code), `${name} reuses ${err.code}`);
    seen.add(err.code);
    const row = rows.find((r) => r.code === err.code);
    assert.ok(row, `${err.code} (${name}) missing from docs/errors.md`);
    assert.equal(row.cls, name, `docs/errors.md row for ${err.code} must name ${name}`);
    assert.equal(row.status, err.status, `docs/errors.md row for ${err.code} must say status ${err.status}`);
    assert.equal(row.body, err.shape, `docs/errors.md row for ${err.code} must say body ${err.shape}`);
  }
  for (const r of rows) assert.ok(classes.has(r.cls), `docs/errors.md documents ${r.code} as ${r.cls}, which errors.ts does not export`);
});

test('every error response carries its code as documented: in the header always, in the body for openai-shaped ones', () => {
  for (const row of documented()) {
    const err = errorClasses().get(row.cls)!;
    const r = errorResponse(err);
    assert.equal(r.status, row.status, row.code);
    assert.equal(r.headers[ERROR_CODE_HEADER], row.code, row.code);
    assert.match(r.headers['content-type'] ?? '', /^application\/json/);
    if (row.body === 'openai') {
      const body = r.body as { error: { message: string; type: string; code: string } };
      assert.equal(body.error.code, row.code);
      assert.equal(body.error.message, err.message);
      assert.equal(typeof body.error.type, 'string');
    } else if (row.body === 'kong-ai') {
      // Kong's ai-proxy body (normalize-request.lua bail, normalize-json-response.lua): message only.
      assert.deepEqual(r.body, { error: { message: err.message } }, row.code);
    } else {
      assert.deepEqual(r.body, { message: err.message }, row.code);
    }
  }
});

test('Kong-shaped bodies say what Kong says; the detail stays out of them', () => {
  assert.deepEqual(errorResponse(upstreamFailureError({ kind: 'timeout', sent: true }, 'read_timeout after 5 ms')).body, { message: 'The upstream server is timing out' });
  assert.deepEqual(errorResponse(upstreamFailureError({ kind: 'error', sent: false }, 'ECONNREFUSED 10.0.0.1')).body, {
    message: 'An invalid response was received from the upstream server',
  });
  const unexpected = errorResponse(new Error('secret detail sk-123'));
  assert.equal(unexpected.status, 500);
  assert.deepEqual(unexpected.body, { message: 'An unexpected error occurred' });
  assert.equal(unexpected.headers[ERROR_CODE_HEADER], 'AIPA_ERR_INTERNAL');
});

test('the same failure always gets the same class', () => {
  assert.ok(upstreamFailureError({ kind: 'timeout', sent: false }, 'connect') instanceof errors.UpstreamTimeoutError);
  assert.ok(upstreamFailureError({ kind: 'timeout', sent: true }, 'read') instanceof errors.UpstreamTimeoutError);
  assert.ok(upstreamFailureError({ kind: 'error', sent: false }, 'refused') instanceof errors.UpstreamConnectError);
  assert.ok(upstreamFailureError({ kind: 'error', sent: true }, 'reset') instanceof errors.UpstreamError);
  assert.ok(upstreamFailureError({ kind: 'invalid_header', sent: true }, 'HPE') instanceof errors.UpstreamError);
  assert.equal(errorResponse(new errors.RateLimitedError('later', { retryAfterMs: 2500 })).headers['retry-after'], '3');
});

test('an error keeps its cause', () => {
  const cause = new Error('socket hang up');
  const err = new errors.TranslationError('anthropic chat response: missing content', { cause });
  assert.equal(err.cause, cause);
  assert.equal(err.code, 'AIPA_ERR_TRANSLATION');
  assert.equal(err.name, 'TranslationError');
});
