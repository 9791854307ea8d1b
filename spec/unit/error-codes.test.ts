import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import * as errors from '../../plugins/ai-proxy-advanced/errors';

const ROOT = path.resolve(__dirname, '../../..');

function errorClasses(): Array<[string, errors.AiProxyError]> {
  const out: Array<[string, errors.AiProxyError]> = [];
  for (const [name, value] of Object.entries(errors)) {
    if (typeof value !== 'function' || value === errors.AiProxyError) continue;
    if (!(value.prototype instanceof errors.AiProxyError)) continue;
    const Ctor = value as unknown as new (m: string, d?: unknown) => errors.AiProxyError;
    out.push([name, new Ctor('x', { kind: 'error', provider: 'openai' })]);
  }
  return out;
}

test('every error class has a distinct code documented in docs/errors.md with its status', () => {
  const doc = readFileSync(path.join(ROOT, 'docs/errors.md'), 'utf8');
  const seen = new Set<string>();
  const classes = errorClasses();
  assert.ok(classes.length >= 8);
  for (const [name, err] of classes) {
    assert.ok(!seen.has(err.code), `${name} reuses ${err.code}`);
    seen.add(err.code);
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${err.code}\``));
    assert.ok(row, `${err.code} (${name}) missing from docs/errors.md`);
    assert.ok(row.includes(`\`${name}\``), `docs/errors.md row for ${err.code} must name ${name}`);
    assert.ok(row.includes(`| ${err.status} |`), `docs/errors.md row for ${err.code} must say status ${err.status}`);
  }
  const documented = doc.match(/^\| `(AIPA_ERR_[A-Z_]+)`/gm) ?? [];
  assert.equal(documented.length, seen.size, 'docs/errors.md lists a code no class uses');
});

test('an error keeps its cause', () => {
  const cause = new Error('socket hang up');
  const err = new errors.TranslationError('anthropic chat response: missing content', { cause });
  assert.equal(err.cause, cause);
  assert.equal(err.code, 'AIPA_ERR_TRANSLATION');
  assert.equal(err.name, 'TranslationError');
});
