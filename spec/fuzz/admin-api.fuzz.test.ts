/**
 * Property-based fuzzing (fast-check) of Admin API bodies against the real gateway: JSON, form-urlencoded,
 * multipart and YAML garbage, hostile keys (`__proto__`, dotted paths, `[]`), odd content types and paths.
 * Whatever arrives: a 2xx/4xx (never 5xx), the gateway keeps serving, and no prototype is polluted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import YAML from 'yaml';
import { type Harness, startHarness } from '../helpers/gateway-harness';
import { send } from '../helpers/gateway-upstream';
import { fuzzRuns, fuzzSeed } from './runs';

const KEYS = ['name', 'url', 'host', 'port', 'paths', 'tags', 'config', 'service', 'route', 'protocols', '__proto__', 'constructor', 'prototype', 'strip_path', '_format_version', 'services', 'routes', 'plugins', 'id'];
const key = fc.oneof(fc.constantFrom(...KEYS), fc.string({ maxLength: 12 }));
const dottedKey = fc.array(key, { minLength: 1, maxLength: 5 }).chain((segs) => fc.constantFrom(segs.join('.'), `${segs.join('.')}[]`, `${segs.join('.')}[0]`));
const leaf = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom('http://127.0.0.1:9', '3.0', 'ai-proxy-advanced', '/x'));
const value: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: 'small', maxDepth: 5 }, leaf, fc.array(tie('v'), { maxLength: 4 }), fc.dictionary(key, tie('v'), { maxKeys: 5 })),
})).v;

const PATHS = ['/services', '/routes', '/plugins', '/config', '/services/svc', '/routes/r1', '/services/svc/routes', '/routes/r1/plugins', '/schemas/plugins/validate', '/routes/%zz', '/services/%E0%A4%A', '/plugins/..%2f..', '/'];
const METHODS = ['POST', 'PUT', 'PATCH', 'DELETE', 'GET'];

type Body = { contentType: string | undefined; body: string };
const jsonBody: fc.Arbitrary<Body> = value.map((v) => ({ contentType: 'application/json', body: JSON.stringify(v) ?? 'null' }));
const rawJson: fc.Arbitrary<Body> = fc.oneof(fc.string({ maxLength: 200 }), fc.integer({ min: 1, max: 3000 }).map((n) => `{"tags":${'['.repeat(n)}${']'.repeat(n)}}`)).map((b) => ({ contentType: 'application/json', body: b }));
const formBody: fc.Arbitrary<Body> = fc.array(fc.tuple(dottedKey, fc.string({ maxLength: 20 })), { maxLength: 8 }).map((pairs) => ({
  contentType: 'application/x-www-form-urlencoded',
  body: pairs.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join('&'),
}));
const multipartBody: fc.Arbitrary<Body> = fc.array(fc.tuple(dottedKey, fc.string({ maxLength: 40 })), { maxLength: 5 }).map((pairs) => ({
  contentType: 'multipart/form-data; boundary=B0undary',
  body: `${pairs.map(([k, v]) => `--B0undary\r\nContent-Disposition: form-data; name="${k.replace(/"/g, '')}"\r\n\r\n${v}\r\n`).join('')}--B0undary--\r\n`,
}));
const yamlBody: fc.Arbitrary<Body> = fc.oneof(value.map((v) => YAML.stringify(v)), fc.string({ maxLength: 200 })).map((b) => ({ contentType: 'text/yaml', body: b }));
const oddType: fc.Arbitrary<Body> = fc.tuple(fc.constantFrom(undefined, 'text/plain', 'application/xml', 'application/json; charset=utf-8', 'multipart/form-data', 'APPLICATION/JSON', ''), fc.string({ maxLength: 100 })).map(([contentType, body]) => ({ contentType, body }));

describe('Admin API fuzz (issue 11)', { timeout: 600_000 }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({
      config: { _format_version: '3.0', services: [{ name: 'svc', url: 'http://127.0.0.1:9', routes: [{ name: 'r1', paths: ['/r1'] }] }] },
      extraSettings: { KONG_NGINX_ADMIN_CLIENT_MAX_BODY_SIZE: '256k' },
    });
  });
  after(async () => {
    await h.close();
  });

  test('no 5xx, no crash, no pollution for any body, content type, method and path', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...METHODS), fc.constantFrom(...PATHS), fc.oneof(jsonBody, rawJson, formBody, multipartBody, yamlBody, oddType), async (method, p, b) => {
        const headers: Record<string, string> = {};
        if (b.contentType !== undefined) headers['Content-Type'] = b.contentType;
        const r = await send(`${h.admin}${p}`, { method, headers, body: b.body });
        assert.ok(r.status < 500, `${method} ${p} (${b.contentType}) ${b.body.slice(0, 200)} -> ${r.status} ${r.body.slice(0, 200)}`);
        assert.equal(({} as Record<string, unknown>).strip_path, undefined);
        assert.equal(Object.keys(Object.prototype).length, 0);
      }),
      { numRuns: fuzzRuns(150), seed: fuzzSeed(), endOnFailure: true },
    );
    // Still serving.
    assert.equal((await send(`${h.admin}/status`)).status, 200);
    assert.ok(!h.logs.some((l) => /unexpected error/.test(l)), h.logs.filter((l) => /unexpected error/.test(l)).join('\n'));
  });
});
